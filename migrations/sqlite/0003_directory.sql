-- Provider directory (directory-sync): NPD, NPPES, deactivation report and NUCC releases.
-- Every row carries the release it belongs to; `directory_current` (one row) says which
-- release of each dataset is current, so a swap is one single-row update. Dates are ISO
-- `YYYY-MM-DD` text, times Unix seconds.

CREATE TABLE directory_releases (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    dataset     TEXT NOT NULL,            -- npd | nppes | deactivations | nucc
    label       TEXT NOT NULL,            -- e.g. the NPD manifest stamp
    source      TEXT NOT NULL,
    state       TEXT NOT NULL,            -- building | current | retired | refused | failed
    created_at  INTEGER NOT NULL,
    finished_at INTEGER,
    summary     TEXT                      -- JSON report of the ingest
) STRICT;

CREATE INDEX directory_releases_dataset ON directory_releases (dataset, state);

CREATE TABLE directory_current (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    npd           INTEGER,
    nppes         INTEGER,
    deactivations INTEGER,
    nucc          INTEGER,
    generation    INTEGER NOT NULL,       -- bumped at every swap: caches compare it
    updated_at    INTEGER NOT NULL
) STRICT;

INSERT INTO directory_current (id, generation, updated_at) VALUES (1, 0, 0);

CREATE TABLE npd_practitioners (
    release     INTEGER NOT NULL,
    npi         INTEGER NOT NULL,
    resource_id TEXT NOT NULL,
    active      INTEGER,                  -- NULL when the resource has no `active`
    npi_end     TEXT,
    taxonomies  TEXT NOT NULL,
    PRIMARY KEY (release, npi)
) STRICT, WITHOUT ROWID;

CREATE TABLE npd_roles (
    release         INTEGER NOT NULL,
    practitioner_id TEXT NOT NULL,
    taxonomies      TEXT NOT NULL
) STRICT;

CREATE INDEX npd_roles_practitioner ON npd_roles (release, practitioner_id);

CREATE TABLE npd_organizations (
    release     INTEGER NOT NULL,
    npi         INTEGER NOT NULL,
    resource_id TEXT NOT NULL,
    PRIMARY KEY (release, npi)
) STRICT, WITHOUT ROWID;

CREATE TABLE nppes_providers (
    release          INTEGER NOT NULL,
    npi              INTEGER NOT NULL,
    entity_type      INTEGER,
    primary_taxonomy TEXT,
    taxonomies       TEXT NOT NULL,
    deactivated      TEXT,
    reactivated      TEXT,
    PRIMARY KEY (release, npi)
) STRICT, WITHOUT ROWID;

CREATE TABLE nppes_deactivations (
    release     INTEGER NOT NULL,
    npi         INTEGER NOT NULL,
    deactivated TEXT NOT NULL,
    PRIMARY KEY (release, npi)
) STRICT, WITHOUT ROWID;

CREATE TABLE nucc_taxonomy (
    release        INTEGER NOT NULL,
    code           TEXT NOT NULL,
    grouping       TEXT NOT NULL,
    classification TEXT NOT NULL,
    section        TEXT NOT NULL,
    individual     INTEGER NOT NULL,
    PRIMARY KEY (release, code)
) STRICT, WITHOUT ROWID;
