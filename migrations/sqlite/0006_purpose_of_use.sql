-- Purpose of use: every grant and access token serves exactly one purpose (TEFCA exchange
-- purpose or HL7 PurposeOfUse, as the client attested it: `system#code`). Rows issued before
-- purposes were required keep NULL.
ALTER TABLE grants ADD COLUMN purpose TEXT;
ALTER TABLE access_tokens ADD COLUMN purpose TEXT;
