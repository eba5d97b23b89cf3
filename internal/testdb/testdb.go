// Package testdb gives tests a fresh, migrated app database: a SQLite file in
// a temporary directory, or a private schema in the PostgreSQL database named
// by SCANFORGE_TEST_POSTGRES_URL (default: the local "test" database).
package testdb

import (
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"gorm.io/gorm"

	"github.com/scanforge/scanforge/internal/secretbox"
	"github.com/scanforge/scanforge/models"
)

// DefaultPostgresURL is the database the test suite uses unless told otherwise.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// Kinds are the databases every store-backed test runs against.
var Kinds = []string{"sqlite", "postgres"}

// PostgresURL returns the base URL of the test PostgreSQL database.
func PostgresURL() string {
	if u := os.Getenv("SCANFORGE_TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return DefaultPostgresURL
}

// URL returns a database URL of kind ("sqlite" or "postgres") for a fresh,
// empty database that is removed when t ends.
func URL(t testing.TB, kind string) string {
	t.Helper()
	switch kind {
	case "sqlite":
		return "sqlite:" + filepath.Join(t.TempDir(), "app.db")
	case "postgres":
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		schema := "t_" + hex.EncodeToString(b)
		admin, err := models.Open(PostgresURL())
		if err != nil {
			t.Fatalf("testdb: %v (is PostgreSQL running on 127.0.0.1:5432?)", err)
		}
		if err := admin.Exec("CREATE SCHEMA " + schema).Error; err != nil {
			t.Fatalf("testdb: create schema: %v", err)
		}
		t.Cleanup(func() {
			admin.Exec("DROP SCHEMA " + schema + " CASCADE")
			if sqlDB, err := admin.DB(); err == nil {
				sqlDB.Close()
			}
		})
		u, err := url.Parse(PostgresURL())
		if err != nil {
			t.Fatalf("testdb: bad SCANFORGE_TEST_POSTGRES_URL: %v", err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	default:
		t.Fatalf("testdb: unknown kind %q", kind)
		return ""
	}
}

// Open returns a migrated database of kind, closed when t ends.
func Open(t testing.TB, kind string) *gorm.DB {
	t.Helper()
	db, _ := OpenWithURL(t, kind)
	return db
}

// OpenWithURL is Open, and the database's URL for another connection to
// it (a second process's, a listening one).
func OpenWithURL(t testing.TB, kind string) (*gorm.DB, string) {
	t.Helper()
	dbURL := URL(t, kind)
	db, err := models.Open(dbURL)
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	t.Cleanup(func() {
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
	})
	if err := models.Migrate(db); err != nil {
		t.Fatalf("testdb: %v", err)
	}
	return db, dbURL
}

// SecretBox returns an encryption box with a fresh random key, for a test
// store's endpoint secrets.
func SecretBox(t testing.TB) *secretbox.Box {
	t.Helper()
	key, err := secretbox.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	box, err := secretbox.New(key)
	if err != nil {
		t.Fatal(err)
	}
	return box
}

// TemporalDatabases is where a Temporal server under test keeps its data:
// the test PostgreSQL's address and credentials, and the names of two
// databases that do not exist yet (the server's schema tool creates them).
type TemporalDatabases struct {
	Host, User, Password string
	Port                 int
	Names                [2]string // persistence, visibility
}

// NewTemporalDatabases names two fresh databases on the test PostgreSQL,
// dropped when t ends.
func NewTemporalDatabases(t testing.TB, prefix string) TemporalDatabases {
	t.Helper()
	u, err := url.Parse(PostgresURL())
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		port = 5432
	}
	pw, _ := u.User.Password()
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	name := prefix + "_" + hex.EncodeToString(b)
	d := TemporalDatabases{Host: u.Hostname(), Port: port, User: u.User.Username(), Password: pw,
		Names: [2]string{name, name + "_visibility"}}
	admin, err := models.Open(PostgresURL())
	if err != nil {
		t.Fatalf("test PostgreSQL: %v", err)
	}
	t.Cleanup(func() {
		for _, n := range d.Names {
			admin.Exec("DROP DATABASE IF EXISTS " + n + " WITH (FORCE)")
		}
		if sqlDB, err := admin.DB(); err == nil {
			sqlDB.Close()
		}
	})
	return d
}
