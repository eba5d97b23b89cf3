package models_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/scanforge/scanforge/internal/testdb"
	"github.com/scanforge/scanforge/models"
)

// A year of 10 million scans of one code, as its rollups: the schema
// bench_analytics_v7_rollups10m holds scan_rollups only, filled directly
// with what 10,220,000 scans spread like the seeded million (2,000 cities
// in 200 regions and 20 countries, 10 device types, 8 browsers, 6 OSes, 2
// sources, 7 bot reasons) make: every city every day (2,000 × 14 scans a
// day), and each month's and quarter's rows. The workspace's rollups are
// the same rows (as if its other codes had no scans) and its "code" rows
// spread each day's scans over 100 codes: a year of 10 million scans of
// the workspace. Seeding 10 million scans themselves takes too long for a
// benchmark; whole-day ranges read nothing else.
var (
	bench10mOnce  sync.Once
	bench10mStore *models.Store
	bench10mErr   error
)

func bench10m(b *testing.B) *models.Store {
	b.Helper()
	bench10mOnce.Do(func() { bench10mStore, bench10mErr = seedRollups10m() })
	if bench10mErr != nil {
		b.Fatalf("seed 10M rollups: %v", bench10mErr)
	}
	return bench10mStore
}

func seedRollups10m() (*models.Store, error) {
	schema := benchSchema("rollups10m")
	admin, err := models.Open(testdb.PostgresURL())
	if err != nil {
		return nil, err
	}
	defer func() {
		if sqlDB, err := admin.DB(); err == nil {
			sqlDB.Close()
		}
	}()
	db, err := openSchema(schema)
	if err != nil {
		return nil, err
	}
	var seeded int64
	admin.Raw(`SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = 'seed_done'`, schema).Scan(&seeded)
	if seeded == 1 {
		return models.NewStore(db, time.Now), nil
	}
	for _, stmt := range []string{`DROP SCHEMA IF EXISTS ` + schema + ` CASCADE`, `CREATE SCHEMA ` + schema} {
		if err := admin.Exec(stmt).Error; err != nil {
			return nil, err
		}
	}
	if err := models.Migrate(db); err != nil {
		return nil, err
	}
	// Per day and city 12 human and 2 bot scans, 9 and 1 of them unique.
	// The other dimensions split a day's 28,000 scans evenly over their keys.
	err = db.Exec(`
WITH days AS (SELECT (?::date - d) AS day FROM generate_series(1, 365) AS d),
geo AS (SELECT c, (ARRAY['US','DE','GB','FR','IN','BR','JP','ES','IT','NL','CA','MX','PL','SE','TR','AU','KR','CH','AT','BE'])[1 + c % 20] AS cc,
	'Country ' || (c % 20) AS country, 'Region ' || (c % 200) AS region, 'City ' || c AS city FROM generate_series(0, 1999) AS c),
dims(dim, k1, keys) AS (
	SELECT 'device', 'device_' || k, 10 FROM generate_series(0, 9) AS k
	UNION ALL SELECT 'browser', 'browser_' || k, 8 FROM generate_series(0, 7) AS k
	UNION ALL SELECT 'os', 'os_' || k, 6 FROM generate_series(0, 5) AS k
	UNION ALL SELECT 'source', (ARRAY['qr','link'])[1 + k], 2 FROM generate_series(0, 1) AS k
	UNION ALL SELECT 'reason', 'reason_' || k, 7 FROM generate_series(0, 6) AS k),
per_day AS (
	SELECT day, 'geo' AS dim, cc AS k1, region AS k2, city AS k3, country AS name, 12::bigint AS humans, 2::bigint AS bots, 9::bigint AS hv, 1::bigint AS bv
	FROM days, geo
	UNION ALL SELECT day, dim, k1, '', '', '', CASE WHEN dim = 'reason' THEN 0 ELSE 24000 / keys END, 4000 / keys, CASE WHEN dim = 'reason' THEN 0 ELSE 18000 / keys END, 2000 / keys
	FROM days, dims)
INSERT INTO scan_rollups (code_id, workspace_id, grain, period, dim, k1, k2, k3, name, humans, bots, human_visitors, bot_visitors)
SELECT ?, ?, 'd', to_char(day, 'YYYY-MM-DD'), dim, k1, k2, k3, name, humans, bots, hv, bv FROM per_day`,
		benchNow, benchCode, benchWorkspace).Error
	if err != nil {
		return nil, err
	}
	if err := seedCoarserRollups(db); err != nil {
		return nil, err
	}
	for _, stmt := range []string{`ANALYZE scan_rollups`, `CREATE TABLE seed_done (at timestamptz)`} {
		if err := db.Exec(stmt).Error; err != nil {
			return nil, err
		}
	}
	return models.NewStore(db, time.Now), nil
}

