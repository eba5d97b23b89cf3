package models

// Daily and monthly rollups of the scans (scan_rollups), kept in step with
// them by InsertScans in the group commit's transaction, so that stats over
// a long range add up a few rows per day or month instead of every scan.

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// A rollup row counts one code's scans of one period (grain "d": a UTC day
// YYYY-MM-DD; "m": a UTC month YYYY-MM) that share one key of one
// dimension: humans and bots apart, each with the scans that were their
// visitor's first of the day (the unique visitors). Every scan is in
// exactly one row per (grain, dimension), so the scans of a period are the
// sum over any one dimension's rows; the day totals read "source". Only
// bots have "reason" rows: the bot reasons count bots only.
var rollupDims = []struct {
	name, k1, k2, k3 string // the scan columns of the row's key
}{
	{"geo", "country_code", "region", "city"},
	{"device", "device_type", "", ""},
	{"browser", "browser", "", ""},
	{"os", "os", "", ""},
	{"source", "source", "", ""},
	{"reason", "bot_reason", "", ""},
}

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
func rollupSelect(dialect, source string) string {
	period := `CASE g.grain WHEN 'd' THEN to_char(s."timestamp" AT TIME ZONE 'UTC', 'YYYY-MM-DD') ELSE to_char(s."timestamp" AT TIME ZONE 'UTC', 'YYYY-MM') END`
	if dialect != "postgres" {
		// The store writes times in UTC, as text that starts with the date.
		period = `substr(s."timestamp", 1, CASE g.grain WHEN 'd' THEN 10 ELSE 7 END)`
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
		dims = append(dims, "SELECT '"+d.name+"' AS dim")
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
	return `SELECT s.code_id, s.workspace_id, g.grain, ` + period + `, d.dim, ` + k1 + `, ` + k2 + `, ` + k3 + `, max(` + name + `),
	sum(CASE WHEN s.is_bot THEN 0 ELSE 1 END), sum(CASE WHEN s.is_bot THEN 1 ELSE 0 END),
	sum(CASE WHEN s.is_unique AND NOT s.is_bot THEN 1 ELSE 0 END), sum(CASE WHEN s.is_unique AND s.is_bot THEN 1 ELSE 0 END)
FROM ` + source + ` CROSS JOIN (SELECT 'd' AS grain UNION ALL SELECT 'm') g CROSS JOIN (` + strings.Join(dims, " UNION ALL ") + `) d
WHERE d.dim <> 'reason' OR s.is_bot GROUP BY 1, 2, 3, 4, 5, 6, 7, 8`
}

const rollupColumns = "code_id, workspace_id, grain, period, dim, k1, k2, k3, name, humans, bots, human_visitors, bot_visitors"

// rollupUpdate is what adds to a rollup row that exists already.
const rollupUpdate = `ON CONFLICT (` + rollupKey + `) DO UPDATE SET humans = scan_rollups.humans + excluded.humans,
	bots = scan_rollups.bots + excluded.bots, human_visitors = scan_rollups.human_visitors + excluded.human_visitors,
	bot_visitors = scan_rollups.bot_visitors + excluded.bot_visitors, name = %s(scan_rollups.name, excluded.name)`

// rollupRowKey is the primary key of a scan_rollups row.
type rollupRowKey struct{ code, workspace, grain, period, dim, k1, k2, k3 string }

// rollupDelta is what a batch adds to one rollup row. cands are the scans
// among them that may be their visitor's first of the day (PostgreSQL
// decides it in the database; on SQLite the visitors are counted already).
type rollupDelta struct {
	key                                      rollupRowKey
	name                                     string
	humans, bots, humanVisitors, botVisitors int64
	cands                                    []string
}

// rollupDeltas adds up, in Go, what scans add to the rollups: 12 rows per
// scan (2 grains × 6 dimensions) become a few per batch. first, when not
// nil, marks the scans whose uniqueness the database decides later (see
// byVisitor); without it IsUnique counts. The rows are in key order, the
// order every group commit locks them in.
func rollupDeltas(scans []*Scan, first []bool) []rollupDelta {
	byKey := make(map[rollupRowKey]*rollupDelta, 16)
	for i, sc := range scans {
		day := sc.Timestamp.UTC().Format(time.DateOnly)
		for _, period := range [...][2]string{{"d", day}, {"m", day[:7]}} {
			for _, d := range [...]struct{ dim, k1, k2, k3, name string }{
				{"geo", sc.CountryCode, sc.Region, sc.City, sc.Country},
				{"device", sc.DeviceType, "", "", ""},
				{"browser", sc.Browser, "", "", ""},
				{"os", sc.OS, "", "", ""},
				{"source", sc.Source, "", "", ""},
				{"reason", sc.BotReason, "", "", ""},
			} {
				if d.dim == "reason" && !sc.IsBot {
					continue // by_bot_reason counts bots only
				}
				k := rollupRowKey{sc.CodeID, sc.WorkspaceID, period[0], period[1], d.dim, d.k1, d.k2, d.k3}
				r := byKey[k]
				if r == nil {
					r = &rollupDelta{key: k}
					byKey[k] = r
				}
				r.name = max(r.name, d.name)
				unique := first == nil && sc.IsUnique
				if sc.IsBot {
					r.bots++
					if unique {
						r.botVisitors++
					}
				} else {
					r.humans++
					if unique {
						r.humanVisitors++
					}
				}
				if first != nil && first[i] {
					r.cands = append(r.cands, sc.ID)
				}
			}
		}
	}
	out := make([]rollupDelta, 0, len(byKey))
	for _, r := range byKey {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b rollupDelta) int {
		x, y := a.key, b.key
		return cmp.Or(cmp.Compare(x.code, y.code), cmp.Compare(x.workspace, y.workspace), cmp.Compare(x.grain, y.grain),
			cmp.Compare(x.dim, y.dim), cmp.Compare(x.period, y.period), cmp.Compare(x.k1, y.k1), cmp.Compare(x.k2, y.k2), cmp.Compare(x.k3, y.k3))
	})
	return out
}

