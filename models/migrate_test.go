package models_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"gorm.io/gorm"

	"github.com/scanforge/scanforge/internal/testdb"
	"github.com/scanforge/scanforge/models"
)

func autoMigrate(db *gorm.DB, endpoint, scan any) error {
	if err := db.AutoMigrate(&models.Workspace{}, &models.APIKey{}, &models.Code{}, endpoint,
		&models.EndpointCode{}, scan); err != nil {
		return err
	}
	for _, index := range []string{"idx_scans_dispatched_at", "idx_scans_workspace_id"} {
		if err := db.Exec("DROP INDEX IF EXISTS " + index).Error; err != nil {
			return err
		}
	}
	return nil
}

// releaseEndpoint is models.Endpoint as the last release before versioned
// migrations had it; columns added by later migrations are not in it.
type releaseEndpoint struct {
	ID                      string `gorm:"primaryKey;size:40"`
	WorkspaceID             string `gorm:"size:40;not null;index"`
	URL                     string `gorm:"size:2048;not null"`
	Description             string `gorm:"size:500"`
	Secret                  string `gorm:"size:200;not null"`
	Enabled                 bool   `gorm:"not null"`
	DisabledReason          string `gorm:"size:200"`
	AllCodes                bool   `gorm:"not null"`
	HumanOnly               bool   `gorm:"not null;default:false"`
	CreatedAt               time.Time
	UpdatedAt               time.Time `gorm:"autoUpdateTime:false"`
	PreviousSecret          string    `gorm:"size:200;not null;default:''"`
	PreviousSecretExpiresAt *time.Time
	SecretRotatedAt         *time.Time
}

func (releaseEndpoint) TableName() string { return "endpoints" }

// autoMigrateRelease is Migrate as the releases before versioned migrations
// had it: it makes the databases those releases left behind.
func autoMigrateRelease(db *gorm.DB) error {
	return autoMigrate(db, &releaseEndpoint{}, &releaseScan{})
}

// releaseScan is the Scan model of the last release before versioned
// migrations, with the client IP the scans table kept then.
type releaseScan struct {
	ID             string     `gorm:"primaryKey;size:40;index:idx_scans_code_time,priority:3;index:idx_scans_pending,where:dispatched_at IS NULL"`
	WorkspaceID    string     `gorm:"size:40;not null"`
	CodeID         string     `gorm:"size:40;not null;index:idx_scans_code_time,priority:1"`
	Slug           string     `gorm:"size:64;not null"`
	CodeName       string     `gorm:"size:200"`
	Timestamp      time.Time  `gorm:"not null;index:idx_scans_code_time,priority:2"`
	Source         string     `gorm:"size:8;not null"`
	DestinationURL string     `gorm:"size:2048;not null"`
	IP             string     `gorm:"size:45"`
	Country        string     `gorm:"size:100"`
	CountryCode    string     `gorm:"size:2"`
	Region         string     `gorm:"size:100"`
	City           string     `gorm:"size:100"`
	Latitude       *float64   ``
	Longitude      *float64   ``
	Timezone       string     `gorm:"size:64"`
	DeviceType     string     `gorm:"size:16"`
	Browser        string     `gorm:"size:64"`
	BrowserVersion string     `gorm:"size:64"`
	OS             string     `gorm:"size:64"`
	OSVersion      string     `gorm:"size:64"`
	Referrer       string     `gorm:"size:2048"`
	UserAgent      string     `gorm:"size:1024"`
	IsBot          bool       `gorm:"not null"`
	BotReason      string     `gorm:"size:32"`
	DispatchedAt   *time.Time ``
}

func (releaseScan) TableName() string { return "scans" }

// openEmpty opens a fresh database of kind without any schema.
func openEmpty(t *testing.T, kind string) (*gorm.DB, string) {
	t.Helper()
	u := testdb.URL(t, kind)
	return openURL(t, u), u
}

func openURL(t *testing.T, u string) *gorm.DB {
	t.Helper()
	db, err := models.Open(u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
	})
	return db
}

