package models_test

import (
	"context"
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/scanforge/scanforge/internal/testdb"
	"github.com/scanforge/scanforge/models"
)

// The analytics benchmarks run on PostgreSQL only: one code with a million
// scans over a year, plus other codes' scans around it, in three schemas
// that differ only in their indexes on scans:
//
//	none       the primary key only
//	code_time  (code_id, timestamp): the index the scans table had before analytics
//	full       what Migrate creates: (code_id, timestamp, id), which also orders the list
//
// Seeding takes about a minute, so it happens only when a benchmark runs
// (never under plain `go test`), and the schemas are kept for the next run
// (bench_analytics_v7_*; drop them with DROP SCHEMA ... CASCADE). The
// full schema's rollups are built from its scans, as the migration does.
const (
	benchScans      = 1_000_000 // of the benchmarked code
	benchNoiseScans = 250_000   // of 50 other codes
	benchSeedTag    = "v7"
	benchWorkspace  = "ws_bench"
	benchCode       = "code_bench"
)

// benchNow is the end of the seeded year: scans run up to it.
var benchNow = time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)

var benchIndexSets = []string{"none", "code_time", "full"}

var (
	benchOnce   sync.Once
	benchStores map[string]*models.Store
	benchErr    error
)

// benchDBs returns a store per index set, seeding the schemas on first use.
func benchDBs(b *testing.B) map[string]*models.Store {
	b.Helper()
	benchOnce.Do(func() { benchStores, benchErr = seedBenchSchemas() })
	if benchErr != nil {
		b.Fatalf("seed benchmark schemas: %v", benchErr)
	}
	return benchStores
}

func benchSchema(set string) string { return "bench_analytics_" + benchSeedTag + "_" + set }

