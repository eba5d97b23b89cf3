package models

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"
)

// The scans table is the outbox: the redirect path inserts every scan and
// the dispatcher marks it once its deliveries have started. Both run for
// every scan, so they bypass gorm's reflection and SQL building: fixed SQL
// prepared once per connection.

// scanColumns lists the scans table's columns in the order of scanValues.
// TestScanColumnsMatchModel keeps it in step with the Scan model.
var scanColumns = []string{
	"id", "workspace_id", "code_id", "slug", "code_name", `"timestamp"`, "source", "destination_url",
	"country", "country_code", "region", "city", "latitude", "longitude", "timezone",
	"device_type", "browser", "browser_version", "os", "os_version", "referrer", "user_agent",
	"is_bot", "bot_reason", "trace_parent", "visitor_key", "is_unique", "dispatched_at",
}

// scanValues appends sc's values to vals, in the order of scanColumns.
func scanValues(vals []any, sc *Scan) []any {
	return append(vals,
		sc.ID, sc.WorkspaceID, sc.CodeID, sc.Slug, sc.CodeName, sc.Timestamp, sc.Source, sc.DestinationURL,
		sc.Country, sc.CountryCode, sc.Region, sc.City, sc.Latitude, sc.Longitude, sc.Timezone,
		sc.DeviceType, sc.Browser, sc.BrowserVersion, sc.OS, sc.OSVersion, sc.Referrer, sc.UserAgent,
		sc.IsBot, sc.BotReason, nullIfEmpty(sc.TraceParent), sc.VisitorKey, sc.IsUnique, sc.DispatchedAt,
	)
}

// nullIfEmpty stores "" as NULL, for optional columns such as trace_parent.
func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// outboxStatements are the outbox's prepared statements.
//
// On PostgreSQL they are prepared on the pool (database/sql keeps a copy
// per connection). On SQLite all outbox writes go through one connection of
// their own, one at a time: SQLite has one writer anyway, and a connection
// throws its page cache away whenever another connection has written, so
// a single writing connection keeps the pages the next insert needs.
type outboxStatements struct {
	init     sync.Mutex // guards prepared
	prepared bool
	sqlite   *sql.Conn  // SQLite's writing connection
	mu       sync.Mutex // serialises the use of sqlite
	insert   *sql.Stmt  // SQLite: one row (PostgreSQL: insertScansPostgres)
	values   []any      // SQLite: the row being inserted, reused (guarded by mu)
	takers   *sql.Stmt  // SQLite: does an endpoint take scans of (workspace, code, bot)?
	visitor  *sql.Stmt  // SQLite: add a visitor of a code and day, unless there
	lastSeq  *sql.Stmt  // SQLite: the highest roll_seq given so far
	dispatch *sql.Stmt  // mark a list of scan IDs dispatched
	// SQLite's transaction statements, prepared: database/sql's Tx would
	// have SQLite parse BEGIN and COMMIT again for every batch.
	begin, commit, rollback *sql.Stmt
	// PostgreSQL: *pgParams of past INSERTs, reused: a batch's parameters
	// were a large share of what the redirect path allocated.
	params sync.Pool
}

// outbox returns the prepared statements, locked for the caller's use until
// it calls the returned unlock. A failed preparation is tried again by the
// next caller.
func (s *Store) outbox(ctx context.Context) (st *outboxStatements, unlock func(), err error) {
	st = s.stmts
	st.init.Lock()
	if !st.prepared {
		// The statements outlive this caller: its cancellation is not theirs.
		if err := st.prepare(context.WithoutCancel(ctx), s.db); err != nil {
			st.init.Unlock()
			return nil, nil, fmt.Errorf("outbox: %w", err)
		}
		st.prepared = true
	}
	st.init.Unlock()
	if st.sqlite == nil {
		return st, func() {}, nil
	}
	st.mu.Lock()
	return st, st.mu.Unlock, nil
}