// describeSchema lists the app's tables as lines, one per column, constraint
// and index, each with everything the database says of it (type, length,
// nullability, default, position; index columns, uniqueness, predicate).
// goose's version table is left out.
func describeSchema(t *testing.T, db *gorm.DB) []string {
	t.Helper()
	var lines []string
	add := func(query string, args ...any) {
		rows, err := db.Raw(query, args...).Rows()
		if err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			parts := make([]string, len(cols))
			for i, v := range vals {
				if b, ok := v.([]byte); ok {
					v = string(b)
				}
				parts[i] = fmt.Sprintf("%s=%v", cols[i], v)
			}
			lines = append(lines, strings.Join(parts, " "))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	switch db.Dialector.Name() {
	case "postgres":
		var schema string
		if err := db.Raw(`SELECT current_schema()`).Scan(&schema).Error; err != nil {
			t.Fatal(err)
		}
		add(`SELECT 'column' AS kind, table_name, ordinal_position, column_name, data_type,
				coalesce(character_maximum_length, 0) AS length, coalesce(numeric_precision, 0) AS precision,
				is_nullable, coalesce(column_default, '') AS default
			FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name <> 'goose_db_version'`)
		add(`SELECT 'constraint' AS kind, conrelid::regclass::text AS table_name, conname, contype,
				pg_get_constraintdef(oid) AS def
			FROM pg_constraint
			WHERE connamespace = current_schema()::regnamespace AND conrelid::regclass::text <> 'goose_db_version'`)
		add(`SELECT 'index' AS kind, tablename, indexname, replace(indexdef, ?, '') AS def
			FROM pg_indexes
			WHERE schemaname = current_schema() AND tablename <> 'goose_db_version'`, schema+".")
	case "sqlite":
		var tables []string
		if err := db.Raw(`SELECT name FROM sqlite_master WHERE type = 'table'
				AND name NOT IN ('goose_db_version', 'sqlite_sequence')`).Scan(&tables).Error; err != nil {
			t.Fatal(err)
		}
		for _, table := range tables {
			add(`SELECT 'column' AS kind, ? AS table_name, cid, name, type, "notnull", dflt_value, pk
				FROM pragma_table_info(?)`, table, table)
			var indexes []struct {
				Name    string
				Unique  int
				Origin  string
				Partial int
			}
			if err := db.Raw(`SELECT name, "unique", origin, partial FROM pragma_index_list(?)`, table).
				Scan(&indexes).Error; err != nil {
				t.Fatal(err)
			}
			for _, ix := range indexes {
				var columns []string
				if err := db.Raw(`SELECT coalesce(name, '') FROM pragma_index_info(?) ORDER BY seqno`, ix.Name).
					Scan(&columns).Error; err != nil {
					t.Fatal(err)
				}
				var sql string
				db.Raw(`SELECT coalesce(sql, '') FROM sqlite_master WHERE type = 'index' AND name = ?`, ix.Name).Scan(&sql)
				where := ""
				if i := strings.Index(strings.ToUpper(sql), " WHERE "); i >= 0 {
					where = strings.Join(strings.Fields(sql[i+len(" WHERE "):]), " ")
				}
				lines = append(lines, fmt.Sprintf("kind=index table_name=%s name=%s unique=%d origin=%s partial=%d columns=%v where=%q",
					table, ix.Name, ix.Unique, ix.Origin, ix.Partial, columns, where))
			}
		}
	default:
		t.Fatalf("unknown dialect %s", db.Dialector.Name())
	}
	slices.Sort(lines)
	return lines
}

// sameSchema fails t with every line the two schemas do not share.
func sameSchema(t *testing.T, wantName string, want []string, gotName string, got []string) {
	t.Helper()
	if len(want) == 0 {
		t.Fatalf("%s: no schema described", wantName)
	}
	for _, l := range want {
		if !slices.Contains(got, l) {
			t.Errorf("only in %s: %s", wantName, l)
		}
	}
	for _, l := range got {
		if !slices.Contains(want, l) {
			t.Errorf("only in %s: %s", gotName, l)
		}
	}
}

// Migration 1 makes, column by column and index by index, the schema the
// last release's GORM models described (what AutoMigrate made before).
func TestMigrationsMakeTheAutoMigrateSchema(t *testing.T) {
	for _, kind := range testdb.Kinds {
		t.Run(kind, func(t *testing.T) {
			auto, _ := openEmpty(t, kind)
			if err := autoMigrateRelease(auto); err != nil {
				t.Fatal(err)
			}
			migrated, _ := openEmpty(t, kind)
			if _, err := models.MigrateSchemaFS(context.Background(), migrated, migrationsUpTo(t, 1)); err != nil {
				t.Fatal(err)
			}
			want := describeSchema(t, auto)
			got := describeSchema(t, migrated)
			sameSchema(t, "AutoMigrate", want, "migrations", got)
			if !slices.ContainsFunc(got, func(l string) bool { return strings.Contains(l, "idx_scans_pending") }) {
				t.Error("idx_scans_pending missing")
			}
		})
	}
}

func TestMigrationsHaveTheSameVersionsOnEveryDialect(t *testing.T) {
	versions := map[string][]string{}
	for _, dir := range []string{"postgres", "sqlite"} {
		names, err := fs.Glob(models.MigrationFiles, "migrations/"+dir+"/*.sql")
		if err != nil || len(names) == 0 {
			t.Fatalf("%s: %v %v", dir, names, err)
		}
		for _, n := range names {
			versions[dir] = append(versions[dir], strings.TrimPrefix(n, "migrations/"+dir+"/"))
		}
	}
	if !slices.Equal(versions["postgres"], versions["sqlite"]) {
		t.Errorf("postgres migrations %v, sqlite migrations %v: each schema change needs both", versions["postgres"], versions["sqlite"])
	}
}

// A database made by the last release's AutoMigrate (with data in it) is
// adopted at version 1 and ends with the schema a fresh database gets,
// its rows intact; serve refuses it until then.
func TestMigrateUpgradesAnAutoMigratedDatabase(t *testing.T) {
	for _, kind := range testdb.Kinds {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			db, _ := openEmpty(t, kind)
			if err := autoMigrateRelease(db); err != nil {
				t.Fatal(err)
			}
			// Indexes of releases before it: two its Migrate dropped, and the
			// analytics index before it gained id (AutoMigrate kept it so).
			for _, stmt := range []string{
				`CREATE INDEX idx_scans_dispatched_at ON scans (dispatched_at)`,
				`CREATE INDEX idx_scans_workspace_id ON scans (workspace_id)`,
				`DROP INDEX idx_scans_code_time`,
				`CREATE INDEX idx_scans_code_time ON scans (code_id, "timestamp")`,
			} {
				if err := db.Exec(stmt).Error; err != nil {
					t.Fatal(err)
				}
			}
			old := models.NewStore(db, time.Now)
			ws, err := old.CreateWorkspace(ctx, "acme")
			if err != nil {
				t.Fatal(err)
			}
			code := models.Code{WorkspaceID: ws.ID, Slug: "spring", DestinationURL: "https://example.com/", Active: true}
			if err := old.CreateCode(ctx, &code); err != nil {
				t.Fatal(err)
			}
			scan := models.Scan{ID: "scan_0001", Timestamp: time.Now().UTC(), City: "München", UserAgent: "Mozilla/5.0 (Linux; Android 14)"}
			scan.WorkspaceID, scan.CodeID = ws.ID, code.ID
			// Two scans of one visitor, one of another, each with its IP.
			at := scan.Timestamp
			for i, ip := range []string{"203.0.113.7", "203.0.113.7", "198.51.100.1"} {
				r := releaseScan{ID: fmt.Sprintf("%s_%d", scan.ID, i), WorkspaceID: ws.ID, CodeID: code.ID, Slug: "spring",
					Timestamp: at.Add(time.Duration(i) * time.Millisecond), Source: "qr", DestinationURL: "https://example.com/",
					IP: ip, City: scan.City, UserAgent: scan.UserAgent}
				if err := db.Create(&r).Error; err != nil {
					t.Fatal(err)
				}
			}
			scan.ID += "_0"

			err = models.CheckSchema(ctx, db)
			if !errors.Is(err, models.ErrSchemaOutdated) || !strings.Contains(err.Error(), "run `scanforge migrate`") {
				t.Fatalf("CheckSchema before migrating: %v; want ErrSchemaOutdated saying to run scanforge migrate", err)
			}
			version, err := models.MigrateSchema(ctx, db)
			if err != nil {
				t.Fatal(err)
			}
			current, want, err := models.SchemaVersions(ctx, db)
			if err != nil || version != want || current != want || want < 1 {
				t.Fatalf("after migrating: MigrateSchema %d, SchemaVersions %d want %d, %v", version, current, want, err)
			}
			if err := models.CheckSchema(ctx, db); err != nil {
				t.Fatalf("CheckSchema after migrating: %v", err)
			}
			sameSchema(t, "fresh", describeSchema(t, testdb.Open(t, kind)), "upgraded", describeSchema(t, db))

			s := models.NewStore(db, time.Now)
			if got, err := s.GetCodeBySlug(ctx, "spring"); err != nil || got.ID != code.ID {
				t.Fatalf("code after upgrade: %+v, %v", got, err)
			}
			if got, err := s.GetScan(ctx, ws.ID, scan.ID); err != nil || got.City != scan.City {
				t.Fatalf("scan after upgrade: %+v, %v", got, err)
			}
			// The IP is gone; each visitor's first scan of the day is unique,
			// and the rollups count the scans that were there.
			var uniques []string
			if err := db.Raw(`SELECT id FROM scans WHERE is_unique ORDER BY id`).Scan(&uniques).Error; err != nil {
				t.Fatal(err)
			}
			if want := []string{scan.ID, strings.TrimSuffix(scan.ID, "_0") + "_2"}; !slices.Equal(uniques, want) {
				t.Errorf("unique scans after upgrade: %v, want %v", uniques, want)
			}
			st, err := s.ScanStats(ctx, ws.ID, code.ID, models.ScanFilter{From: at.Truncate(24 * time.Hour), To: at.Truncate(24*time.Hour).AddDate(0, 0, 1)})
			if err != nil || st.Total != 3 || st.Visitors != 2 {
				t.Errorf("stats after upgrade: %d scans, %d visitors, %v; want 3 and 2", st.Total, st.Visitors, err)
			}
			if again, err := models.MigrateSchema(ctx, db); err != nil || again != version {
				t.Fatalf("second migrate: version %d, %v; want %d", again, err, version)
			}
		})
	}
}

