-- OAuth core: clients, signing keys, grants and tokens (SQLite).
-- Times are Unix seconds; booleans are 0/1.

CREATE TABLE clients (
    client_id                  TEXT PRIMARY KEY,
    client_secret_hash         TEXT,
    client_name                TEXT,
    token_endpoint_auth_method TEXT NOT NULL,
    redirect_uris              TEXT NOT NULL,
    grant_types                TEXT NOT NULL,
    scope                      TEXT,
    jwks                       TEXT,
    require_par                INTEGER NOT NULL,
    dpop_bound                 INTEGER NOT NULL,
    id_token_alg               TEXT,
    registration_token_hash    TEXT,
    source                     TEXT NOT NULL,
    created_at                 INTEGER NOT NULL,
    updated_at                 INTEGER NOT NULL
) STRICT;

CREATE TABLE signing_keys (
    kid             TEXT PRIMARY KEY,
    algorithm       TEXT NOT NULL,
    purpose         TEXT NOT NULL,
    status          TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    activated_at    INTEGER,
    retired_at      INTEGER,
    public_jwk      TEXT NOT NULL,
    kek_id          TEXT NOT NULL,
    wrapped_private BLOB NOT NULL
) STRICT;
CREATE INDEX signing_keys_purpose ON signing_keys (purpose, status);

CREATE TABLE grants (
    grant_id   TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL,
    subject    TEXT NOT NULL,
    scope      TEXT NOT NULL,
    auth_time  INTEGER NOT NULL,
    acr        TEXT,
    amr        TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
) STRICT;

CREATE TABLE access_tokens (
    jti        TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL,
    subject    TEXT NOT NULL,
    grant_id   TEXT,
    scope      TEXT NOT NULL,
    audience   TEXT NOT NULL,
    issued_at  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    cnf_jkt    TEXT,
    revoked_at INTEGER
) STRICT;
CREATE INDEX access_tokens_expiry ON access_tokens (expires_at);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    grant_id   TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    scope      TEXT NOT NULL,
    issued_at  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    cnf_jkt    TEXT,
    used_at    INTEGER
) STRICT;
CREATE INDEX refresh_tokens_expiry ON refresh_tokens (expires_at);
