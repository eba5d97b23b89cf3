package devserver

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/metrics"
	"go.temporal.io/server/common/persistence/sql"
	"go.temporal.io/server/common/persistence/sql/sqlplugin"
	sqliteschema "go.temporal.io/server/schema/sqlite"
)

// BenchmarkVisibilityRowsPerDelivery writes what one delivery writes to
// visibility (the started row, then the closed row) through the server's
// own SQLite plugin, with the schema's indexes and with the trimmed set.
func BenchmarkVisibilityRowsPerDelivery(b *testing.B) {
	for _, tc := range []struct {
		name string
		trim bool
	}{{"all-indexes", false}, {"trimmed", true}} {
		b.Run(tc.name, func(b *testing.B) {
			file := filepath.Join(b.TempDir(), "temporal.db")
			cfg := sqlConfig(file)
			if err := sqliteschema.SetupSchema(cfg); err != nil {
				b.Fatal(err)
			}
			if tc.trim {
				if err := trimVisibilityIndexes(file); err != nil {
					b.Fatal(err)
				}
			}
			db, err := sql.NewSQLDB(sqlplugin.DbKindVisibility, cfg, nil, log.NewNoopLogger(), metrics.NoopMetricsHandler)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			ctx := context.Background()
			ns := uuid.NewString()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				now := time.Now().UTC()
				row := sqlplugin.VisibilityRow{
					NamespaceID: ns, RunID: uuid.NewString(), WorkflowTypeName: "Delivery",
					WorkflowID: "delivery:" + uuid.NewString(), StartTime: now, ExecutionTime: now,
					Status: 1, Encoding: "Proto3", TaskQueue: "scanforge-deliveries",
					RootWorkflowID: "w", RootRunID: "r", Version: 1,
					SearchAttributes: &sqlplugin.VisibilitySearchAttributes{
						"Keyword01": "ws_1", "Keyword02": "code_1", "Keyword03": "ep_1", "Keyword04": "scan_1", "Keyword05": "pending",
						"TemporalNamespaceDivision": nil,
					},
				}
				if _, err := db.InsertIntoVisibility(ctx, &row); err != nil {
					b.Fatal(err)
				}
				closed := now.Add(time.Millisecond)
				n := int64(6)
				row.CloseTime, row.HistoryLength, row.HistorySizeBytes, row.ExecutionDuration, row.StateTransitionCount = &closed, &n, &n, &n, &n
				row.Status, row.Version = 2, 2
				if _, err := db.ReplaceIntoVisibility(ctx, &row); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
