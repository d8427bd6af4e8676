-- Accounts, passkeys, clinician invitations and remembered consents (PostgreSQL).
-- Times are Unix seconds (BIGINT).

-- One account per person. `subject` is the stable internal id: the `sub` claim and the
-- WebAuthn user handle. No passwords, no security questions, no phone numbers.
CREATE TABLE accounts (
    subject             TEXT PRIMARY KEY,
    kind                TEXT NOT NULL CHECK (kind IN ('patient', 'clinician')),
    display_name        TEXT NOT NULL,
    identity_assurance  TEXT NOT NULL CHECK (identity_assurance IN ('ial1', 'ial2')),
    npi                 TEXT UNIQUE,
    -- Keyed commitment to the identity document number (never the number itself).
    identity_commitment TEXT UNIQUE,
    -- OpenID Connect for Identity Assurance `verified_claims`, JSON, once proofed.
    verified_claims     TEXT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);

CREATE TABLE passkeys (
    credential_id   TEXT PRIMARY KEY,
    subject         TEXT NOT NULL REFERENCES accounts (subject),
    name            TEXT NOT NULL,
    -- The webauthn-rs credential (public key, counter, flags), JSON.
    passkey         TEXT NOT NULL,
    backup_eligible BOOLEAN NOT NULL,
    backup_state    BOOLEAN NOT NULL,
    created_at      BIGINT NOT NULL,
    last_used_at    BIGINT,
    revoked_at      BIGINT,
    -- Set when the authenticator's counter went backwards (a possible clone).
    flagged_at      BIGINT
);
CREATE INDEX passkeys_subject ON passkeys (subject);

CREATE TABLE invitations (
    token_hash  TEXT PRIMARY KEY,
    npi         TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    redeemed_at BIGINT,
    subject     TEXT
);

CREATE TABLE consents (
    subject    TEXT NOT NULL REFERENCES accounts (subject),
    client_id  TEXT NOT NULL,
    scope      TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (subject, client_id)
);