func (st *outboxStatements) prepare(ctx context.Context, db *gorm.DB) (err error) {
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	if db.Name() == "postgres" {
		// Scans go in by multi-row INSERTs that pgx prepares once per
		// connection itself (insertScansPostgres).
		if st.dispatch, err = sqlDB.PrepareContext(ctx, postgresMarkDispatched); err != nil {
			return fmt.Errorf("prepare mark dispatched: %w", err)
		}
		return nil
	}
	if st.sqlite == nil {
		if st.sqlite, err = sqlDB.Conn(ctx); err != nil {
			return fmt.Errorf("connection: %w", err)
		}
		// A checkpoint in the middle of a group commit holds up every
		// redirect of the batch: this connection leaves them to
		// CheckpointWAL, off the redirect path.
		if _, err := st.sqlite.ExecContext(ctx, "PRAGMA wal_autocheckpoint=0"); err != nil {
			return fmt.Errorf("connection: %w", err)
		}
	}
	for stmt, query := range map[**sql.Stmt]string{
		&st.insert: sqliteInsertScan, &st.dispatch: sqliteMarkDispatched, &st.takers: sqliteTakers,
		&st.visitor: sqliteInsertVisitor, &st.lastSeq: sqliteLastRollSeq,
		&st.begin: "BEGIN IMMEDIATE", &st.commit: "COMMIT", &st.rollback: "ROLLBACK",
	} {
		if *stmt, err = st.sqlite.PrepareContext(ctx, query); err != nil {
			return fmt.Errorf("prepare %q: %w", query, err)
		}
	}
	return nil
}

// outboxDB returns gorm on the outbox's connection, locked for the caller
// until it calls unlock.
func (s *Store) outboxDB(ctx context.Context) (db *gorm.DB, unlock func(), err error) {
	st, unlock, err := s.outbox(ctx)
	if err != nil {
		return nil, nil, err
	}
	db = s.db.WithContext(ctx) // a new session: setting its pool changes no other
	if st.sqlite != nil {
		db.Statement.ConnPool = st.sqlite
	}
	return db, unlock, nil
}

// endpointTakes is the rule of who gets a scan, in one place: an endpoint
// of the scan's workspace (enabled or not: deliveries to a paused or
// disabled one park until it takes deliveries again), subscribed to all
// its codes or to the scan's, and — when the scan has a bot verdict — not
// for humans only; not an operational endpoint. Its placeholders are the scan's workspace, code and bot verdict. The insert
// asks whether any endpoint takes a scan (takerExists), the dispatcher
// which ones (SubscribedEndpoints).
const endpointTakes = `e.workspace_id = %[1]s AND NOT e.operational AND (NOT e.human_only OR NOT %[3]s)` +
	` AND (e.all_codes OR EXISTS (SELECT 1 FROM endpoint_codes c WHERE c.endpoint_id = e.id AND c.code_id = %[2]s))`

const takerExists = `EXISTS (SELECT 1 FROM endpoints e WHERE ` + endpointTakes + `)`

var (
	// On SQLite the writer numbers the scans itself (roll_seq, see roller.go).
	sqliteInsertScan = "INSERT INTO scans (" + strings.Join(scanColumns, ", ") + ", roll_seq) VALUES (" +
		strings.Repeat("?, ", len(scanColumns)) + "?)"
	// The watermark too: the scans it covers may have been deleted since.
	sqliteLastRollSeq = "SELECT max(coalesce((" + lastRollSeq + "), 0), (SELECT seq FROM rollup_watermark))"
	// Asked apart from the insert: SQLite runs an INSERT with a subquery or
	// RETURNING under a statement journal, which costs more than the query.
	sqliteTakers         = "SELECT " + fmt.Sprintf(takerExists, "?1", "?2", "?3")
	sqliteInsertVisitor  = "INSERT INTO scan_visitors (code_id, day, visitor_key) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"
	sqliteMarkDispatched = "UPDATE scans SET dispatched_at = ? WHERE id IN (SELECT value FROM json_each(?))"

	postgresMarkDispatched = "UPDATE scans SET dispatched_at = $1 WHERE id = ANY($2::text[])"
)

