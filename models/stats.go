package models

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"time"

	"gorm.io/gorm"
)

// StatsTopN is how many keys each breakdown of ScanStats lists at most.
const StatsTopN = 50

// Bucket is one key of a breakdown, how many scans have it, and how many
// of them were their visitor's first of the code that day (Visitors). An
// empty Key counts the scans without that information (e.g. no geo for a
// private IP).
type Bucket struct {
	Key         string `json:"key"`
	Name        string `json:"name,omitempty"`         // by country: the country's English name
	CountryCode string `json:"country_code,omitempty"` // by region and city
	Region      string `json:"region,omitempty"`       // by city
	Count       int64  `json:"count"`
	Visitors    int64  `json:"visitors"`
}

// DayCount is the number of scans and of unique visitors on one UTC day
// (Date is YYYY-MM-DD).
type DayCount struct {
	Date     string `json:"date"`
	Count    int64  `json:"count"`
	Visitors int64  `json:"visitors"`
}

// ScanStats are the totals and breakdowns of a code's scans in a time range.
// Breakdowns list at most StatsTopN keys, by count descending, then key.
// Visitors counts each visitor once per UTC day (visitor keys of different
// days cannot be linked), under its first scan of that day: a visitor who
// comes back on three days counts three times.
type ScanStats struct {
	Total        int64      `json:"total"`
	Humans       int64      `json:"humans"`
	Bots         int64      `json:"bots"`
	Visitors     int64      `json:"visitors"`
	ByDay        []DayCount `json:"by_day"` // every day of the range, zeros included
	ByCountry    []Bucket   `json:"by_country"`
	ByRegion     []Bucket   `json:"by_region"`
	ByCity       []Bucket   `json:"by_city"`
	ByDeviceType []Bucket   `json:"by_device_type"`
	ByBrowser    []Bucket   `json:"by_browser"`
	ByOS         []Bucket   `json:"by_os"`
	BySource     []Bucket   `json:"by_source"`
	ByBotReason  []Bucket   `json:"by_bot_reason"`
	ByCode       []Bucket   `json:"-"` // workspace stats only; Key is the code's ID
}

// ScanStats counts workspaceID's scans of codeID that pass f (which should
// have a time range: ByDay spans From to To) and breaks them down.
//
// Whole UTC days of the range are read from the rollups (scan_rollups:
// the fewest quarters, months and days that make them, see coverDays) plus the
// scans the roller has not folded in yet (past rollup_watermark), and so
// are the parts of days at its ends, less the scans of the rest of their
// day when that is the shorter time: the default range, the last 30 days
// up to now, reads the rollups and the scans of less than half a day at
// each end. All in one snapshot, so a scan recorded or rolled meanwhile is
// counted once. A filter on source, country or device type is answered
// from the scans alone: the rollups count each dimension apart.
func (s *Store) ScanStats(ctx context.Context, workspaceID, codeID string, f ScanFilter) (ScanStats, error) {
	if codeID == "" {
		return ScanStats{}, fmt.Errorf("scan stats: %w", Invalid("code_id", "is empty"))
	}
	st, err := s.stats(ctx, workspaceID, codeID, f)
	if err != nil {
		return ScanStats{}, fmt.Errorf("scan stats of code %q: %w", codeID, err)
	}
	return st, nil
}

// WorkspaceStats is ScanStats over the scans of every code of workspaceID
// (deleted codes' too: they keep their scans), from the workspace's own
// rollups, broken down by code as well (ByCode).
func (s *Store) WorkspaceStats(ctx context.Context, workspaceID string, f ScanFilter) (ScanStats, error) {
	st, err := s.stats(ctx, workspaceID, workspaceRollups, f)
	if err != nil {
		return ScanStats{}, fmt.Errorf("scan stats of workspace %q: %w", workspaceID, err)
	}
	return st, nil
}

