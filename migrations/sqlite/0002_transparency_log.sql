-- The verifiable issuance log (SQLite). See docs/log-entry.md.

-- The sequencing head: the next index and the digest of the last entry (the hash chain).
CREATE TABLE log_head (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    next_index  INTEGER NOT NULL,
    last_digest BLOB NOT NULL
) STRICT;
INSERT INTO log_head (id, next_index, last_digest) VALUES (1, 0, zeroblob(32));

-- Public entries, by index; jti_hash finds a token's entry.
CREATE TABLE log_entries (
    idx        INTEGER PRIMARY KEY,
    entry      BLOB NOT NULL,
    jti_hash   TEXT,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX log_entries_jti ON log_entries (jti_hash) WHERE jti_hash IS NOT NULL;

-- Private records, encrypted per entry, kept apart from the public entries.
CREATE TABLE log_records (
    idx    INTEGER PRIMARY KEY,
    sealed BLOB NOT NULL
) STRICT;

-- RFC 6962 stored hashes (Go sumdb/tlog stored-hash-index layout); tiles are read from here.
CREATE TABLE log_hashes (
    idx  INTEGER PRIMARY KEY,
    hash BLOB NOT NULL
) STRICT;

-- The integrated tree: compare-and-swap on size is the sequencer's lock.
CREATE TABLE log_tree (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    size       INTEGER NOT NULL,
    root       BLOB NOT NULL,
    checkpoint TEXT NOT NULL
) STRICT;

CREATE TABLE log_checkpoints (
    size       INTEGER PRIMARY KEY,
    root       BLOB NOT NULL,
    note       TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE log_cosignatures (
    size    INTEGER NOT NULL,
    witness TEXT NOT NULL,
    line    TEXT NOT NULL,
    PRIMARY KEY (size, witness)
) STRICT;
