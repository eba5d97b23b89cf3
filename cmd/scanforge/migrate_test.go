package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/scanforge/scanforge/internal/config"
	"github.com/scanforge/scanforge/internal/secretbox"
	"github.com/scanforge/scanforge/internal/testdb"
	"github.com/scanforge/scanforge/models"
)

// serve and worker refuse a database that `scanforge migrate` has not
// brought to this binary's schema version, and start on one it has; migrate
// says which version it reached.
func TestWorkerNeedsTheMigratedSchema(t *testing.T) {
	for _, kind := range testdb.Kinds {
		t.Run(kind, func(t *testing.T) {
			key, err := secretbox.NewKey()
			if err != nil {
				t.Fatal(err)
			}
			url := testdb.URL(t, kind)
			t.Setenv("DATABASE_URL", url)
			t.Setenv("SCANFORGE_ENCRYPTION_KEY", base64.StdEncoding.EncodeToString(key))
			t.Setenv("SCANFORGE_LOG_LEVEL", "error")

			if _, _, _, err := production(config.ModeWorker); err == nil || !strings.Contains(err.Error(), "run `scanforge migrate`") {
				t.Fatalf("worker on an empty database: %v; want it told to run scanforge migrate", err)
			}
			var out bytes.Buffer
			if err := runMigrate(context.Background(), &out); err != nil {
				t.Fatal(err)
			}
			db, err := models.Open(url)
			if err != nil {
				t.Fatal(err)
			}
			_, want, err := models.SchemaVersions(context.Background(), db)
			if err != nil {
				t.Fatal(err)
			}
			if sqlDB, err := db.DB(); err == nil {
				sqlDB.Close()
			}
			if got, wantOut := out.String(), fmt.Sprintf("schema is up to date (version %d)\n", want); got != wantOut {
				t.Errorf("migrate printed %q, want %q", got, wantOut)
			}
			_, _, store, err := production(config.ModeWorker)
			if err != nil {
				t.Fatalf("worker on the migrated database: %v", err)
			}
			if sqlDB, err := store.DB().DB(); err == nil {
				sqlDB.Close()
			}
		})
	}
}
