-- Stats that stay fast over a year (issue 21): quarterly rollups (grain
-- 'q', period YYYY-Qn) beside the daily and monthly ones, and rollups of
-- each workspace as a whole (code_id ''), with a 'code' dimension keyed by
-- code ID, for the workspace's stats. All made from the rollups there
-- are, so they count the same scans (those up to rollup_watermark); the
-- roller keeps them in step from here on. The index finds a workspace's
-- scans of a time range (the parts of days at a range's ends).

-- +goose Up
INSERT INTO `scan_rollups` (code_id, workspace_id, grain, period, dim, k1, k2, k3, name, humans, bots, human_visitors, bot_visitors)
SELECT code_id, workspace_id, 'q', substr(period, 1, 4) || '-Q' || ((CAST(substr(period, 6, 2) AS INTEGER) + 2) / 3), dim, k1, k2, k3,
	max(name), sum(humans), sum(bots), sum(human_visitors), sum(bot_visitors)
FROM `scan_rollups` WHERE grain = 'm' GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;
INSERT INTO `scan_rollups` (code_id, workspace_id, grain, period, dim, k1, k2, k3, name, humans, bots, human_visitors, bot_visitors)
SELECT '', workspace_id, grain, period, dim, k1, k2, k3, max(name), sum(humans), sum(bots), sum(human_visitors), sum(bot_visitors)
FROM `scan_rollups` GROUP BY 2, 3, 4, 5, 6, 7, 8
UNION ALL
SELECT '', workspace_id, grain, period, 'code', code_id, '', '', '', sum(humans), sum(bots), sum(human_visitors), sum(bot_visitors)
FROM `scan_rollups` WHERE dim = 'source' GROUP BY 2, 3, 4, 6;
CREATE INDEX `idx_scans_workspace_time` ON `scans`(`workspace_id`, `timestamp`);

-- +goose Down
DROP INDEX `idx_scans_workspace_time`;
DELETE FROM `scan_rollups` WHERE grain = 'q' OR code_id = '';
