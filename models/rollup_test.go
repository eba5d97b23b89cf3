package models_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/scanforge/scanforge/internal/outbox"
	"github.com/scanforge/scanforge/internal/testdb"
	"github.com/scanforge/scanforge/models"
)

// The rollups answer exactly what counting the scans answers, of each code
// and of each workspace as a whole, after random batches (several INSERTs
// on PostgreSQL, repeat visitors within and across batches), late scans of
// earlier days and months, and deleted codes; over ranges of whole days,
// months and quarters, and parts of days, with every bot filter; before
// the roller folded the last scans in (stats add them from the scans) and
// after. Rebuilding them from the scans gives the same rows.
func TestRollupsCountWhatTheScansCount(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(21, 2026))
		type code struct{ ws, id string }
		var codes []code
		for w := range 2 {
			ws, err := s.CreateWorkspace(ctx, fmt.Sprintf("ws%d", w))
			if err != nil {
				t.Fatal(err)
			}
			for c := range 3 {
				cd := models.Code{WorkspaceID: ws.ID, Slug: fmt.Sprintf("c%d-%d", w, c), DestinationURL: "https://example.com/", Active: true}
				if err := s.CreateCode(ctx, &cd); err != nil {
					t.Fatal(err)
				}
				codes = append(codes, code{ws.ID, cd.ID})
			}
		}
		pick := func(vals ...string) string { return vals[rng.IntN(len(vals))] }
		now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
		seq := 0
		newScan := func(at time.Time) models.Scan {
			c := codes[rng.IntN(len(codes))]
			seq++
			bot := rng.IntN(5) == 0
			sc := models.Scan{
				ID: fmt.Sprintf("scan_%06d", seq), WorkspaceID: c.ws, CodeID: c.id, Slug: "s", Timestamp: at,
				Source: pick("qr", "link"), DestinationURL: "https://example.com/",
				CountryCode: pick("DE", "FR", ""), Region: pick("A", "B", ""), City: pick("X", "Y", "Z", ""),
				DeviceType: pick("mobile", "desktop", "bot"), Browser: pick("Chrome", "Safari", ""), OS: pick("iOS", "Android"),
				IsBot: bot, VisitorKey: pick("", fmt.Sprintf("%032d", rng.IntN(6))),
			}
			sc.Country = map[string]string{"DE": "Germany", "FR": "France"}[sc.CountryCode]
			if bot {
				sc.BotReason = pick("crawler", "link_preview", "")
			}
			return sc
		}
		for batch := range 40 {
			var scans []models.Scan
			for range 1 + rng.IntN(outbox.PostgresMaxRows+20) {
				// Mostly today's scans; one in four late, from up to 70 days back.
				at := now.Add(time.Duration(batch) * time.Minute)
				if rng.IntN(4) == 0 {
					at = at.Add(-time.Duration(rng.IntN(70*24*60)) * time.Minute)
				}
				scans = append(scans, newScan(at.Truncate(time.Microsecond)))
			}
			if err := insertScans(ctx, s, scans); err != nil {
				t.Fatal(err)
			}
			if batch == 20 { // a deleted code keeps its scans, and so its rollups
				if err := s.DeleteCode(ctx, codes[0].ws, codes[0].id); err != nil {
					t.Fatal(err)
				}
			}
			switch batch {
			case 10, 30: // rolled in part: the rest is the stats' raw tail
				rollAll(t, s)
			case 25: // a roll that crashes before its commit counts nothing
				if err := s.RollScansThenCrash(ctx); err != nil {
					t.Fatal(err)
				}
			}
		}

		// Each visitor's first scan of a code and day is unique, and only it.
		var wrong []struct{ CodeID, Day string }
		dayOf := `substr("timestamp", 1, 10)`
		if s.DB().Name() == "postgres" {
			dayOf = `to_char("timestamp" AT TIME ZONE 'UTC', 'YYYY-MM-DD')`
		}
		err := s.DB().Raw(`SELECT code_id, ` + dayOf + ` AS day FROM scans WHERE visitor_key <> ''
			GROUP BY code_id, ` + dayOf + `, visitor_key HAVING sum(CASE WHEN is_unique THEN 1 ELSE 0 END) <> 1`).Scan(&wrong).Error
		if err != nil || len(wrong) > 0 {
			t.Fatalf("visitors without exactly one unique scan: %v, %v", wrong, err)
		}

		day := func(d int) time.Time { return time.Date(2026, 3, 10+d, 0, 0, 0, 0, time.UTC) }
		ranges := [][2]time.Time{
			{day(-70), day(1)}, // whole days over three months
			{day(-9), day(1)},  // whole days of two months
			{day(-70).Add(7 * time.Hour), now.Add(time.Hour)},                                          // parts of days at both ends
			{day(0).Add(time.Hour), day(0).Add(13 * time.Hour)},                                        // within one day
			{time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}, // one whole month
			// Parts of days longer than half a day: the day's rollups less the
			// scans of the rest of it.
			{day(-70).Add(2 * time.Hour), day(0).Add(13 * time.Hour)},
			{day(0).Add(time.Hour), day(0).Add(20 * time.Hour)},
			{day(-1).Add(20 * time.Hour), day(0).Add(5 * time.Hour)}, // across midnight, less than a day
			{day(-30).Add(3 * time.Hour), day(-5).Add(15 * time.Hour)},
			{day(-5).Add(time.Hour), day(-5).Add(20 * time.Hour)},
			// Most of a month, in one month and across two: the month less its other days.
			{time.Date(2026, 2, 3, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 27, 0, 0, 0, 0, time.UTC)},
			{time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 25, 6, 0, 0, 0, time.UTC)},
			// Quarters: a whole one; most of one (the quarter less a month
			// and days); across two, with parts of days.
			{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)},
			{time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC)},
			{time.Date(2025, 10, 20, 5, 0, 0, 0, time.UTC), time.Date(2026, 3, 11, 3, 0, 0, 0, time.UTC)},
		}
		workspaces := []string{codes[0].ws, codes[len(codes)-1].ws}
		check := func(stage string) {
			for _, ws := range workspaces { // every code of it, the deleted one too
				for _, r := range ranges {
					for _, bots := range []models.BotFilter{models.BotsInclude, models.BotsExclude, models.BotsOnly} {
						f := models.ScanFilter{From: r[0], To: r[1], Bots: bots}
						got, err := s.WorkspaceStats(ctx, ws, f)
						if err != nil {
							t.Fatal(err)
						}
						want, err := s.ScanStatsFromScans(ws, "", f)
						if err != nil {
							t.Fatal(err)
						}
						if want.Total == 0 && r[0].Equal(day(-70)) && bots == models.BotsInclude || len(want.ByCode) == 0 && want.Total > 0 {
							t.Fatalf("workspace %s: %d scans by %d codes: the test tests nothing", ws, want.Total, len(want.ByCode))
						}
						if !reflect.DeepEqual(got, want) {
							t.Fatalf("%s: workspace %s, %v..%v, bots %q:\nrollups %+v\nscans   %+v", stage, ws, r[0], r[1], bots, got, want)
						}
					}
				}
			}
			for _, c := range codes {
				for _, r := range ranges {
					for _, bots := range []models.BotFilter{models.BotsInclude, models.BotsExclude, models.BotsOnly} {
						f := models.ScanFilter{From: r[0], To: r[1], Bots: bots}
						got, err := s.ScanStats(ctx, c.ws, c.id, f)
						if err != nil {
							t.Fatal(err)
						}
						want, err := s.ScanStatsFromScans(c.ws, c.id, f)
						if err != nil {
							t.Fatal(err)
						}
						if want.Total == 0 && r[0].Equal(day(-70)) && bots == models.BotsInclude {
							t.Fatalf("code %s has no scans: the test tests nothing", c.id)
						}
						if !reflect.DeepEqual(got, want) {
							t.Fatalf("%s: code %s, %v..%v, bots %q:\nrollups %+v\nscans   %+v", stage, c.id, r[0], r[1], bots, got, want)
						}
					}
				}
			}
		}
		check("scans of the last ten batches not rolled yet")
		rollAll(t, s)
		check("every scan rolled")

		kept := readRollups(t, s)
		if err := s.RebuildRollups(ctx); err != nil {
			t.Fatal(err)
		}
		if rebuilt := readRollups(t, s); !reflect.DeepEqual(kept, rebuilt) {
			t.Fatalf("rollups kept in step (%d rows) differ from rebuilt ones (%d rows)", len(kept), len(rebuilt))
		}
	})
}

