package outbox_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/scanforge/scanforge/internal/outbox"
	"github.com/scanforge/scanforge/internal/procstat"
	"github.com/scanforge/scanforge/internal/testdb"
	"github.com/scanforge/scanforge/models"
)

// BenchmarkInsertScans measures the redirect path's durable write: one
// group-commit batch per op, of a code without endpoints (as in the
// harness's redirect scenario). Besides ns/scan it reports, for a local
// PostgreSQL, the CPU the server's own processes spent per scan (pg-µs/scan)
// — on a 2-core machine that CPU is taken from the redirects too.
//
//	go test -run '^$' -bench InsertScans -benchtime 2000x ./internal/outbox/
func BenchmarkInsertScans(b *testing.B) {
	for _, kind := range testdb.Kinds {
		for _, size := range []int{1, 8, 15, 16, 32, 128} {
			b.Run(fmt.Sprintf("%s/batch=%d", kind, size), func(b *testing.B) {
				w := outbox.NewWriter(models.NewStore(testdb.Open(b, kind), time.Now))
				// As the recorder calls it: under a deadline.
				ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
				defer cancel()
				at := time.Now().UTC()
				batch := make([]models.Scan, size)
				n := 0
				fill := func() {
					for i := range batch {
						batch[i] = fullScan(n, at.Add(time.Duration(n)*time.Microsecond))
						batch[i].ID = fmt.Sprintf("scan_%012d", n)
						n++
					}
				}
				fill()
				if _, err := w.InsertScans(ctx, batch); err != nil { // prepares the statements
					b.Fatal(err)
				}
				pgBefore := procstat.PostgresCPU()
				b.ResetTimer()
				for range b.N {
					fill()
					if _, err := w.InsertScans(ctx, batch); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				scans := float64(b.N * size)
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/scans, "ns/scan")
				if kind == "postgres" {
					if used := procstat.PostgresCPU() - pgBefore; used > 0 {
						b.ReportMetric(float64(used.Microseconds())/scans, "pg-µs/scan")
					}
				}
			})
		}
	}
}