// sqliteRollupUpsert adds one rollupDelta.
var sqliteRollupUpsert = `INSERT INTO scan_rollups (` + rollupColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ` +
	fmt.Sprintf(rollupUpdate, "max")

// postgresRollupUpsert adds a batch's rollupDeltas, sent as arrays; the
// visitors of each row are its candidate scans (pairs of row number and
// scan ID) that the batch's INSERTs found unique. Each candidate is looked
// up by its ID alone (the LATERAL with OFFSET 0 is not flattened): a plan
// made for an unknown number of candidates must not read the scans table.
var postgresRollupUpsert = `WITH r AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
		$7::text[], $8::text[], $9::text[], $10::bigint[], $11::bigint[])
		WITH ORDINALITY AS r(code_id, workspace_id, grain, period, dim, k1, k2, k3, name, humans, bots, n)),
	u AS (SELECT c.id, s.is_bot FROM unnest($12::text[]) AS c(id)
		CROSS JOIN LATERAL (SELECT s.is_bot FROM scans s WHERE s.id = c.id AND s.is_unique OFFSET 0) AS s),
	m AS (SELECT m.n, sum(CASE WHEN u.is_bot THEN 0 ELSE 1 END) AS hv, sum(CASE WHEN u.is_bot THEN 1 ELSE 0 END) AS bv
		FROM unnest($13::bigint[], $14::text[]) AS m(n, id) JOIN u ON u.id = m.id GROUP BY m.n)
INSERT INTO scan_rollups (` + rollupColumns + `)
SELECT r.code_id, r.workspace_id, r.grain, r.period, r.dim, r.k1, r.k2, r.k3, r.name, r.humans, r.bots, coalesce(m.hv, 0), coalesce(m.bv, 0)
FROM r LEFT JOIN m ON m.n = r.n ORDER BY ` + rollupKey + ` ` + fmt.Sprintf(rollupUpdate, "greatest")

// postgresRollupParams returns the parameters of postgresRollupUpsert, in
// PostgreSQL's text format.
func postgresRollupParams(deltas []rollupDelta) [][]byte {
	cols := make([]*strings.Builder, 14)
	for i := range cols {
		cols[i] = &strings.Builder{}
		cols[i].WriteByte('{')
	}
	add := func(col int, v string, quote bool) {
		b := cols[col]
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		if !quote {
			b.WriteString(v)
			return
		}
		b.WriteByte('"')
		for _, c := range []byte(v) {
			if c == '"' || c == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(c)
		}
		b.WriteByte('"')
	}
	for i, d := range deltas {
		k := d.key
		for c, v := range []string{k.code, k.workspace, k.grain, k.period, k.dim, k.k1, k.k2, k.k3, d.name} {
			add(c, v, true)
		}
		add(9, strconv.FormatInt(d.humans, 10), false)
		add(10, strconv.FormatInt(d.bots, 10), false)
		for _, id := range d.cands {
			if k.grain == "d" && k.dim == "source" { // each candidate once
				add(11, id, true)
			}
			add(12, strconv.Itoa(i+1), false)
			add(13, id, true)
		}
	}
	out := make([][]byte, len(cols))
	for i, b := range cols {
		b.WriteByte('}')
		out[i] = []byte(b.String())
	}
	return out
}

// RebuildRollups makes scan_rollups again from the scans, in one
// transaction, as the migration that created it did. On PostgreSQL it
// locks the rollups first: a group commit that inserted its scans before
// the rebuild read them waits, and adds its rollups after it.
func (s *Store) RebuildRollups(ctx context.Context) error {
	dialect := s.db.Name()
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if dialect == "postgres" {
			if err := tx.Exec(`LOCK TABLE scan_rollups IN EXCLUSIVE MODE`).Error; err != nil {
				return fmt.Errorf("rebuild rollups: %w", err)
			}
		}
		if err := tx.Exec(`DELETE FROM scan_rollups`).Error; err != nil {
			return fmt.Errorf("rebuild rollups: %w", err)
		}
		if err := tx.Exec(`INSERT INTO scan_rollups (` + rollupColumns + `) ` + rollupSelect(dialect, "scans AS s")).Error; err != nil {
			return fmt.Errorf("rebuild rollups: %w", err)
		}
		return nil
	})
}
