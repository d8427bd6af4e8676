-- A remembered approval is for one purpose of use and one patient context: a later request
-- by the same client for another purpose, or about another patient, asks the person again.
-- `purpose` is the TEFCA exchange purpose code; `patient` is the request's patient_context,
-- or '' when it names none (a patient identifier is never empty), so both can be part of the
-- primary key. Rows remembered before this change have no purpose ('') and match no request:
-- the person is asked again once, which fails closed.
ALTER TABLE consents ADD COLUMN purpose TEXT NOT NULL DEFAULT '';
ALTER TABLE consents ADD COLUMN patient TEXT NOT NULL DEFAULT '';
ALTER TABLE consents ALTER COLUMN purpose DROP DEFAULT;
ALTER TABLE consents ALTER COLUMN patient DROP DEFAULT;
ALTER TABLE consents DROP CONSTRAINT consents_pkey;
ALTER TABLE consents ADD PRIMARY KEY (subject, client_id, purpose, patient);
