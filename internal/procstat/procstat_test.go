package procstat

import (
	"database/sql"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"

	"github.com/scanforge/scanforge/internal/testdb"
)

func TestCPUOfThisProcessGrows(t *testing.T) {
	before := CPU(os.Getpid()) // may still be 0 ticks this early
	// Burn CPU until the count moves (it is in clock ticks, 10 ms).
	for deadline := time.Now().Add(10 * time.Second); CPU(os.Getpid()) == before; {
		if time.Now().After(deadline) {
			t.Fatal("CPU did not grow in 10 s of a busy loop")
		}
	}
	if got := CPU(-1); got != 0 {
		t.Fatalf("CPU of no process = %v", got)
	}
}

func TestStatNameWithSpacesAndParentheses(t *testing.T) {
	name, fields, err := parse("1234 (post gres) x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16")
	if err != nil || name != "post gres) x" || fields[utime] != "11" || fields[cstime] != "14" {
		t.Fatalf("parse = %q %v %v", name, fields, err)
	}
}

// A query that keeps the local PostgreSQL server busy shows in its CPU.
func TestPostgresCPUCountsTheServersWork(t *testing.T) {
	db, err := sql.Open("pgx", testdb.PostgresURL())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Ping(); err != nil {
		t.Fatalf("PostgreSQL (scripts/test starts it): %v", err)
	}
	before := PostgresCPU()
	var n int64
	if err := db.QueryRow("SELECT count(*) FROM generate_series(1, 5000000)").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if used := PostgresCPU() - before; used < 50*time.Millisecond {
		t.Fatalf("PostgreSQL counted %v for a query over 5 million rows", used)
	}
}
