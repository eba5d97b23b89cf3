package models

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
	"github.com/pressly/goose/v3/lock"
	"gorm.io/gorm"
)

// migrationFiles holds the versioned schema, one directory per dialect:
// migrations/<dialect>/NNNNN_what.sql, one file per schema change.
//
//go:embed migrations
var migrationFiles embed.FS

// versionTable records the applied migrations (goose's own table).
const versionTable = "goose_db_version"

// ErrSchemaOutdated says the database's schema is older than this binary's.
var ErrSchemaOutdated = errors.New("database schema is outdated")

// schemaDialect is what the migrations need to know about one database kind.
type schemaDialect struct {
	dir   string // under migrations/
	goose database.Dialect
	// tableExists answers with one boolean-ish row for the table named by
	// its one argument, in the schema the connection works in.
	tableExists string
	// columns lists the column names of the table named by its one argument.
	columns string
	// indexWidth counts the columns of the index named by its one argument
	// (0 when there is none).
	indexWidth string
}

var (
	postgresSchema = schemaDialect{
		dir:         "postgres",
		goose:       database.DialectPostgres,
		tableExists: `SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = $1`,
		columns:     `SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1`,
		indexWidth: `SELECT coalesce(max(i.indnatts), 0) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
			WHERE c.relname = $1 AND c.relnamespace = current_schema()::regnamespace`,
	}
	sqliteSchema = schemaDialect{
		dir:         "sqlite",
		goose:       database.DialectSQLite3,
		tableExists: `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`,
		columns:     `SELECT name FROM pragma_table_info(?)`,
		indexWidth:  `SELECT count(*) FROM pragma_index_info(?)`,
	}
)

func dialectOf(db *gorm.DB) (schemaDialect, error) {
	switch name := db.Dialector.Name(); name {
	case "postgres":
		return postgresSchema, nil
	case "sqlite":
		return sqliteSchema, nil
	default:
		return schemaDialect{}, fmt.Errorf("migrate: unsupported database %q", name)
	}
}

// Migrate brings db's schema to the newest version. It is idempotent.
func Migrate(db *gorm.DB) error {
	_, err := MigrateSchema(context.Background(), db)
	return err
}

// MigrateSchema brings db's schema to the newest version and returns that
// version. A database made by the releases before versioned migrations
// (GORM AutoMigrate) is adopted first: see adoptAutoMigrated. On PostgreSQL
// concurrent callers (replicas running migrate together) take turns on an
// advisory lock.
func MigrateSchema(ctx context.Context, db *gorm.DB) (int64, error) {
	return migrateSchema(ctx, db, migrationFiles)
}

func migrateSchema(ctx context.Context, db *gorm.DB, files fs.FS) (int64, error) {
	d, err := dialectOf(db)
	if err != nil {
		return 0, err
	}
	sqlDB, err := db.DB()
	if err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	var locker lock.SessionLocker
	if d == postgresSchema {
		if locker, err = postgresLocker(ctx, sqlDB); err != nil {
			return 0, err
		}
	}
	if err := adoptAutoMigrated(ctx, sqlDB, d, locker); err != nil {
		return 0, err
	}
	provider, err := newProvider(sqlDB, d, files, locker)
	if err != nil {
		return 0, err
	}
	if _, err := provider.Up(ctx); err != nil {
		// SQLite has no session lock: a process that raced another one's
		// migration lost in its transaction, rolled back, and finds the
		// migration applied on a second look.
		if d != sqliteSchema {
			return 0, fmt.Errorf("migrate: %w", err)
		}
		if _, retryErr := provider.Up(ctx); retryErr != nil {
			return 0, fmt.Errorf("migrate: %w", err)
		}
	}
	version, err := provider.GetDBVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrate: read version: %w", err)
	}
	return version, nil
}

// postgresLocker returns an advisory-lock locker whose ID names the schema
// being migrated: replicas migrating one schema take turns, while different
// schemas of one database (as the tests use) do not wait for each other.
func postgresLocker(ctx context.Context, sqlDB *sql.DB) (lock.SessionLocker, error) {
	var schema string
	if err := sqlDB.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return nil, fmt.Errorf("migrate: current schema: %w", err)
	}
	h := fnv.New64a()
	h.Write([]byte("scanforge migrate " + schema))
	// Retry each second for up to five minutes while another replica migrates.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(int64(h.Sum64())), lock.WithLockTimeout(1, 300))
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return locker, nil
}

