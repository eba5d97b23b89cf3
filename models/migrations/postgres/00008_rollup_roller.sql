-- The rollups leave the group commit (issue 21): a background roller folds
-- the scans into scan_rollups in insertion order. roll_seq numbers each
-- scan as it goes in (a sequence, so neither an old timestamp nor an old
-- ID of a scan from the spool matters); rollup_watermark is the last
-- roll_seq in the rollups, moved in the roller's transaction. Scans
-- recorded before have no roll_seq: the rollups count them already.

-- +goose Up
CREATE SEQUENCE scans_roll_seq;
ALTER TABLE scans ADD COLUMN roll_seq bigint;
ALTER TABLE scans ALTER COLUMN roll_seq SET DEFAULT nextval('scans_roll_seq');
ALTER SEQUENCE scans_roll_seq OWNED BY scans.roll_seq;
CREATE INDEX idx_scans_roll_seq ON scans (roll_seq) WHERE roll_seq IS NOT NULL;
CREATE TABLE rollup_watermark (
    id integer PRIMARY KEY CHECK (id = 1),
    seq bigint NOT NULL
);
INSERT INTO rollup_watermark (id, seq) VALUES (1, 0);

-- +goose Down
DROP TABLE rollup_watermark;
DROP INDEX idx_scans_roll_seq;
ALTER TABLE scans DROP COLUMN roll_seq;
