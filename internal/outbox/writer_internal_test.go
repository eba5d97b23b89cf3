package outbox

import (
	"slices"
	"strings"
	"sync"
	"testing"

	"gorm.io/gorm/schema"

	"github.com/scanforge/scanforge/models"
)

// scanColumns and scanValues are written out by hand for speed: they must
// name every column of the Scan model, in the same order.
func TestScanColumnsMatchModel(t *testing.T) {
	sch, err := schema.Parse(&models.Scan{}, &sync.Map{}, schema.NamingStrategy{})
	if err != nil {
		t.Fatal(err)
	}
	columns := make([]string, len(scanColumns))
	for i, c := range scanColumns {
		columns[i] = strings.Trim(c, `"`)
	}
	if !slices.Equal(columns, sch.DBNames) {
		t.Fatalf("scanColumns = %v\nmodel      = %v", columns, sch.DBNames)
	}
	if n := len(scanValues(nil, &models.Scan{}, false, nil)); n != len(scanColumns) {
		t.Fatalf("scanValues gives %d values for %d columns", n, len(scanColumns))
	}
}

// A batch goes in as few INSERTs of existing sizes: one up to 16 scans and
// for 24, 32, … 64; never more than two up to 64.
func TestPostgresRowsOfSplitsBatchesIntoFewStatements(t *testing.T) {
	for size := 1; size <= 300; size++ {
		var parts []int
		for rest := size; rest > 0; rest -= postgresRowsOf(rest) {
			n := postgresRowsOf(rest)
			if _, ok := postgresInserts[n]; !ok || n > rest {
				t.Fatalf("batch of %d: a part of %d rows with %d left", size, n, rest)
			}
			parts = append(parts, n)
		}
		single := size <= 16 || (size <= PostgresMaxRows && size%8 == 0)
		switch {
		case single && len(parts) != 1:
			t.Errorf("batch of %d: %v, want one INSERT", size, parts)
		case size <= PostgresMaxRows && len(parts) > 2:
			t.Errorf("batch of %d: %v, want at most two INSERTs", size, parts)
		}
	}
}

// The second checkpoint pass holds the writer back only for a short rest.
func TestCatchUpIsShortBoundsTheSecondPass(t *testing.T) {
	for _, c := range []struct {
		log, copied int
		want        bool
	}{
		{0, 0, true},                            // an empty log
		{-1, -1, true},                          // not in WAL mode: nothing to copy
		{20000, 20000 - maxCatchUpFrames, true}, // the most the writer waits for
		{20000, 20000 - maxCatchUpFrames - 1, false},
		{20000, 0, false}, // a reader kept the first pass from copying anything
	} {
		if got := catchUpIsShort(c.log, c.copied); got != c.want {
			t.Errorf("catchUpIsShort(%d, %d) = %v, want %v", c.log, c.copied, got, c.want)
		}
	}
}
