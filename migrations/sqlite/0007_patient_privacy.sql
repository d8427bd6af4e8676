-- Patient privacy: the patient a grant is about (SMART launch context), what an access
-- token carries beyond its scope, a patient's consent restrictions, and the private index
-- of log entries about a person (their accounting of disclosures).

-- The patient context of a grant (the patient themselves, or the patient a clinician or a
-- backend named); refreshes are decided again for the same patient.
ALTER TABLE grants ADD COLUMN patient TEXT;
-- JSON: {"patient", "consent_reference", "act"}, NULL when the token carries none of them.
ALTER TABLE access_tokens ADD COLUMN context TEXT;

-- One row per patient: the restrictions in force. `reference` names this version (tokens
-- carry it as `consent_reference`); every change writes a new one.
CREATE TABLE consent_restrictions (
    patient      TEXT PRIMARY KEY,
    reference    TEXT NOT NULL UNIQUE,
    restrictions TEXT NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT;

-- Which log entries are about whom (the entry's subject, or its patient context). Private:
-- the public entry only carries a keyed commitment to the subject.
CREATE TABLE log_subjects (
    subject TEXT NOT NULL,
    idx     INTEGER NOT NULL,
    PRIMARY KEY (subject, idx)
) STRICT, WITHOUT ROWID;