func newProvider(sqlDB *sql.DB, d schemaDialect, files fs.FS, locker lock.SessionLocker) (*goose.Provider, error) {
	dir, err := fs.Sub(files, "migrations/"+d.dir)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	store, err := database.NewStore(d.goose, versionTable)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	opts := []goose.ProviderOption{goose.WithStore(store)}
	if locker != nil {
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	provider, err := goose.NewProvider("", sqlDB, dir, opts...)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return provider, nil
}

// SchemaVersions returns the version of db's schema (0: no schema, or one
// made before versioned migrations) and the version this binary expects.
func SchemaVersions(ctx context.Context, db *gorm.DB) (current, want int64, err error) {
	return schemaVersions(ctx, db, migrationFiles)
}

func schemaVersions(ctx context.Context, db *gorm.DB, files fs.FS) (current, want int64, err error) {
	d, err := dialectOf(db)
	if err != nil {
		return 0, 0, err
	}
	want, err = latestVersion(files, d)
	if err != nil {
		return 0, 0, err
	}
	sqlDB, err := db.DB()
	if err != nil {
		return 0, want, fmt.Errorf("schema version: %w", err)
	}
	versioned, err := tableExists(ctx, sqlDB, d, versionTable)
	if err != nil || !versioned {
		return 0, want, err
	}
	store, err := database.NewStore(d.goose, versionTable)
	if err != nil {
		return 0, want, fmt.Errorf("schema version: %w", err)
	}
	current, err = store.GetLatestVersion(ctx, sqlDB)
	if errors.Is(err, database.ErrVersionNotFound) {
		return 0, want, nil
	}
	if err != nil {
		return 0, want, fmt.Errorf("schema version: %w", err)
	}
	return current, want, nil
}

// CheckSchema returns nil when db's schema is at (or past) the version this
// binary expects, and an error wrapping ErrSchemaOutdated that says to run
// `scanforge migrate` otherwise. A newer schema is accepted: during a rolling
// deploy the new release migrates while the old one still serves.
func CheckSchema(ctx context.Context, db *gorm.DB) error {
	return checkSchema(ctx, db, migrationFiles)
}

func checkSchema(ctx context.Context, db *gorm.DB, files fs.FS) error {
	current, want, err := schemaVersions(ctx, db, files)
	if err != nil {
		return err
	}
	if current >= want {
		return nil
	}
	if current == 0 {
		d, err := dialectOf(db)
		if err != nil {
			return err
		}
		sqlDB, err := db.DB()
		if err != nil {
			return fmt.Errorf("schema version: %w", err)
		}
		if legacy, err := tableExists(ctx, sqlDB, d, "scans"); err != nil {
			return err
		} else if legacy {
			return fmt.Errorf("%w: the schema predates versioned migrations, this binary needs version %d: run `scanforge migrate`", ErrSchemaOutdated, want)
		}
		return fmt.Errorf("%w: the database has no ScanForge schema yet: run `scanforge migrate` first", ErrSchemaOutdated)
	}
	return fmt.Errorf("%w: the schema is at version %d, this binary needs version %d: run `scanforge migrate`", ErrSchemaOutdated, current, want)
}

// latestVersion is the highest migration version embedded for d.
func latestVersion(files fs.FS, d schemaDialect) (int64, error) {
	names, err := fs.Glob(files, "migrations/"+d.dir+"/*.sql")
	if err != nil {
		return 0, fmt.Errorf("migrations: %w", err)
	}
	var latest int64
	for _, name := range names {
		v, err := goose.NumericComponent(name)
		if err != nil {
			return 0, fmt.Errorf("migrations: %s: %w", name, err)
		}
		latest = max(latest, v)
	}
	return latest, nil
}

func tableExists(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, d schemaDialect, table string) (bool, error) {
	var n int
	if err := q.QueryRowContext(ctx, d.tableExists, table).Scan(&n); err != nil {
		return false, fmt.Errorf("look for table %s: %w", table, err)
	}
	return n > 0, nil
}