// stats is ScanStats of codeID, or of the whole workspace when codeID is
// workspaceRollups.
func (s *Store) stats(ctx context.Context, workspaceID, codeID string, f ScanFilter) (ScanStats, error) {
	acc := newStatsAcc(codeID == workspaceRollups)
	var err error
	if f.Source != "" || f.CountryCode != "" || f.DeviceType != "" || f.From.IsZero() || f.To.IsZero() {
		err = addScanStats(s.db.WithContext(ctx), acc, workspaceID, codeID, f, 1)
	} else {
		var opts *sql.TxOptions
		if s.db.Name() == "postgres" { // SQLite's read transactions are snapshots already
			opts = &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
		}
		err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			return addStats(tx, acc, workspaceID, codeID, f)
		}, opts)
	}
	if err != nil {
		return ScanStats{}, err
	}
	return acc.result(f.From, f.To), nil
}

// halfDay is the longest part of a day counted from its scans; a longer
// one is the day's rollups less the scans of the rest of the day.
const halfDay = 12 * time.Hour

func addStats(db *gorm.DB, acc *statsAcc, workspaceID, codeID string, f ScanFilter) error {
	from, to := f.From.UTC(), f.To.UTC()
	var watermark int64
	if err := db.Raw(`SELECT seq FROM rollup_watermark WHERE id = 1`).Row().Scan(&watermark); err != nil {
		return fmt.Errorf("rollup watermark: %w", err)
	}
	// addRollupStats counts the days [first, last) as the scans do: the
	// rollups, and the scans past the watermark.
	addRollupStats := func(db *gorm.DB, acc *statsAcc, workspaceID, codeID string, bots BotFilter, first, last time.Time) error {
		if err := addRolledStats(db, acc, workspaceID, codeID, bots, first, last); err != nil {
			return err
		}
		return addUnrolledStats(db, acc, workspaceID, codeID, f.between(first, last), watermark)
	}
	// part adds the scans of [a, b), a part of the day that starts at day.
	part := func(day, a, b time.Time) error {
		if b.Sub(a) <= halfDay {
			return addScanStats(db, acc, workspaceID, codeID, f.between(a, b), 1)
		}
		next := day.AddDate(0, 0, 1)
		if err := addRollupStats(db, acc, workspaceID, codeID, f.Bots, day, next); err != nil {
			return err
		}
		if day.Before(a) {
			if err := addScanStats(db, acc, workspaceID, codeID, f.between(day, a), -1); err != nil {
				return err
			}
		}
		if b.Before(next) {
			return addScanStats(db, acc, workspaceID, codeID, f.between(b, next), -1)
		}
		return nil
	}
	if startOfDay(from).Equal(startOfDay(to)) {
		return part(startOfDay(from), from, to)
	}
	firstDay := startOfDay(from) // whole days: [firstDay, lastDay)
	if firstDay.Before(from) {
		if err := part(firstDay, from, firstDay.AddDate(0, 0, 1)); err != nil {
			return err
		}
		firstDay = firstDay.AddDate(0, 0, 1)
	}
	lastDay := startOfDay(to)
	if firstDay.Before(lastDay) {
		if err := addRollupStats(db, acc, workspaceID, codeID, f.Bots, firstDay, lastDay); err != nil {
			return err
		}
	}
	if lastDay.Before(to) {
		return part(lastDay, lastDay, to)
	}
	return nil
}

// between is f over [from, to) instead.
func (f ScanFilter) between(from, to time.Time) ScanFilter {
	f.From, f.To = from, to
	return f
}