// migrationsUpTo is the embedded migrations up to version last.
func migrationsUpTo(t *testing.T, last int) fs.FS {
	t.Helper()
	files := fstest.MapFS{}
	err := fs.WalkDir(models.MigrationFiles, "migrations", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		var version int
		if _, err := fmt.Sscanf(filepath.Base(path), "%05d_", &version); err != nil || version > last {
			return err
		}
		b, err := fs.ReadFile(models.MigrationFiles, path)
		files[path] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// withMigration2 is the embedded migrations plus a second one for each
// dialect, standing in for the next schema change.
func withMigration2(t *testing.T) fs.FS {
	t.Helper()
	files := fstest.MapFS{}
	err := fs.WalkDir(models.MigrationFiles, "migrations", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(models.MigrationFiles, path)
		files[path] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"postgres", "sqlite"} {
		files["migrations/"+dir+"/00900_codes_note.sql"] = &fstest.MapFile{Data: []byte(
			"-- +goose Up\nALTER TABLE codes ADD COLUMN note text;\n-- +goose Down\nALTER TABLE codes DROP COLUMN note;\n")}
	}
	return files
}

// After adopting an AutoMigrate database, later migrations run; a binary
// that expects a later version refuses the schema until they have.
func TestMigrateRunsLaterMigrationsAfterAdopting(t *testing.T) {
	for _, kind := range testdb.Kinds {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			db, _ := openEmpty(t, kind)
			if err := autoMigrateRelease(db); err != nil {
				t.Fatal(err)
			}
			next := withMigration2(t)
			current, err := models.MigrateSchema(ctx, db)
			if err != nil {
				t.Fatal(err)
			}
			err = models.CheckSchemaFS(ctx, db, next)
			if !errors.Is(err, models.ErrSchemaOutdated) || !strings.Contains(err.Error(), fmt.Sprintf("version %d, this binary needs version 900", current)) {
				t.Fatalf("CheckSchema of a newer binary on version %d: %v", current, err)
			}
			version, err := models.MigrateSchemaFS(ctx, db, next)
			if err != nil || version != 900 {
				t.Fatalf("migrate with a second migration: version %d, %v; want 900", version, err)
			}
			if !db.Migrator().HasColumn("codes", "note") {
				t.Error("migration 900 did not run")
			}
			if err := models.CheckSchemaFS(ctx, db, next); err != nil {
				t.Errorf("CheckSchema at the expected version: %v", err)
			}
			// The older binary accepts the newer schema (rolling deploys).
			if err := models.CheckSchema(ctx, db); err != nil {
				t.Errorf("CheckSchema of the older binary on version 900: %v", err)
			}
		})
	}
}

