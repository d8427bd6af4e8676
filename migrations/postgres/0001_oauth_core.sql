-- OAuth core: clients, signing keys, grants and tokens (PostgreSQL).
-- Times are Unix seconds (BIGINT) so both backends share one row shape.

CREATE TABLE clients (
    client_id                  TEXT PRIMARY KEY,
    client_secret_hash         TEXT,
    client_name                TEXT,
    token_endpoint_auth_method TEXT NOT NULL,
    redirect_uris              TEXT NOT NULL,
    grant_types                TEXT NOT NULL,
    scope                      TEXT,
    jwks                       TEXT,
    require_par                BOOLEAN NOT NULL,
    dpop_bound                 BOOLEAN NOT NULL,
    id_token_alg               TEXT,
    registration_token_hash    TEXT,
    source                     TEXT NOT NULL,
    created_at                 BIGINT NOT NULL,
    updated_at                 BIGINT NOT NULL
);

CREATE TABLE signing_keys (
    kid             TEXT PRIMARY KEY,
    algorithm       TEXT NOT NULL,
    purpose         TEXT NOT NULL,
    status          TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    activated_at    BIGINT,
    retired_at      BIGINT,
    public_jwk      TEXT NOT NULL,
    kek_id          TEXT NOT NULL,
    wrapped_private BYTEA NOT NULL
);
CREATE INDEX signing_keys_purpose ON signing_keys (purpose, status);

CREATE TABLE grants (
    grant_id   TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL,
    subject    TEXT NOT NULL,
    scope      TEXT NOT NULL,
    auth_time  BIGINT NOT NULL,
    acr        TEXT,
    amr        TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE access_tokens (
    jti        TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL,
    subject    TEXT NOT NULL,
    grant_id   TEXT,
    scope      TEXT NOT NULL,
    audience   TEXT NOT NULL,
    issued_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    cnf_jkt    TEXT,
    revoked_at BIGINT
);
CREATE INDEX access_tokens_expiry ON access_tokens (expires_at);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    grant_id   TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    scope      TEXT NOT NULL,
    issued_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    cnf_jkt    TEXT,
    used_at    BIGINT
);
CREATE INDEX refresh_tokens_expiry ON refresh_tokens (expires_at);