func openSchema(schema string) (*gorm.DB, error) {
	u, err := url.Parse(testdb.PostgresURL())
	if err != nil {
		return nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return models.Open(u.String())
}

func seedBenchSchemas() (map[string]*models.Store, error) {
	admin, err := models.Open(testdb.PostgresURL())
	if err != nil {
		return nil, err
	}
	defer func() {
		if sqlDB, err := admin.DB(); err == nil {
			sqlDB.Close()
		}
	}()
	stores := map[string]*models.Store{}
	for _, set := range benchIndexSets {
		schema := benchSchema(set)
		var seeded int64
		// The marker table exists only once a schema is completely seeded.
		admin.Raw(`SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = 'seed_done'`, schema).Scan(&seeded)
		db, err := openSchema(schema)
		if err != nil {
			return nil, err
		}
		stores[set] = models.NewStore(db, time.Now)
		if seeded == 1 {
			continue
		}
		if err := seedSchema(admin, db, schema, set); err != nil {
			return nil, fmt.Errorf("schema %s: %w", schema, err)
		}
	}
	return stores, nil
}

// seedSchema fills one schema in a few statements: generate_series makes
// the rows in time order (as scans arrive), IDs ordered like the timestamps.
func seedSchema(admin, db *gorm.DB, schema, set string) error {
	steps := []string{
		`DROP SCHEMA IF EXISTS ` + schema + ` CASCADE`,
		`CREATE SCHEMA ` + schema,
	}
	for _, s := range steps {
		if err := admin.Exec(s).Error; err != nil {
			return err
		}
	}
	if err := models.Migrate(db); err != nil {
		return err
	}
	var change []string
	switch set {
	case "none":
		change = []string{`DROP INDEX idx_scans_code_time`, `DROP INDEX idx_scans_pending`}
	case "code_time":
		change = []string{`DROP INDEX idx_scans_code_time`, `CREATE INDEX idx_scans_code_time ON scans (code_id, "timestamp")`}
	}
	for _, stmt := range change {
		if err := db.Exec(stmt).Error; err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
	}
	// One row in five belongs to one of 50 other codes, interleaved in time
	// as in a shared table; h spreads the other columns pseudo-randomly over
	// 2,000 cities (each in one of 200 regions and 20 countries), 7 device
	// types, 8 browsers, 6 OSes, 2 sources, 10 % bots with 7 reasons.
	total := benchScans + benchNoiseScans
	step := (365 * 24 * time.Hour) / time.Duration(total)
	err := db.Exec(`
INSERT INTO scans (id, workspace_id, code_id, slug, code_name, "timestamp", source, destination_url, visitor_key, is_unique,
	country, country_code, region, city, latitude, longitude, timezone,
	device_type, browser, browser_version, os, os_version, referrer, user_agent, is_bot, bot_reason, dispatched_at)
SELECT 'scan_' || to_char(t AT TIME ZONE 'UTC', 'YYYYMMDDHH24MISSUS') || lpad(g::text, 8, '0'),
	?, CASE WHEN g % 5 = 0 THEN 'code_other_' || (h % 50) ELSE ? END, 'bench', 'Benchmark code', t,
	CASE WHEN h / 3 % 5 = 0 THEN 'link' ELSE 'qr' END,
	'https://example.com/landing', '', h % 3 <> 0,
	(ARRAY['United States','Germany','United Kingdom','France','India','Brazil','Japan','Spain','Italy','Netherlands',
		'Canada','Mexico','Poland','Sweden','Turkey','Australia','South Korea','Switzerland','Austria','Belgium'])[1 + city % 20],
	(ARRAY['US','DE','GB','FR','IN','BR','JP','ES','IT','NL','CA','MX','PL','SE','TR','AU','KR','CH','AT','BE'])[1 + city % 20],
	'Region ' || (city % 200), 'City ' || city, 48.1, 11.5, 'Europe/Berlin',
	CASE WHEN bot THEN 'bot' ELSE (ARRAY['mobile','mobile','mobile','mobile','desktop','desktop','tablet','tv','console','unknown'])[1 + h / 20 % 10] END,
	(ARRAY['Chrome','Safari','Firefox','Edge','Samsung Internet','Opera','Instagram','Facebook'])[1 + h / 200 % 8], '124.0',
	(ARRAY['Android','iOS','Windows','macOS','Linux','iPadOS'])[1 + h / 1600 % 6], '14',
	'', 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36',
	bot,
	CASE WHEN bot THEN (ARRAY['ua_crawler','link_preview','http_library','headless_browser','empty_user_agent','head_request','prefetch'])[1 + h / 7 % 7] ELSE '' END,
	t
FROM generate_series(1, ?) AS g,
	LATERAL (SELECT hashint4(g) & 2147483647 AS h) AS hg,
	LATERAL (SELECT h / 9600 % 2000 AS city) AS hc,
	LATERAL (SELECT ?::timestamptz - (? - g) * make_interval(secs => ?) AS t, h / 7 % 10 = 0 AS bot) AS x`,
		benchWorkspace, benchCode, total, benchNow, total, step.Seconds()).Error
	if err != nil {
		return fmt.Errorf("seed scans: %w", err)
	}
	if set == "full" {
		if err := models.NewStore(db, time.Now).RebuildRollups(context.Background()); err != nil {
			return fmt.Errorf("rollups: %w", err)
		}
	}
	for _, s := range []string{`ANALYZE scans`, `ANALYZE scan_rollups`, `CREATE TABLE seed_done (at timestamptz)`} {
		if err := db.Exec(s).Error; err != nil {
			return err
		}
	}
	return nil
}

func skipUnlessPostgres(b *testing.B) {
	b.Helper()
	db, err := models.Open(testdb.PostgresURL())
	if err != nil {
		b.Skipf("PostgreSQL not available: %v", err)
	}
	sqlDB, _ := db.DB()
	defer sqlDB.Close()
	if err := sqlDB.Ping(); err != nil {
		b.Skipf("PostgreSQL not available: %v", err)
	}
}

// BenchmarkStats measures GET /stats's query: totals and every breakdown of
// one code's scans over the last 30 days (about 82,000 of its million scans)
// and over the whole year, as ScanStats answers it (from=rollups: whole
// days from scan_rollups) and counting the scans themselves (from=scans,
// what ScanStats did before the rollups).
//
//	go test -run '^$' -bench 'Stats$' -benchtime 20x ./models/
func BenchmarkStats(b *testing.B) {
	skipUnlessPostgres(b)
	stores := benchDBs(b)
	for _, from := range []string{"rollups", "scans"} {
		for _, days := range []int{30, 365} {
			b.Run(fmt.Sprintf("from=%s/range=%dd", from, days), func(b *testing.B) {
				s := stores["full"]
				f := models.ScanFilter{From: benchNow.AddDate(0, 0, -days), To: benchNow}
				var st models.ScanStats
				for b.Loop() {
					var err error
					if from == "rollups" {
						st, err = s.ScanStats(context.Background(), benchWorkspace, benchCode, f)
					} else {
						st, err = s.ScanStatsFromScans(benchWorkspace, benchCode, f)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(st.Total), "scans")
			})
		}
	}
}

// BenchmarkListScans measures GET /scans's query: a page of 50, newest
// first, as a client first sees it, half a year down by cursor, and
// filtered by time, country and device type.
func BenchmarkListScans(b *testing.B) {
	skipUnlessPostgres(b)
	stores := benchDBs(b)
	// The cursor of a page half a year back: a scan about 500,000 from the top.
	var deep string
	err := stores["full"].DB().Raw(`SELECT id FROM scans WHERE code_id = ? AND "timestamp" < ? ORDER BY "timestamp" DESC LIMIT 1`,
		benchCode, benchNow.AddDate(0, -6, 0)).Scan(&deep).Error
	if err != nil || deep == "" {
		b.Fatalf("cursor for a deep page: %q, %v", deep, err)
	}
	cases := []struct {
		name  string
		f     models.ScanFilter
		after string
	}{
		{"newest", models.ScanFilter{}, ""},
		{"last_30d_humans", models.ScanFilter{From: benchNow.AddDate(0, 0, -30), To: benchNow, Bots: models.BotsExclude}, ""},
		{"6_months_back_by_cursor", models.ScanFilter{}, deep},
		{"6_months_ago_DE_mobile", models.ScanFilter{From: benchNow.AddDate(0, -7, 0), To: benchNow.AddDate(0, -6, 0), CountryCode: "DE", DeviceType: "mobile"}, ""},
	}
	for _, set := range benchIndexSets {
		for _, c := range cases {
			b.Run("indexes="+set+"/"+c.name, func(b *testing.B) {
				var page []models.Scan
				for b.Loop() {
					var err error
					page, err = stores[set].ListScans(context.Background(), benchWorkspace, benchCode, c.f, models.Page{After: c.after, Limit: 50})
					if err != nil {
						b.Fatal(err)
					}
				}
				if len(page) != 50 {
					b.Fatalf("page has %d scans, want 50", len(page))
				}
			})
		}
	}
}
