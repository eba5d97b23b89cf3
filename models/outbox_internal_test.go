package models

import (
	"slices"
	"strings"
	"sync"
	"testing"

	"gorm.io/gorm/schema"
)

// scanColumns and scanValues are written out by hand for speed: they must
// name every column of the Scan model, in the same order.
func TestScanColumnsMatchModel(t *testing.T) {
	sch, err := schema.Parse(&Scan{}, &sync.Map{}, schema.NamingStrategy{})
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
	if n := len(scanValues(&Scan{})); n != len(scanColumns) {
		t.Fatalf("scanValues gives %d values for %d columns", n, len(scanColumns))
	}
}