// Replicas that record the same visitors at once agree on who is unique:
// one scan per visitor, code and day, whatever replica recorded it; and
// their rollers, racing each other and the inserts, neither lose nor
// double a count.
func TestReplicasAgreeOnUniqueVisitors(t *testing.T) {
	for _, kind := range testdb.Kinds {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			u := testdb.URL(t, kind)
			var replicas []*models.Store
			for i := range 3 {
				db, err := models.Open(u)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() {
					if sqlDB, err := db.DB(); err == nil {
						sqlDB.Close()
					}
				})
				if i == 0 {
					if err := models.Migrate(db); err != nil {
						t.Fatal(err)
					}
				}
				replicas = append(replicas, models.NewStore(db, time.Now))
			}
			at := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
			var wg sync.WaitGroup
			errs := make(chan error, len(replicas))
			for r, s := range replicas {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for b := range 20 {
						var scans []models.Scan
						for i := range 80 {
							scans = append(scans, models.Scan{
								ID: fmt.Sprintf("scan_%d_%02d_%02d", r, b, i), WorkspaceID: "ws", CodeID: fmt.Sprintf("code_%d", i%2),
								Slug: "s", Timestamp: at.Add(time.Duration(b*80+i) * time.Millisecond), Source: "qr",
								DestinationURL: "https://example.com/", City: fmt.Sprintf("city_%d", (b+i)%3),
								VisitorKey: fmt.Sprintf("%032d", (r+b+i)%5),
							})
						}
						if err := insertScans(ctx, s, scans); err != nil {
							errs <- err
							return
						}
						// Every replica rolls as it records: rollers race
						// each other and the other replicas' inserts.
						if _, err := s.RollScans(ctx); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			s := replicas[0]
			for _, stage := range []string{"rolled in part", "rolled"} {
				if stage == "rolled" {
					rollAll(t, s)
				}
				for _, code := range []string{"code_0", "code_1"} {
					f := models.ScanFilter{From: at.Truncate(24 * time.Hour), To: at.Truncate(24*time.Hour).AddDate(0, 0, 1)}
					got, err := s.ScanStats(ctx, "ws", code, f)
					if err != nil {
						t.Fatal(err)
					}
					want, err := s.ScanStatsFromScans("ws", code, f)
					if err != nil {
						t.Fatal(err)
					}
					// 3 replicas × 20 batches × 40 scans of the code; 5 visitors.
					if got.Total != 2400 || got.Visitors != 5 || !reflect.DeepEqual(got, want) {
						t.Fatalf("%s, %s: %d scans, %d visitors, want 2400 and 5; rollups %+v\nscans %+v", stage, code, got.Total, got.Visitors, got, want)
					}
				}
			}
			kept := readRollups(t, s)
			if err := s.RebuildRollups(ctx); err != nil {
				t.Fatal(err)
			}
			if rebuilt := readRollups(t, s); !reflect.DeepEqual(kept, rebuilt) {
				t.Fatalf("rollups rolled by racing replicas (%d rows) differ from rebuilt ones (%d rows)", len(kept), len(rebuilt))
			}
		})
	}
}