func TestCheckSchemaOnAnEmptyDatabase(t *testing.T) {
	for _, kind := range testdb.Kinds {
		t.Run(kind, func(t *testing.T) {
			db, _ := openEmpty(t, kind)
			err := models.CheckSchema(context.Background(), db)
			if !errors.Is(err, models.ErrSchemaOutdated) || !strings.Contains(err.Error(), "no ScanForge schema yet: run `scanforge migrate`") {
				t.Fatalf("CheckSchema on an empty database: %v", err)
			}
		})
	}
}

// An AutoMigrate database that lacks a column migration 1 has is not
// adopted: it is named, and nothing is recorded.
func TestMigrateRefusesAnIncompleteAutoMigratedDatabase(t *testing.T) {
	for _, kind := range testdb.Kinds {
		t.Run(kind, func(t *testing.T) {
			db, _ := openEmpty(t, kind)
			if err := autoMigrateRelease(db); err != nil {
				t.Fatal(err)
			}
			if err := db.Exec(`ALTER TABLE endpoints DROP COLUMN secret_rotated_at`).Error; err != nil {
				t.Fatal(err)
			}
			_, err := models.MigrateSchema(context.Background(), db)
			if err == nil || !strings.Contains(err.Error(), "endpoints.secret_rotated_at") {
				t.Fatalf("migrate: %v; want the missing column named", err)
			}
			if db.Migrator().HasTable("goose_db_version") {
				t.Error("a version table was recorded for a schema that was not adopted")
			}
		})
	}
}

