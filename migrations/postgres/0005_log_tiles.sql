-- The tree stored as C2SP hash tiles instead of one row per stored hash (see idp/src/tlog/tiles.rs).
-- A row holds the hashes of tile <level>/<idx>: tree level 8 × level, positions 256 × idx onwards,
-- 32 bytes each, 1 to 256 of them. Full tiles never change; the right edge of each level is
-- rewritten as it grows, only ever by appending (the sequencer's upsert refuses anything else).
CREATE TABLE log_tiles (
    level  SMALLINT NOT NULL,
    idx    BIGINT NOT NULL,
    hashes BYTEA NOT NULL,
    PRIMARY KEY (level, idx)
);
-- Hashes never compress: skip the attempt.
ALTER TABLE log_tiles ALTER COLUMN hashes SET STORAGE EXTERNAL;

-- Existing trees: gather the stored hashes of tree levels 0, 8, 16, … into tiles. The hash of
-- the subtree (level l, n) sits at stored index level0(((n + 1) << l) − 1) + l, where
-- level0(j) = j + j/2 + j/4 + … = 2j − popcount(j).
INSERT INTO log_tiles (level, idx, hashes)
SELECT t.level, t.p / 256, string_agg(h.hash, ''::bytea ORDER BY t.p)
FROM (
    SELECT l AS level, p, ((p + 1) << (8 * l)) - 1 AS last_leaf
    FROM log_tree, generate_series(0, 7) AS l, generate_series(0, (log_tree.size >> (8 * l)) - 1) AS p
) t
JOIN log_hashes h
  ON h.idx = 2 * t.last_leaf - bit_count(t.last_leaf::bit(64)) + 8 * t.level
GROUP BY t.level, t.p / 256;

DROP TABLE log_hashes;
