package models

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// BotFilter selects scans by their bot verdict.
type BotFilter string

// The bot filters of a ScanFilter.
const (
	BotsInclude BotFilter = ""        // humans and bots
	BotsExclude BotFilter = "exclude" // humans only
	BotsOnly    BotFilter = "only"    // bots only
)

// ScanFilter narrows a code's scans. A zero field does not filter.
type ScanFilter struct {
	From        time.Time // scans at or after From
	To          time.Time // scans before To
	Source      string    // "qr" or "link"
	CountryCode string    // ISO 3166-1 alpha-2, as stored (upper case)
	DeviceType  string    // mobile, tablet, desktop, tv, console, bot, unknown
	Bots        BotFilter
}

// where returns the SQL condition selecting workspaceID's scans of codeID
// that pass f, and its arguments. Column names are quoted: "timestamp" is a
// keyword in both dialects.
func (f ScanFilter) where(workspaceID, codeID string) (string, []any) {
	conds := []string{`code_id = ?`, `workspace_id = ?`}
	args := []any{codeID, workspaceID}
	add := func(cond string, arg any) {
		conds = append(conds, cond)
		args = append(args, arg)
	}
	if !f.From.IsZero() {
		add(`"timestamp" >= ?`, f.From.UTC())
	}
	if !f.To.IsZero() {
		add(`"timestamp" < ?`, f.To.UTC())
	}
	if f.Source != "" {
		add(`source = ?`, f.Source)
	}
	if f.CountryCode != "" {
		add(`country_code = ?`, f.CountryCode)
	}
	if f.DeviceType != "" {
		add(`device_type = ?`, f.DeviceType)
	}
	switch f.Bots {
	case BotsExclude:
		add(`is_bot = ?`, false)
	case BotsOnly:
		add(`is_bot = ?`, true)
	}
	return strings.Join(conds, " AND "), args
}

// ListScans returns a page of workspaceID's scans of codeID that pass f,
// newest first (by timestamp, then ID). p.After is the ID of the last scan
// of the previous page; an ID that names no scan of this code is a
// ValidationError on "cursor". The order is that of idx_scans_code_time
// (code_id, timestamp, id), so a page is a short backward walk of the index
// from the cursor or from f.To, whatever the range.
func (s *Store) ListScans(ctx context.Context, workspaceID, codeID string, f ScanFilter, p Page) ([]Scan, error) {
	cond, args := f.where(workspaceID, codeID)
	q := s.db.WithContext(ctx).Where(cond, args...)
	if p.After != "" {
		var after Scan
		err := s.db.WithContext(ctx).Select("id", "timestamp").
			Where("id = ? AND workspace_id = ? AND code_id = ?", p.After, workspaceID, codeID).Take(&after).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, Invalid("cursor", "names no scan of this code")
		}
		if err != nil {
			return nil, fmt.Errorf("list scans of code %q: cursor: %w", codeID, err)
		}
		// (timestamp, id) < (after's): the first term alone bounds the index range.
		q = q.Where(`"timestamp" <= ? AND ("timestamp" < ? OR id < ?)`, after.Timestamp, after.Timestamp, after.ID)
	}
	limit := p.Limit
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	var out []Scan
	if err := q.Order(`"timestamp" DESC, id DESC`).Limit(limit).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list scans of code %q: %w", codeID, err)
	}
	return out, nil
}

// StatsTopN is how many keys each breakdown of ScanStats lists at most.
const StatsTopN = 50

// Bucket is one key of a breakdown and how many scans have it. An empty Key
// counts the scans without that information (e.g. no geo for a private IP).
type Bucket struct {
	Key         string `json:"key"`
	Name        string `json:"name,omitempty"`         // by country: the country's English name
	CountryCode string `json:"country_code,omitempty"` // by region and city
	Region      string `json:"region,omitempty"`       // by city
	Count       int64  `json:"count"`
}

// DayCount is the number of scans on one UTC day (Date is YYYY-MM-DD).
type DayCount struct {
	Date  string `json:"date"`
	Count int64  `json:"count"`
}

// ScanStats are the totals and breakdowns of a code's scans in a time range.
// Breakdowns list at most StatsTopN keys, by count descending, then key.
type ScanStats struct {
	Total        int64      `json:"total"`
	Humans       int64      `json:"humans"`
	Bots         int64      `json:"bots"`
	ByDay        []DayCount `json:"by_day"` // every day of the range, zeros included
	ByCountry    []Bucket   `json:"by_country"`
	ByRegion     []Bucket   `json:"by_region"`
	ByCity       []Bucket   `json:"by_city"`
	ByDeviceType []Bucket   `json:"by_device_type"`
	ByBrowser    []Bucket   `json:"by_browser"`
	ByOS         []Bucket   `json:"by_os"`
	BySource     []Bucket   `json:"by_source"`
	ByBotReason  []Bucket   `json:"by_bot_reason"`
}

// statsRow is one row of the stats query: a group of one of three
// groupings (see ScanStats) and its count.
type statsRow struct {
	Grouping           string
	K1, K2, K3, K4, K5 string
	Name               string
	IsBot              bool
	N                  int64
}

// dayExprs returns the SQL that groups scans by UTC day and the text
// (YYYY-MM-DD) of that group.
func (s *Store) dayExprs() (group, text string) {
	if s.db.Dialector.Name() == "postgres" {
		day := `("timestamp" AT TIME ZONE 'UTC')::date`
		return day, `to_char(` + day + `, 'YYYY-MM-DD')`
	}
	// SQLite keeps times as text that starts with the date ("2026-11-27
	// 23:59:59.123456 +0000 UTC"), and the store writes them in UTC.
	day := `substr("timestamp", 1, 10)`
	return day, day
}

