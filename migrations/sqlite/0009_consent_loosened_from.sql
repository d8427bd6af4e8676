-- The earlier consent versions the current one was reached from by lifting restrictions
-- only (JSON array of references, newest last). Tokens decided under the current version or
-- one of these stay active; adding a restriction empties it, ending every earlier token
-- about the patient (idp/src/store/consents.rs). Existing rows start empty: tokens decided
-- under earlier versions end, which fails closed.
ALTER TABLE consent_restrictions ADD COLUMN loosened_from TEXT NOT NULL DEFAULT '[]';