// rollAll runs the roller until it has nothing left to fold in.
func rollAll(t *testing.T, s *models.Store) {
	t.Helper()
	for {
		n, err := s.RollScans(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

type rollupRow struct {
	CodeID, WorkspaceID, Grain, Period, Dim, K1, K2, K3, Name string
	Humans, Bots, HumanVisitors, BotVisitors                  int64
}

// readRollups returns every scan_rollups row, in key order.
func readRollups(t *testing.T, s *models.Store) []rollupRow {
	t.Helper()
	var rows []rollupRow
	if err := s.DB().Raw(`SELECT * FROM scan_rollups ORDER BY code_id, workspace_id, grain, period, dim, k1, k2, k3`).Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	return rows
}

// A roll that crashes before its commit leaves nothing behind, and rollers
// that run at once over the same range count it once: the rollups equal
// rebuilt ones. Scans recorded after a roll with older IDs and timestamps
// (as from the spool) are rolled too: the roller goes by insertion order.
func TestRollerIsIdempotent(t *testing.T) {
	for _, kind := range testdb.Kinds {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			u := testdb.URL(t, kind)
			var stores []*models.Store
			for i := range 4 {
				db, err := models.Open(u)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() {
					if sqlDB, err := db.DB(); err == nil {
						sqlDB.Close()
					}
				})
				if i == 0 {
					if err := models.Migrate(db); err != nil {
						t.Fatal(err)
					}
				}
				stores = append(stores, models.NewStore(db, time.Now))
			}
			s := stores[0]
			at := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
			insert := func(prefix string, at time.Time, n int) {
				var scans []models.Scan
				for i := range n {
					scans = append(scans, models.Scan{
						ID: fmt.Sprintf("%s_%04d", prefix, i), WorkspaceID: "ws", CodeID: fmt.Sprintf("code_%d", i%3),
						Slug: "s", Timestamp: at.Add(time.Duration(i) * time.Minute), Source: "qr",
						DestinationURL: "https://example.com/", Browser: fmt.Sprintf("b%d", i%4), IsBot: i%5 == 0,
						VisitorKey: fmt.Sprintf("%032d", i%7),
					})
				}
				if err := insertScans(ctx, s, scans); err != nil {
					t.Fatal(err)
				}
			}
			insert("scan_b", at, 300)
			rollAll(t, s)
			insert("scan_a", at.AddDate(0, -1, 0), 200) // lower IDs, a month earlier
			for range 2 {
				if err := s.RollScansThenCrash(ctx); err != nil {
					t.Fatal(err)
				}
			}
			var wg sync.WaitGroup
			errs := make(chan error, len(stores))
			for _, r := range stores {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range 5 {
						if _, err := r.RollScans(ctx); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			rollAll(t, s)
			for c := range 3 {
				f := models.ScanFilter{From: at.AddDate(0, -2, 0), To: at.AddDate(0, 0, 1)}
				code := fmt.Sprintf("code_%d", c)
				got, err := s.ScanStats(ctx, "ws", code, f)
				if err != nil {
					t.Fatal(err)
				}
				want, err := s.ScanStatsFromScans("ws", code, f)
				if err != nil {
					t.Fatal(err)
				}
				if got.Total == 0 || !reflect.DeepEqual(got, want) {
					t.Fatalf("%s:\nrollups %+v\nscans   %+v", code, got, want)
				}
			}
			kept := readRollups(t, s)
			if err := s.RebuildRollups(ctx); err != nil {
				t.Fatal(err)
			}
			if rebuilt := readRollups(t, s); !reflect.DeepEqual(kept, rebuilt) {
				t.Fatalf("rollups of crashed and racing rolls (%d rows) differ from rebuilt ones (%d rows)", len(kept), len(rebuilt))
			}
		})
	}
}