// ScanStats counts workspaceID's scans of codeID that pass f (which should
// have a time range: ByDay spans From to To) and breaks them down.
//
// One statement groups the matching rows three ways, each read straight
// through the (code_id, timestamp) index: by (day, is_bot); by (country,
// region, city); by (device type, browser, OS, source, is_bot, bot reason).
// These groups are few (days × 2, the places seen, the client kinds seen),
// and every total and breakdown is a sum over one of them, added up here.
// Three narrow groupings cost less than one per breakdown, and the top-N
// order is the same on both databases (byte order of keys, not collation).
func (s *Store) ScanStats(ctx context.Context, workspaceID, codeID string, f ScanFilter) (ScanStats, error) {
	cond, args := f.where(workspaceID, codeID)
	dayGroup, dayText := s.dayExprs()
	query := `SELECT 'day' AS grouping, ` + dayText + ` AS k1, '' AS k2, '' AS k3, '' AS k4, '' AS k5, '' AS name, is_bot, count(*) AS n
	FROM scans WHERE ` + cond + ` GROUP BY ` + dayGroup + `, is_bot
UNION ALL SELECT 'geo', country_code, region, city, '', '', max(country), false, count(*)
	FROM scans WHERE ` + cond + ` GROUP BY country_code, region, city
UNION ALL SELECT 'client', device_type, browser, os, source, bot_reason, '', is_bot, count(*)
	FROM scans WHERE ` + cond + ` GROUP BY device_type, browser, os, source, is_bot, bot_reason`
	var rows []statsRow
	if err := s.db.WithContext(ctx).Raw(query, slices.Concat(args, args, args)...).Scan(&rows).Error; err != nil {
		return ScanStats{}, fmt.Errorf("scan stats of code %q: %w", codeID, err)
	}

	var st ScanStats
	perDay := map[string]int64{}
	country, countryName, region, city := counter{}, map[string]string{}, counter{}, counter{}
	device, browser, opSys, source, reason := counter{}, counter{}, counter{}, counter{}, counter{}
	for _, r := range rows {
		switch r.Grouping {
		case "day":
			st.Total += r.N
			if r.IsBot {
				st.Bots += r.N
			}
			perDay[r.K1] += r.N
		case "geo":
			country.add(Bucket{Key: r.K1}, r.N)
			countryName[r.K1] = max(countryName[r.K1], r.Name)
			region.add(Bucket{Key: r.K2, CountryCode: r.K1}, r.N)
			city.add(Bucket{Key: r.K3, CountryCode: r.K1, Region: r.K2}, r.N)
		case "client":
			device.add(Bucket{Key: r.K1}, r.N)
			browser.add(Bucket{Key: r.K2}, r.N)
			opSys.add(Bucket{Key: r.K3}, r.N)
			source.add(Bucket{Key: r.K4}, r.N)
			if r.IsBot {
				reason.add(Bucket{Key: r.K5}, r.N)
			}
		}
	}
	st.Humans = st.Total - st.Bots
	st.ByDay = fillDays(f.From, f.To, perDay)
	st.ByCountry = country.top()
	for i, b := range st.ByCountry {
		st.ByCountry[i].Name = countryName[b.Key]
	}
	st.ByRegion, st.ByCity = region.top(), city.top()
	st.ByDeviceType, st.ByBrowser, st.ByOS = device.top(), browser.top(), opSys.top()
	st.BySource, st.ByBotReason = source.top(), reason.top()
	return st, nil
}

// counter adds up scan counts per bucket (Count zero in the key).
type counter map[Bucket]int64

func (c counter) add(b Bucket, n int64) { c[b] += n }

// top returns the StatsTopN biggest buckets, by count descending, then by
// key, country code and region; never nil.
func (c counter) top() []Bucket {
	out := make([]Bucket, 0, len(c))
	for b, n := range c {
		b.Count = n
		out = append(out, b)
	}
	slices.SortFunc(out, func(a, b Bucket) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Key, b.Key),
			cmp.Compare(a.CountryCode, b.CountryCode), cmp.Compare(a.Region, b.Region))
	})
	return out[:min(len(out), StatsTopN)]
}

// fillDays lists every UTC day from from to to (exclusive) with its count
// in perDay, zero when absent. Without a complete range it lists just the
// days in perDay, in order.
func fillDays(from, to time.Time, perDay map[string]int64) []DayCount {
	out := []DayCount{}
	if from.IsZero() || to.IsZero() || !from.Before(to) {
		for _, d := range slices.Sorted(maps.Keys(perDay)) {
			out = append(out, DayCount{Date: d, Count: perDay[d]})
		}
		return out
	}
	from, last := from.UTC(), to.UTC().Add(-time.Nanosecond)
	day := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, time.UTC)
	for ; !day.After(last); day = day.AddDate(0, 0, 1) {
		d := day.Format(time.DateOnly)
		out = append(out, DayCount{Date: d, Count: perDay[d]})
	}
	return out
}

// GetScan returns workspaceID's scan scanID.
func (s *Store) GetScan(ctx context.Context, workspaceID, scanID string) (Scan, error) {
	var sc Scan
	err := s.db.WithContext(ctx).Where("workspace_id = ? AND id = ?", workspaceID, scanID).Take(&sc).Error
	if err != nil {
		return Scan{}, notFound("scan", scanID, err)
	}
	return sc, nil
}