// seedCoarserRollups adds to the day rows of benchCode the workspace's day
// rows, then everyone's month and quarter rows, as the roller would.
func seedCoarserRollups(db *gorm.DB) error {
	const cols = `(code_id, workspace_id, grain, period, dim, k1, k2, k3, name, humans, bots, human_visitors, bot_visitors)`
	const sums = `max(name), sum(humans), sum(bots), sum(human_visitors), sum(bot_visitors)`
	for _, stmt := range []string{
		`INSERT INTO scan_rollups ` + cols + ` SELECT '', workspace_id, grain, period, dim, k1, k2, k3, name, humans, bots, human_visitors, bot_visitors
		FROM scan_rollups WHERE code_id = '` + benchCode + `'`,
		`INSERT INTO scan_rollups ` + cols + ` WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 99)
		SELECT '', workspace_id, 'd', period, 'code', 'code_' || i, '', '', '', 240, 40, 180, 20
		FROM scan_rollups CROSS JOIN n WHERE code_id = '' AND grain = 'd' AND dim = 'source' AND k1 = 'qr'`,
		`INSERT INTO scan_rollups ` + cols + ` SELECT code_id, workspace_id, 'm', substr(period, 1, 7), dim, k1, k2, k3, ` + sums + `
		FROM scan_rollups WHERE grain = 'd' GROUP BY 1, 2, 3, 4, 5, 6, 7, 8`,
		`INSERT INTO scan_rollups ` + cols + ` SELECT code_id, workspace_id, 'q', substr(period, 1, 4) || '-Q' || ((CAST(substr(period, 6, 2) AS INTEGER) + 2) / 3),
		dim, k1, k2, k3, ` + sums + ` FROM scan_rollups WHERE grain = 'm' GROUP BY 1, 2, 3, 4, 5, 6, 7, 8`,
	} {
		if err := db.Exec(stmt).Error; err != nil {
			return fmt.Errorf("seed coarser rollups: %w", err)
		}
	}
	return nil
}

// seedRollups10mSQLite fills a fresh SQLite database's scan_rollups with
// the same rows as seedRollups10m.
func seedRollups10mSQLite(b *testing.B) *models.Store {
	b.Helper()
	db := testdb.Open(b, "sqlite")
	err := db.Exec(`
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 1999),
days AS (SELECT date(?, '-' || i || ' days') AS day FROM n WHERE i BETWEEN 1 AND 365),
geo AS (SELECT substr('USDEGBFRINBRJPESITNLCAMXPLSETRAUKRCHATBE', 1 + (i % 20) * 2, 2) AS cc,
	'Country ' || (i % 20) AS country, 'Region ' || (i % 200) AS region, 'City ' || i AS city FROM n),
dims(dim, k1, keys) AS (
	SELECT 'device', 'device_' || i, 10 FROM n WHERE i < 10
	UNION ALL SELECT 'browser', 'browser_' || i, 8 FROM n WHERE i < 8
	UNION ALL SELECT 'os', 'os_' || i, 6 FROM n WHERE i < 6
	UNION ALL SELECT 'source', CASE i WHEN 0 THEN 'qr' ELSE 'link' END, 2 FROM n WHERE i < 2
	UNION ALL SELECT 'reason', 'reason_' || i, 7 FROM n WHERE i < 7),
per_day AS (
	SELECT day, 'geo' AS dim, cc AS k1, region AS k2, city AS k3, country AS name, 12 AS humans, 2 AS bots, 9 AS hv, 1 AS bv
	FROM days, geo
	UNION ALL SELECT day, dim, k1, '', '', '', CASE WHEN dim = 'reason' THEN 0 ELSE 24000 / keys END, 4000 / keys,
		CASE WHEN dim = 'reason' THEN 0 ELSE 18000 / keys END, 2000 / keys
	FROM days, dims)
INSERT INTO scan_rollups (code_id, workspace_id, grain, period, dim, k1, k2, k3, name, humans, bots, human_visitors, bot_visitors)
SELECT ?, ?, 'd', day, dim, k1, k2, k3, name, humans, bots, hv, bv FROM per_day`,
		benchNow.Format(time.DateOnly), benchCode, benchWorkspace).Error
	if err == nil {
		err = seedCoarserRollups(db)
	}
	if err != nil {
		b.Fatalf("seed 10M rollups on SQLite: %v", err)
	}
	if err := db.Exec(`ANALYZE`).Error; err != nil {
		b.Fatal(err)
	}
	return models.NewStore(db, time.Now)
}

// BenchmarkStatsRollups10M measures ScanStats over the whole year of the
// 10-million-scan code, and its last 30 days, and WorkspaceStats over the
// same of its 10-million-scan workspace, from the rollups, on PostgreSQL
// and SQLite (seeded in a temporary file on every run).
//
//	go test -run '^$' -bench 'StatsRollups10M' -benchtime 20x ./models/
func BenchmarkStatsRollups10M(b *testing.B) {
	for _, kind := range []string{"sqlite", "postgres"} {
		b.Run(kind, func(b *testing.B) {
			var s *models.Store
			if kind == "postgres" {
				skipUnlessPostgres(b)
				s = bench10m(b)
			} else {
				s = seedRollups10mSQLite(b)
			}
			for _, of := range []string{"code", "workspace"} {
				for _, days := range []int{30, 365} {
					b.Run(fmt.Sprintf("of=%s/range=%dd", of, days), func(b *testing.B) {
						f := models.ScanFilter{From: benchNow.AddDate(0, 0, -days), To: benchNow}
						var st models.ScanStats
						for b.Loop() {
							var err error
							if of == "code" {
								st, err = s.ScanStats(context.Background(), benchWorkspace, benchCode, f)
							} else {
								st, err = s.WorkspaceStats(context.Background(), benchWorkspace, f)
							}
							if err != nil {
								b.Fatal(err)
							}
						}
						if of == "workspace" && len(st.ByCode) != 50 {
							b.Fatalf("%d codes in by_code, want the top 50", len(st.ByCode))
						}
						b.ReportMetric(float64(st.Total), "scans")
					})
				}
			}
		})
	}
}