// Replicas that run migrate at once (two connection pools on one
// database) both succeed, on a fresh database and on an AutoMigrate one.
func TestMigrateConcurrently(t *testing.T) {
	for _, kind := range testdb.Kinds {
		for _, start := range []string{"empty", "automigrated"} {
			t.Run(kind+"/"+start, func(t *testing.T) {
				first, u := openEmpty(t, kind)
				if start == "automigrated" {
					if err := autoMigrateRelease(first); err != nil {
						t.Fatal(err)
					}
				}
				dbs := []*gorm.DB{first, openURL(t, u), openURL(t, u)}
				var wg sync.WaitGroup
				versions := make([]int64, len(dbs))
				errs := make([]error, len(dbs))
				for i, db := range dbs {
					wg.Go(func() { versions[i], errs[i] = models.MigrateSchema(context.Background(), db) })
				}
				wg.Wait()
				for i := range dbs {
					if errs[i] != nil || versions[i] < 1 || versions[i] != versions[0] {
						t.Errorf("migrate %d: version %d, %v", i, versions[i], errs[i])
					}
				}
				var applied []int64
				if err := first.Raw(`SELECT version_id FROM goose_db_version ORDER BY id`).Scan(&applied).Error; err != nil {
					t.Fatal(err)
				}
				if len(applied) < 2 || applied[0] != 0 || applied[1] != 1 || len(slices.Compact(slices.Clone(applied))) != len(applied) {
					t.Errorf("versions recorded %v: each once, from 0", applied)
				}
			})
		}
	}
}
