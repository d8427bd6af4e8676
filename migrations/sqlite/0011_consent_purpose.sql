-- A remembered approval is for one purpose of use and one patient context: a later request
-- by the same client for another purpose, or about another patient, asks the person again.
-- `purpose` is the TEFCA exchange purpose code; `patient` is the request's patient_context,
-- or '' when it names none (a patient identifier is never empty), so both can be part of the
-- primary key. Rows remembered before this change have no purpose ('') and match no request:
-- the person is asked again once, which fails closed. SQLite cannot change a primary key in
-- place, so the table is rebuilt (nothing references it).
CREATE TABLE consents_by_purpose (
    subject    TEXT NOT NULL REFERENCES accounts (subject),
    client_id  TEXT NOT NULL,
    purpose    TEXT NOT NULL,
    patient    TEXT NOT NULL,
    scope      TEXT NOT NULL,
    granted_at INTEGER NOT NULL,
    PRIMARY KEY (subject, client_id, purpose, patient)
) STRICT;
INSERT INTO consents_by_purpose (subject, client_id, purpose, patient, scope, granted_at)
    SELECT subject, client_id, '', '', scope, granted_at FROM consents;
DROP TABLE consents;
ALTER TABLE consents_by_purpose RENAME TO consents;
