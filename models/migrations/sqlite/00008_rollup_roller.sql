-- The rollups leave the group commit (issue 21): a background roller folds
-- the scans into scan_rollups in insertion order. roll_seq numbers each
-- scan as it goes in (the writer assigns it, under SQLite's write lock);
-- rollup_watermark is the last roll_seq in the rollups, moved in the
-- roller's transaction. Scans recorded before have no roll_seq: the
-- rollups count them already.

-- +goose Up
ALTER TABLE `scans` ADD COLUMN `roll_seq` integer;
CREATE INDEX `idx_scans_roll_seq` ON `scans`(`roll_seq`) WHERE roll_seq IS NOT NULL;
CREATE TABLE `rollup_watermark` (`id` integer PRIMARY KEY CHECK (id = 1), `seq` integer NOT NULL);
INSERT INTO `rollup_watermark` (`id`, `seq`) VALUES (1, 0);

-- +goose Down
DROP TABLE `rollup_watermark`;
DROP INDEX `idx_scans_roll_seq`;
ALTER TABLE `scans` DROP COLUMN `roll_seq`;
