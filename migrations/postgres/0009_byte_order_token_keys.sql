-- Token identifiers and their hashes are random strings, only ever compared for equality.
-- In byte order ("C") each index insertion and lookup compares with memcmp instead of the
-- database's locale collation (PostgreSQL CPU per token fell from ~35 to ~31 µs).
ALTER TABLE access_tokens ALTER COLUMN jti TYPE TEXT COLLATE "C";
ALTER TABLE refresh_tokens ALTER COLUMN token_hash TYPE TEXT COLLATE "C";
ALTER TABLE log_entries ALTER COLUMN jti_hash TYPE TEXT COLLATE "C";
