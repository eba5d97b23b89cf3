-- Unique visitors without the client IP, and the daily and monthly rollups
-- that stats read (issue 21); see the PostgreSQL migration of the same
-- number for what each step is for.

-- +goose Up
ALTER TABLE `scans` ADD COLUMN `visitor_key` text NOT NULL DEFAULT '';
ALTER TABLE `scans` ADD COLUMN `is_unique` numeric NOT NULL DEFAULT false;
UPDATE `scans` SET `ip` = NULL, `is_unique` = `scans`.`id` IN (
    SELECT id FROM (
        SELECT id, row_number() OVER (
            PARTITION BY code_id, substr("timestamp", 1, 10), coalesce(ip, ''), coalesce(user_agent, '')
            ORDER BY "timestamp", id) AS n
        FROM scans) AS firsts
    WHERE n = 1);
ALTER TABLE `scans` DROP COLUMN `ip`;

CREATE TABLE `scan_visitors` (`code_id` text NOT NULL,`day` text NOT NULL,`visitor_key` text NOT NULL,PRIMARY KEY (`code_id`,`day`,`visitor_key`)) WITHOUT ROWID;

CREATE TABLE `scan_rollups` (`code_id` text NOT NULL,`workspace_id` text NOT NULL,`grain` text NOT NULL,`period` text NOT NULL,`dim` text NOT NULL,`k1` text NOT NULL,`k2` text NOT NULL,`k3` text NOT NULL,`name` text NOT NULL,`humans` integer NOT NULL,`bots` integer NOT NULL,`human_visitors` integer NOT NULL,`bot_visitors` integer NOT NULL,PRIMARY KEY (`code_id`,`workspace_id`,`grain`,`dim`,`period`,`k1`,`k2`,`k3`)) WITHOUT ROWID;
INSERT INTO scan_rollups (code_id, workspace_id, grain, period, dim, k1, k2, k3, name, humans, bots, human_visitors, bot_visitors) SELECT s.code_id, s.workspace_id, g.grain, substr(s."timestamp", 1, CASE g.grain WHEN 'd' THEN 10 ELSE 7 END), d.dim, CASE d.dim WHEN 'geo' THEN coalesce(s.country_code, '') WHEN 'device' THEN coalesce(s.device_type, '') WHEN 'browser' THEN coalesce(s.browser, '') WHEN 'os' THEN coalesce(s.os, '') WHEN 'source' THEN coalesce(s.source, '') WHEN 'reason' THEN coalesce(s.bot_reason, '') ELSE '' END, CASE d.dim WHEN 'geo' THEN coalesce(s.region, '') ELSE '' END, CASE d.dim WHEN 'geo' THEN coalesce(s.city, '') ELSE '' END, max(CASE d.dim WHEN 'geo' THEN coalesce(s.country, '') ELSE '' END),
	sum(CASE WHEN s.is_bot THEN 0 ELSE 1 END), sum(CASE WHEN s.is_bot THEN 1 ELSE 0 END),
	sum(CASE WHEN s.is_unique AND NOT s.is_bot THEN 1 ELSE 0 END), sum(CASE WHEN s.is_unique AND s.is_bot THEN 1 ELSE 0 END)
FROM scans AS s CROSS JOIN (SELECT 'd' AS grain UNION ALL SELECT 'm') g CROSS JOIN (SELECT 'geo' AS dim UNION ALL SELECT 'device' AS dim UNION ALL SELECT 'browser' AS dim UNION ALL SELECT 'os' AS dim UNION ALL SELECT 'source' AS dim UNION ALL SELECT 'reason' AS dim) d
WHERE d.dim <> 'reason' OR s.is_bot GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;

-- +goose Down
DROP TABLE `scan_rollups`;
DROP TABLE `scan_visitors`;
ALTER TABLE `scans` ADD COLUMN `ip` text;
ALTER TABLE `scans` DROP COLUMN `is_unique`;
ALTER TABLE `scans` DROP COLUMN `visitor_key`;