func startOfDay(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// statsRow is one row of the scans' stats query: a group of one of three
// groupings (see addScanStats), its scans (N) and unique visitors (V).
type statsRow struct {
	Grouping           string
	K1, K2, K3, K4, K5 string
	Name               string
	IsBot              bool
	N, V               int64
}

// dayExprs returns the SQL that groups scans by UTC day and the text
// (YYYY-MM-DD) of that group.
func dayExprs(db *gorm.DB) (group, text string) {
	if db.Dialector.Name() == "postgres" {
		day := `("timestamp" AT TIME ZONE 'UTC')::date`
		return day, `to_char(` + day + `, 'YYYY-MM-DD')`
	}
	// SQLite keeps times as text that starts with the date ("2026-11-27
	// 23:59:59.123456 +0000 UTC"), and the store writes them in UTC.
	day := `substr("timestamp", 1, 10)`
	return day, day
}

// addScanStats counts the scans that pass f themselves, times sign (-1
// takes them away). One statement
// groups the matching rows three ways, each read straight through the
// (code_id, timestamp) index: by (day, is_bot); by (country, region,
// city); by (device type, browser, OS, source, is_bot, bot reason). These
// groups are few, and every total and breakdown is a sum over one of them.
func addScanStats(db *gorm.DB, acc *statsAcc, workspaceID, codeID string, f ScanFilter, sign int64) error {
	cond, args := f.where(workspaceID, codeID)
	return countScans(db, acc, "scans", cond, args, sign, codeID == workspaceRollups)
}

// addUnrolledStats counts the scans that pass f and that the rollups do
// not count yet: those past the watermark, a second's worth, found by
// their roll_seq (on SQLite the planner is told so: it would walk the
// code's scans of the whole range instead).
func addUnrolledStats(db *gorm.DB, acc *statsAcc, workspaceID, codeID string, f ScanFilter, watermark int64) error {
	cond, args := f.where(workspaceID, codeID)
	table := "scans"
	if db.Dialector.Name() != "postgres" {
		table = "scans INDEXED BY idx_scans_roll_seq"
	}
	// The watermark in the SQL text: PostgreSQL then plans for the few rows past it.
	return countScans(db, acc, table, cond+" AND roll_seq > "+strconv.FormatInt(watermark, 10), args, 1, codeID == workspaceRollups)
}

// countScans adds the scans of table that match cond, times sign, and
// (byCode) groups them by code too.
func countScans(db *gorm.DB, acc *statsAcc, table, cond string, args []any, sign int64, byCode bool) error {
	dayGroup, dayText := dayExprs(db)
	const counts = `count(*) AS n, sum(CASE WHEN is_unique THEN 1 ELSE 0 END) AS v`
	query := `SELECT 'day' AS grouping, ` + dayText + ` AS k1, '' AS k2, '' AS k3, '' AS k4, '' AS k5, '' AS name, is_bot, ` + counts + `
	FROM ` + table + ` WHERE ` + cond + ` GROUP BY ` + dayGroup + `, is_bot
UNION ALL SELECT 'geo', country_code, region, city, '', '', max(country), false, ` + counts + `
	FROM ` + table + ` WHERE ` + cond + ` GROUP BY country_code, region, city
UNION ALL SELECT 'client', device_type, browser, os, source, bot_reason, '', is_bot, ` + counts + `
	FROM ` + table + ` WHERE ` + cond + ` GROUP BY device_type, browser, os, source, is_bot, bot_reason`
	allArgs := slices.Concat(args, args, args)
	if byCode {
		query += `
UNION ALL SELECT 'code', code_id, '', '', '', '', '', false, ` + counts + `
	FROM ` + table + ` WHERE ` + cond + ` GROUP BY code_id`
		allArgs = append(allArgs, args...)
	}
	var rows []statsRow
	if err := db.Raw(query, allArgs...).Scan(&rows).Error; err != nil {
		return err
	}
	for _, r := range rows {
		t := tally{sign * r.N, sign * r.V}
		switch r.Grouping {
		case "day":
			acc.addDay(r.K1, r.IsBot, t)
		case "geo":
			acc.addGeo(r.K1, r.K2, r.K3, r.Name, t)
		case "client":
			acc.device.add(Bucket{Key: r.K1}, t)
			acc.browser.add(Bucket{Key: r.K2}, t)
			acc.os.add(Bucket{Key: r.K3}, t)
			acc.source.add(Bucket{Key: r.K4}, t)
			if r.IsBot {
				acc.reason.add(Bucket{Key: r.K5}, t)
			}
		case "code":
			acc.code.add(Bucket{Key: r.K1}, t)
		}
	}
	return nil
}
