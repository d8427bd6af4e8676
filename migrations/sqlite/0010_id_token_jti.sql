-- ID tokens carry a jti too: the entry recording a token response names both tokens, and
-- either finds it (docs/log-entry.md, member id_jti).
ALTER TABLE log_entries ADD COLUMN id_jti_hash TEXT;
CREATE INDEX log_entries_id_jti ON log_entries (id_jti_hash) WHERE id_jti_hash IS NOT NULL;
