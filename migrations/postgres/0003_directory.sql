-- Provider directory (directory-sync): NPD, NPPES, deactivation report and NUCC releases.
-- Every row carries the release it belongs to. Each release's rows live in their own
-- partition: loaded by COPY into a fresh table, indexed, then attached, and dropped whole
-- when retired. `directory_current` (one row) says which release of each dataset is
-- current, so a swap is one single-row update. Dates are ISO `YYYY-MM-DD` text, times Unix
-- seconds.

CREATE TABLE directory_releases (
    id          BIGSERIAL PRIMARY KEY,
    dataset     TEXT NOT NULL,            -- npd | nppes | deactivations | nucc
    label       TEXT NOT NULL,
    source      TEXT NOT NULL,
    state       TEXT NOT NULL,            -- building | current | retired | refused | failed
    created_at  BIGINT NOT NULL,
    finished_at BIGINT,
    summary     TEXT
);

CREATE INDEX directory_releases_dataset ON directory_releases (dataset, state);

CREATE TABLE directory_current (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    npd           BIGINT,
    nppes         BIGINT,
    deactivations BIGINT,
    nucc          BIGINT,
    generation    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

INSERT INTO directory_current (id, generation, updated_at) VALUES (1, 0, 0);

CREATE TABLE npd_practitioners (
    release     BIGINT NOT NULL,
    npi         BIGINT NOT NULL,
    resource_id TEXT NOT NULL,
    active      BOOLEAN,
    npi_end     TEXT,
    taxonomies  TEXT NOT NULL,
    PRIMARY KEY (release, npi)
) PARTITION BY LIST (release);

CREATE TABLE npd_roles (
    release         BIGINT NOT NULL,
    practitioner_id TEXT NOT NULL,
    taxonomies      TEXT NOT NULL
) PARTITION BY LIST (release);

CREATE INDEX npd_roles_practitioner ON npd_roles (release, practitioner_id);

CREATE TABLE npd_organizations (
    release     BIGINT NOT NULL,
    npi         BIGINT NOT NULL,
    resource_id TEXT NOT NULL,
    PRIMARY KEY (release, npi)
) PARTITION BY LIST (release);

CREATE TABLE nppes_providers (
    release          BIGINT NOT NULL,
    npi              BIGINT NOT NULL,
    entity_type      SMALLINT,
    primary_taxonomy TEXT,
    taxonomies       TEXT NOT NULL,
    deactivated      TEXT,
    reactivated      TEXT,
    PRIMARY KEY (release, npi)
) PARTITION BY LIST (release);

CREATE TABLE nppes_deactivations (
    release     BIGINT NOT NULL,
    npi         BIGINT NOT NULL,
    deactivated TEXT NOT NULL,
    PRIMARY KEY (release, npi)
) PARTITION BY LIST (release);

CREATE TABLE nucc_taxonomy (
    release        BIGINT NOT NULL,
    code           TEXT NOT NULL,
    grouping       TEXT NOT NULL,
    classification TEXT NOT NULL,
    section        TEXT NOT NULL,
    individual     BOOLEAN NOT NULL,
    PRIMARY KEY (release, code)
) PARTITION BY LIST (release);
