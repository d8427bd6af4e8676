-- The tree stored as C2SP hash tiles instead of one row per stored hash (see idp/src/tlog/tiles.rs).
-- A row holds the hashes of tile <level>/<idx>: tree level 8 × level, positions 256 × idx onwards,
-- 32 bytes each, 1 to 256 of them. Full tiles never change; the right edge of each level is
-- rewritten as it grows, only ever by appending (the sequencer's upsert refuses anything else).
CREATE TABLE log_tiles (
    level  INTEGER NOT NULL,
    idx    INTEGER NOT NULL,
    hashes BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) STRICT;

-- Existing trees: gather the stored hashes of tree levels 0, 8, 16, … into tiles. The hash of
-- the subtree (level l, n) sits at stored index level0(((n + 1) << l) − 1) + l, where
-- level0(j) = j + j/2 + j/4 + … (written out: SQLite has no popcount).
WITH RECURSIVE
    levels(l) AS (SELECT 0 UNION ALL SELECT l + 1 FROM levels WHERE l < 7),
    positions(level, p, available) AS (
        SELECT l, 0, size >> (8 * l) FROM levels, log_tree WHERE (size >> (8 * l)) > 0
        UNION ALL
        SELECT level, p + 1, available FROM positions WHERE p + 1 < available
    ),
    leaves(level, p, last_leaf) AS (
        SELECT level, p, ((p + 1) << (8 * level)) - 1 FROM positions
    )
INSERT INTO log_tiles (level, idx, hashes)
SELECT t.level, t.p / 256, unhex(group_concat(hex(h.hash), '' ORDER BY t.p))
FROM leaves t
JOIN log_hashes h
  ON h.idx = t.last_leaf + (t.last_leaf >> 1) + (t.last_leaf >> 2) + (t.last_leaf >> 3) + (t.last_leaf >> 4) + (t.last_leaf >> 5)
       + (t.last_leaf >> 6) + (t.last_leaf >> 7) + (t.last_leaf >> 8) + (t.last_leaf >> 9) + (t.last_leaf >> 10) + (t.last_leaf >> 11)
       + (t.last_leaf >> 12) + (t.last_leaf >> 13) + (t.last_leaf >> 14) + (t.last_leaf >> 15) + (t.last_leaf >> 16) + (t.last_leaf >> 17)
       + (t.last_leaf >> 18) + (t.last_leaf >> 19) + (t.last_leaf >> 20) + (t.last_leaf >> 21) + (t.last_leaf >> 22) + (t.last_leaf >> 23)
       + (t.last_leaf >> 24) + (t.last_leaf >> 25) + (t.last_leaf >> 26) + (t.last_leaf >> 27) + (t.last_leaf >> 28) + (t.last_leaf >> 29)
       + (t.last_leaf >> 30) + (t.last_leaf >> 31) + (t.last_leaf >> 32) + (t.last_leaf >> 33) + (t.last_leaf >> 34) + (t.last_leaf >> 35)
       + (t.last_leaf >> 36) + (t.last_leaf >> 37) + (t.last_leaf >> 38) + (t.last_leaf >> 39) + (t.last_leaf >> 40) + (t.last_leaf >> 41)
       + (t.last_leaf >> 42) + (t.last_leaf >> 43) + (t.last_leaf >> 44) + (t.last_leaf >> 45) + (t.last_leaf >> 46) + (t.last_leaf >> 47)
       + (t.last_leaf >> 48) + (t.last_leaf >> 49) + (t.last_leaf >> 50) + (t.last_leaf >> 51) + (t.last_leaf >> 52) + (t.last_leaf >> 53)
       + (t.last_leaf >> 54) + (t.last_leaf >> 55) + (t.last_leaf >> 56) + (t.last_leaf >> 57) + (t.last_leaf >> 58) + (t.last_leaf >> 59)
       + (t.last_leaf >> 60) + (t.last_leaf >> 61) + (t.last_leaf >> 62)
       + 8 * t.level
GROUP BY t.level, t.p / 256;

DROP TABLE log_hashes;
