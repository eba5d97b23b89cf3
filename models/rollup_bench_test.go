package models_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/scanforge/scanforge/internal/testdb"
	"github.com/scanforge/scanforge/models"
)

// BenchmarkRollScans measures one roll, the roller's work per second: it
// folds 1,000 scans (10 codes of one workspace, 200 cities, 8 browsers, a
// bot in ten) into the rollups that already hold the previous rolls'.
// ns/op is one roll; the scans are inserted with the timer stopped.
//
//	go test -run '^$' -bench 'RollScans' -benchtime 50x ./models/
func BenchmarkRollScans(b *testing.B) {
	for _, kind := range testdb.Kinds {
		b.Run(kind, func(b *testing.B) {
			s := models.NewStore(testdb.Open(b, kind), time.Now)
			ctx := context.Background()
			at := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
			n := 0
			insert := func() {
				scans := make([]models.Scan, 1000)
				for i := range scans {
					sc := rollScan(n, at.Add(time.Duration(n)*time.Millisecond))
					sc.ID, sc.CodeID = fmt.Sprintf("scan_%012d", n), fmt.Sprintf("code_%d", n%10)
					sc.City, sc.Region, sc.Browser = fmt.Sprintf("City %d", n*7%200), fmt.Sprintf("Region %d", n*7%200/10), fmt.Sprintf("Browser %d", n%8)
					sc.IsBot = n%10 == 0
					scans[i] = sc
					n++
				}
				if err := insertScans(ctx, s, scans); err != nil {
					b.Fatal(err)
				}
			}
			roll := func() {
				for {
					if k, err := s.RollScans(ctx); err != nil {
						b.Fatal(err)
					} else if k == 0 {
						return
					}
				}
			}
			insert()
			roll()
			for b.Loop() {
				b.StopTimer()
				insert()
				b.StartTimer()
				roll()
			}
		})
	}
}

// rollScan is a scan with the columns the rollups count set.
func rollScan(i int, at time.Time) models.Scan {
	return models.Scan{
		ID: fmt.Sprintf("scan_%04d", i), WorkspaceID: "ws_1", CodeID: "code_1", Slug: "spring",
		Timestamp: at, Source: "qr", DestinationURL: "https://example.com/landing",
		VisitorKey: fmt.Sprintf("%032x", i), Country: "Germany", CountryCode: "DE", Region: "Bavaria", City: "München",
		DeviceType: "mobile", Browser: "Chrome", OS: "Android", Referrer: "https://ref.example/",
		IsUnique: true,
	}
}