// InsertScans stores scans atomically: the group commit of the redirect
// path. It decides each scan's DispatchedAt: nil when some endpoint takes
// the scan (it is pending in the outbox), else now — a scan of a code
// without webhooks costs the outbox nothing. The check runs after every
// scan of the batch has arrived, so an endpoint committed before a scan is
// never missed (on SQLite check and insert even share the write lock).
func (s *Store) InsertScans(ctx context.Context, scans []Scan) error {
	if len(scans) == 0 {
		return nil
	}
	st, unlock, err := s.outbox(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	now := s.now()
	if st.sqlite != nil {
		err = insertScanRows(ctx, st, scans, now)
	} else {
		err = withPgx(ctx, s.db, func(conn *pgx.Conn) error { return insertScansPostgres(ctx, conn, &st.params, scans, now) })
	}
	if err != nil {
		return fmt.Errorf("insert %d scans: %w", len(scans), err)
	}
	return nil
}

// byVisitor returns the scans in the order their visitors go into
// scan_visitors on PostgreSQL, by (code, day, visitor key), and for each
// whether it is the first of the batch of its visitor, code and day: only
// those may be their visitor's first of the day, which the database
// decides. A scan without a visitor key never is. In that order every
// group commit waits for another's uncommitted visitors in one direction
// only, so two replicas that see the same visitors at once cannot
// deadlock, however many statements their batches take.
func byVisitor(scans []Scan) (rows []*Scan, first []bool) {
	type visit struct{ code, day, key string }
	visits := make(map[*Scan]visit, len(scans))
	rows = make([]*Scan, len(scans))
	for i := range scans {
		sc := &scans[i]
		rows[i] = sc
		visits[sc] = visit{sc.CodeID, sc.Timestamp.UTC().Format(time.DateOnly), sc.VisitorKey}
	}
	slices.SortStableFunc(rows, func(a, b *Scan) int {
		va, vb := visits[a], visits[b]
		return cmp.Or(cmp.Compare(va.code, vb.code), cmp.Compare(va.day, vb.day), cmp.Compare(va.key, vb.key))
	})
	first = make([]bool, len(rows))
	for i, sc := range rows {
		first[i] = sc.VisitorKey != "" && (i == 0 || visits[rows[i-1]] != visits[sc])
	}
	return rows, first
}

// SubscribedEndpoints returns the endpoints that take a scan of codeID in
// workspaceID with the bot verdict isBot (see endpointTakes), by ID.
func (s *Store) SubscribedEndpoints(ctx context.Context, workspaceID, codeID string, isBot bool) ([]Endpoint, error) {
	var out []Endpoint
	db, unlock, err := s.outboxDB(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	err = db.Table("endpoints AS e").Where(fmt.Sprintf(endpointTakes, "@workspace", "@code", "@bot"),
		sql.Named("workspace", workspaceID), sql.Named("code", codeID), sql.Named("bot", isBot)).
		Order("e.id").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("endpoints taking scans of code %q: %w", codeID, err)
	}
	withoutSecrets(out)
	return out, nil
}

// PendingScans returns up to limit scans recorded before before whose
// deliveries have not been started yet, oldest first.
func (s *Store) PendingScans(ctx context.Context, before time.Time, limit int) ([]Scan, error) {
	db, unlock, err := s.outboxDB(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var out []Scan
	err = db.Where(`dispatched_at IS NULL AND "timestamp" < ?`, before.UTC()).
		Order("id").Limit(limit).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("pending scans: %w", err)
	}
	return out, nil
}

// MarkDispatched records that the deliveries of scanIDs have been started.
func (s *Store) MarkDispatched(ctx context.Context, scanIDs []string) error {
	if len(scanIDs) == 0 {
		return nil
	}
	st, unlock, err := s.outbox(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	var ids any = scanIDs
	if st.sqlite != nil {
		list, err := json.Marshal(scanIDs)
		if err != nil {
			return fmt.Errorf("mark %d scans dispatched: %w", len(scanIDs), err)
		}
		ids = string(list)
	}
	if _, err := st.dispatch.ExecContext(ctx, s.now(), ids); err != nil {
		return fmt.Errorf("mark %d scans dispatched: %w", len(scanIDs), err)
	}
	return nil
}
