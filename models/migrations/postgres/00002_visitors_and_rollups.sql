-- Unique visitors without the client IP, and the daily and monthly rollups
-- that stats read (issue 21).
--
-- scans.ip goes: each scan keeps the day's visitor key instead (an HMAC of
-- IP, user agent and code under a key of that UTC day, never stored) and
-- whether it was its visitor's first scan of the code that day. Scans
-- recorded before get that flag from the IP they had, once, here; the IP
-- is overwritten before the column is dropped, so no live row keeps it.
-- scan_visitors holds the visitor keys seen per code and day: the group
-- commit adds to it, and a scan whose key is new is unique.
-- scan_rollups counts the scans per code, day or month, and key of each
-- stats dimension (see models/rollup.go), in the group commit's
-- transaction; it starts from the scans already there.

-- +goose Up
ALTER TABLE scans ADD COLUMN visitor_key character varying(32) DEFAULT '' NOT NULL;
ALTER TABLE scans ADD COLUMN is_unique boolean DEFAULT false NOT NULL;
UPDATE scans SET ip = NULL, is_unique = scans.id IN (
    SELECT id FROM (
        SELECT id, row_number() OVER (
            PARTITION BY code_id, ("timestamp" AT TIME ZONE 'UTC')::date, coalesce(ip, ''), coalesce(user_agent, '')
            ORDER BY "timestamp", id) AS n
        FROM scans) AS firsts
    WHERE n = 1);
ALTER TABLE scans DROP COLUMN ip;

CREATE TABLE scan_visitors (
    code_id character varying(40) NOT NULL,
    day text NOT NULL,
    visitor_key character varying(32) NOT NULL,
    CONSTRAINT scan_visitors_pkey PRIMARY KEY (code_id, day, visitor_key)
);

CREATE TABLE scan_rollups (
    code_id character varying(40) NOT NULL,
    workspace_id character varying(40) NOT NULL,
    grain text NOT NULL,
    period text NOT NULL,
    dim text NOT NULL,
    k1 text NOT NULL,
    k2 text NOT NULL,
    k3 text NOT NULL,
    name text NOT NULL,
    humans bigint NOT NULL,
    bots bigint NOT NULL,
    human_visitors bigint NOT NULL,
    bot_visitors bigint NOT NULL,
    CONSTRAINT scan_rollups_pkey PRIMARY KEY (code_id, workspace_id, grain, dim, period, k1, k2, k3)
) WITH (fillfactor = 50);
INSERT INTO scan_rollups (code_id, workspace_id, grain, period, dim, k1, k2, k3, name, humans, bots, human_visitors, bot_visitors) SELECT s.code_id, s.workspace_id, g.grain, CASE g.grain WHEN 'd' THEN to_char(s."timestamp" AT TIME ZONE 'UTC', 'YYYY-MM-DD') ELSE to_char(s."timestamp" AT TIME ZONE 'UTC', 'YYYY-MM') END, d.dim, CASE d.dim WHEN 'geo' THEN coalesce(s.country_code, '') WHEN 'device' THEN coalesce(s.device_type, '') WHEN 'browser' THEN coalesce(s.browser, '') WHEN 'os' THEN coalesce(s.os, '') WHEN 'source' THEN coalesce(s.source, '') WHEN 'reason' THEN coalesce(s.bot_reason, '') ELSE '' END, CASE d.dim WHEN 'geo' THEN coalesce(s.region, '') ELSE '' END, CASE d.dim WHEN 'geo' THEN coalesce(s.city, '') ELSE '' END, max(CASE d.dim WHEN 'geo' THEN coalesce(s.country, '') ELSE '' END),
	sum(CASE WHEN s.is_bot THEN 0 ELSE 1 END), sum(CASE WHEN s.is_bot THEN 1 ELSE 0 END),
	sum(CASE WHEN s.is_unique AND NOT s.is_bot THEN 1 ELSE 0 END), sum(CASE WHEN s.is_unique AND s.is_bot THEN 1 ELSE 0 END)
FROM scans AS s CROSS JOIN (SELECT 'd' AS grain UNION ALL SELECT 'm') g CROSS JOIN (SELECT 'geo' AS dim UNION ALL SELECT 'device' AS dim UNION ALL SELECT 'browser' AS dim UNION ALL SELECT 'os' AS dim UNION ALL SELECT 'source' AS dim UNION ALL SELECT 'reason' AS dim) d
WHERE d.dim <> 'reason' OR s.is_bot GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;

-- +goose Down
DROP TABLE scan_rollups;
DROP TABLE scan_visitors;
ALTER TABLE scans ADD COLUMN ip character varying(45);
ALTER TABLE scans DROP COLUMN is_unique;
ALTER TABLE scans DROP COLUMN visitor_key;
