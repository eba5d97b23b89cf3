package models

// Daily, monthly and quarterly rollups of the scans (scan_rollups), per
// code and per workspace, so that stats over a long range add up a few
// rows per period instead of every scan.
// They are folded in off the redirect path (roller.go): the rollups count
// the scans up to rollup_watermark, by insertion order (roll_seq), and
// stats add the few scans past it.

import (
	"fmt"
	"strings"
)

// A rollup row counts one code's scans of one period (grain "d": a UTC day
// YYYY-MM-DD; "m": a UTC month YYYY-MM; "q": a UTC quarter YYYY-Qn), or
// (code_id ”) all the scans of its workspace, that share one key of one
// dimension: humans and bots apart, each with the scans that were their
// visitor's first of the day (the unique visitors). Every scan is in
// exactly one row per (grain, dimension), so the scans of a period are the
// sum over any one dimension's rows; the day totals read "source". Only
// bots have "reason" rows: the bot reasons count bots only; only the
// workspace's rows have "code" rows, keyed by the code's ID.
var rollupDims = []struct {
	name, k1, k2, k3 string // the scan columns of the row's key
}{
	{"geo", "country_code", "region", "city"},
	{"device", "device_type", "", ""},
	{"browser", "browser", "", ""},
	{"os", "os", "", ""},
	{"source", "source", "", ""},
	{"reason", "bot_reason", "", ""},
	{"code", "code_id", "", ""},
}

// workspaceRollups is the code_id of the rollup rows that count all the
// scans of their workspace (no code has an empty ID).
const workspaceRollups = ""

// rollupKey is the primary key of scan_rollups, dimension before period so
// that a dimension's rows of a range of days are one range of the index
// (the day totals read "source"), and in lock order: every
// upsert writes its rows in this order, so two group commits of other
// replicas that touch the same rows wait for each other instead of
// deadlocking.
const rollupKey = "code_id, workspace_id, grain, dim, period, k1, k2, k3"

// rollupSelect returns the SELECT that makes the rollup rows of the scans
// of source (a table or subquery over scans, aliased s), in the columns of
// scan_rollups. dialect is "postgres" or "sqlite".
//
// It groups the scans once, into the code's day rows (r), and makes every
// other row from those: the workspace's (l.code false; its "code" rows
// from the "source" rows, l.byCode), and the months' and quarters'. The
// scans are many, their day rows few: a roll sorts each scan six times,
// not six times per grain and level.
func rollupSelect(dialect, source string) string {
	day := `to_char(s."timestamp" AT TIME ZONE 'UTC', 'YYYY-MM-DD')`
	if dialect != "postgres" {
		// The store writes times in UTC, as text that starts with the date.
		day = `substr(s."timestamp", 1, 10)`
	}
	var dims []string
	key := func(col func(name, k1, k2, k3 string) string) string {
		var b strings.Builder
		b.WriteString("CASE d.dim")
		for _, d := range rollupDims {
			if c := col(d.name, d.k1, d.k2, d.k3); c != "" {
				fmt.Fprintf(&b, " WHEN '%s' THEN coalesce(s.%s, '')", d.name, c)
			}
		}
		b.WriteString(" ELSE '' END")
		return b.String()
	}
	for _, d := range rollupDims {
		if d.name != "code" {
			dims = append(dims, "SELECT '"+d.name+"' AS dim")
		}
	}
	k1 := key(func(_, k1, _, _ string) string { return k1 })
	k2 := key(func(_, _, k2, _ string) string { return k2 })
	k3 := key(func(_, _, _, k3 string) string { return k3 })
	name := key(func(n, _, _, _ string) string {
		if n == "geo" {
			return "country"
		}
		return ""
	})
	days := `SELECT s.code_id, s.workspace_id, ` + day + ` AS day, d.dim, ` + k1 + ` AS k1, ` + k2 + ` AS k2, ` + k3 + ` AS k3, max(` + name + `) AS name,
	sum(CASE WHEN s.is_bot THEN 0 ELSE 1 END) AS humans, sum(CASE WHEN s.is_bot THEN 1 ELSE 0 END) AS bots,
	sum(CASE WHEN s.is_unique AND NOT s.is_bot THEN 1 ELSE 0 END) AS human_visitors,
	sum(CASE WHEN s.is_unique AND s.is_bot THEN 1 ELSE 0 END) AS bot_visitors
FROM ` + source + ` CROSS JOIN (` + strings.Join(dims, " UNION ALL ") + `) d
WHERE d.dim <> 'reason' OR s.is_bot GROUP BY 1, 2, 3, 4, 5, 6, 7`
	return `SELECT CASE WHEN l.code THEN r.code_id ELSE '` + workspaceRollups + `' END, r.workspace_id, g.grain,
	CASE g.grain WHEN 'd' THEN r.day WHEN 'm' THEN substr(r.day, 1, 7) ELSE substr(r.day, 1, 4) || '-Q' || ((CAST(substr(r.day, 6, 2) AS INTEGER) + 2) / 3) END,
	CASE WHEN l.by_code THEN 'code' ELSE r.dim END, CASE WHEN l.by_code THEN r.code_id ELSE r.k1 END,
	CASE WHEN l.by_code THEN '' ELSE r.k2 END, CASE WHEN l.by_code THEN '' ELSE r.k3 END, max(CASE WHEN l.by_code THEN '' ELSE r.name END),
	sum(r.humans), sum(r.bots), sum(r.human_visitors), sum(r.bot_visitors)
FROM (` + days + `) r CROSS JOIN (SELECT 'd' AS grain UNION ALL SELECT 'm' UNION ALL SELECT 'q') g
	CROSS JOIN (SELECT true AS code, false AS by_code UNION ALL SELECT false, false UNION ALL SELECT false, true) l
WHERE NOT l.by_code OR r.dim = 'source' GROUP BY 1, 2, 3, 4, 5, 6, 7, 8`
}

const rollupColumns = "code_id, workspace_id, grain, period, dim, k1, k2, k3, name, humans, bots, human_visitors, bot_visitors"

// rollupUpdate is what adds to a rollup row that exists already.
const rollupUpdate = `ON CONFLICT (` + rollupKey + `) DO UPDATE SET humans = scan_rollups.humans + excluded.humans,
	bots = scan_rollups.bots + excluded.bots, human_visitors = scan_rollups.human_visitors + excluded.human_visitors,
	bot_visitors = scan_rollups.bot_visitors + excluded.bot_visitors, name = %s(scan_rollups.name, excluded.name)`
