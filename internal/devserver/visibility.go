package devserver

import (
	"database/sql"
	"fmt"
	"strings"

	_ "modernc.org/sqlite" // the driver the server's SQLite plugin registers as "sqlite"
)

// keptVisibilityIndexes are the indexes of the SQLite visibility table that
// the delivery log, the Temporal UI's default views and the server's own
// system queries use. The schema indexes every predefined and pre-allocated
// search attribute column (58 indexes, each over an expression of
// close_time), and every visibility row written at start and at close
// updates all of them: on a delivery that writes two rows, that is most of
// the embedded server's persistence work. Queries on a column whose index is
// dropped still answer correctly, by scanning.
var keptVisibilityIndexes = map[string]bool{
	"default_idx":                    true,
	"by_execution_time":              true,
	"by_workflow_id":                 true,
	"by_workflow_type":               true,
	"by_status":                      true,
	"by_temporal_scheduled_by_id":    true,
	"by_temporal_namespace_division": true,
	// Custom Keyword and Int columns hold ScanForge's search attributes
	// (workflows.SearchAttributeTypes); the mapping to columns is the
	// namespace's, so every column of those types keeps its index.
	"by_keyword_01": true, "by_keyword_02": true, "by_keyword_03": true, "by_keyword_04": true, "by_keyword_05": true,
	"by_keyword_06": true, "by_keyword_07": true, "by_keyword_08": true, "by_keyword_09": true, "by_keyword_10": true,
	"by_int_01": true, "by_int_02": true, "by_int_03": true,
}

// trimVisibilityIndexes drops the visibility indexes no query of ours needs
// from the SQLite database at path. It is idempotent and runs before the
// server opens the file.
func trimVisibilityIndexes(path string) error {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'executions_visibility' AND sql IS NOT NULL`)
	if err != nil {
		return fmt.Errorf("list visibility indexes: %w", err)
	}
	var drop []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return fmt.Errorf("list visibility indexes: %w", err)
		}
		if !keptVisibilityIndexes[name] {
			drop = append(drop, name)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list visibility indexes: %w", err)
	}
	for _, name := range drop {
		if strings.ContainsAny(name, `"`) {
			continue
		}
		if _, err := db.Exec(`DROP INDEX IF EXISTS "` + name + `"`); err != nil {
			return fmt.Errorf("drop visibility index %s: %w", name, err)
		}
	}
	return nil
}
