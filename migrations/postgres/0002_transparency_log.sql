-- The verifiable issuance log (PostgreSQL). See docs/log-entry.md.

-- The sequencing head: the next index and the digest of the last entry (the hash chain).
CREATE TABLE log_head (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    next_index  BIGINT NOT NULL,
    last_digest BYTEA NOT NULL
);
INSERT INTO log_head (id, next_index, last_digest) VALUES (1, 0, decode(repeat('00', 32), 'hex'));

-- Public entries, by index; jti_hash finds a token's entry.
CREATE TABLE log_entries (
    idx        BIGINT PRIMARY KEY,
    entry      BYTEA NOT NULL,
    jti_hash   TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX log_entries_jti ON log_entries (jti_hash) WHERE jti_hash IS NOT NULL;

-- Private records, encrypted per entry, kept apart from the public entries.
CREATE TABLE log_records (
    idx    BIGINT PRIMARY KEY,
    sealed BYTEA NOT NULL
);

-- RFC 6962 stored hashes (Go sumdb/tlog stored-hash-index layout); tiles are read from here.
CREATE TABLE log_hashes (
    idx  BIGINT PRIMARY KEY,
    hash BYTEA NOT NULL
);

-- The integrated tree: compare-and-swap on size is the sequencer's lock.
CREATE TABLE log_tree (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    size       BIGINT NOT NULL,
    root       BYTEA NOT NULL,
    checkpoint TEXT NOT NULL
);

CREATE TABLE log_checkpoints (
    size       BIGINT PRIMARY KEY,
    root       BYTEA NOT NULL,
    note       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE log_cosignatures (
    size    BIGINT NOT NULL,
    witness TEXT NOT NULL,
    line    TEXT NOT NULL,
    PRIMARY KEY (size, witness)
);
