package outbox

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

	"github.com/scanforge/scanforge/models"
)

// The scans table is the outbox: the redirect path inserts every scan and
// the dispatcher marks it once its deliveries have started. Both run for
// every scan, so they bypass gorm's reflection and SQL building: fixed SQL
// prepared once per connection.

// Writer writes the outbox: it inserts the scans, deciding which are
// pending, and reads back and marks those the dispatcher starts. Create
// one per store with NewWriter and share it: it holds the prepared
// statements.
type Writer struct {
	store *models.Store
	db    *gorm.DB

	init     sync.Mutex // guards prepared and the statements
	prepared bool
	sqlite   *sql.Conn // SQLite: the store's writing connection (models.Store.WriteConn)
	insert   *sql.Stmt // SQLite: one row (PostgreSQL: insertScansPostgres)
	takers   *sql.Stmt // SQLite: does an endpoint take scans of (workspace, code, bot)?
	visitor  *sql.Stmt // SQLite: add a visitor of a code and day, unless there
	lastSeq  *sql.Stmt // SQLite: the highest roll_seq given so far
	dispatch *sql.Stmt // mark a list of scan IDs dispatched
	// SQLite's transaction statements, prepared: database/sql's Tx would
	// have SQLite parse BEGIN and COMMIT again for every batch.
	begin, commit, rollback *sql.Stmt
	// SQLite: the row being inserted and each scan's pending verdict,
	// reused (guarded by the writing connection's lock).
	values  []any
	pending []bool
	// PostgreSQL: *pgParams of past INSERTs, reused: a batch's parameters
	// were a large share of what the redirect path allocated.
	params sync.Pool
}

// NewWriter returns the outbox writer of store.
func NewWriter(store *models.Store) *Writer {
	return &Writer{store: store, db: store.DB()}
}

// lock returns the writer with its statements prepared, locked for the
// caller's use until it calls unlock: on SQLite the writing connection is
// used by one caller at a time. A failed preparation is tried again by the
// next caller.
func (w *Writer) lock(ctx context.Context) (unlock func(), err error) {
	conn, unlock, err := w.store.WriteConn(ctx)
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	w.init.Lock()
	defer w.init.Unlock()
	if !w.prepared {
		// The statements outlive this caller: its cancellation is not theirs.
		if err := w.prepare(context.WithoutCancel(ctx), conn); err != nil {
			unlock()
			return nil, fmt.Errorf("outbox: %w", err)
		}
		w.prepared = true
	}
	return unlock, nil
}

// prepare prepares the statements: on PostgreSQL on the pool (database/sql
// keeps a copy per connection), on SQLite on its writing connection conn.
func (w *Writer) prepare(ctx context.Context, conn *sql.Conn) (err error) {
	if conn == nil {
		sqlDB, err := w.db.DB()
		if err != nil {
			return err
		}
		// Scans go in by multi-row INSERTs that pgx prepares once per
		// connection itself (insertScansPostgres).
		if w.dispatch, err = sqlDB.PrepareContext(ctx, postgresMarkDispatched); err != nil {
			return fmt.Errorf("prepare mark dispatched: %w", err)
		}
		return nil
	}
	w.sqlite = conn
	for stmt, query := range map[**sql.Stmt]string{
		&w.insert: sqliteInsertScan, &w.dispatch: sqliteMarkDispatched, &w.takers: sqliteTakers,
		&w.visitor: sqliteInsertVisitor, &w.lastSeq: sqliteLastRollSeq,
		&w.begin: "BEGIN IMMEDIATE", &w.commit: "COMMIT", &w.rollback: "ROLLBACK",
	} {
		if *stmt, err = conn.PrepareContext(ctx, query); err != nil {
			return fmt.Errorf("prepare %q: %w", query, err)
		}
	}
	return nil
}

// scanColumns lists the scans table's columns in the order of scanValues.
// TestScanColumnsMatchModel keeps it in step with the Scan model.
var scanColumns = []string{
	"id", "workspace_id", "code_id", "slug", "code_name", `"timestamp"`, "source", "destination_url",
	"country", "country_code", "region", "city", "latitude", "longitude", "timezone",
	"device_type", "browser", "browser_version", "os", "os_version", "referrer", "user_agent",
	"is_bot", "bot_reason", "trace_parent", "visitor_key", "is_unique", "dispatched_at",
}

// scanValues appends sc's values to vals, in the order of scanColumns,
// with the is_unique and dispatched_at the writer decided.
func scanValues(vals []any, sc *models.Scan, isUnique bool, dispatchedAt *time.Time) []any {
	return append(vals,
		sc.ID, sc.WorkspaceID, sc.CodeID, sc.Slug, sc.CodeName, sc.Timestamp, sc.Source, sc.DestinationURL,
		sc.Country, sc.CountryCode, sc.Region, sc.City, sc.Latitude, sc.Longitude, sc.Timezone,
		sc.DeviceType, sc.Browser, sc.BrowserVersion, sc.OS, sc.OSVersion, sc.Referrer, sc.UserAgent,
		sc.IsBot, sc.BotReason, nullIfEmpty(sc.TraceParent), sc.VisitorKey, isUnique, dispatchedAt,
	)
}

// nullIfEmpty stores "" as NULL, for optional columns such as trace_parent.
func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

var (
	// On SQLite the writer numbers the scans itself (roll_seq, see
	// models/roller.go).
	sqliteInsertScan = "INSERT INTO scans (" + strings.Join(scanColumns, ", ") + ", roll_seq) VALUES (" +
		strings.Repeat("?, ", len(scanColumns)) + "?)"
	// The watermark too: the scans it covers may have been deleted since.
	sqliteLastRollSeq = "SELECT max(coalesce((" + models.LastRollSeq + "), 0), (SELECT seq FROM rollup_watermark))"
	// Asked apart from the insert: SQLite runs an INSERT with a subquery or
	// RETURNING under a statement journal, which costs more than the query.
	sqliteTakers         = "SELECT " + models.EndpointTakesScan("?1", "?2", "?3")
	sqliteInsertVisitor  = "INSERT INTO scan_visitors (code_id, day, visitor_key) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"
	sqliteMarkDispatched = "UPDATE scans SET dispatched_at = ? WHERE id IN (SELECT value FROM json_each(?))"

	postgresMarkDispatched = "UPDATE scans SET dispatched_at = $1 WHERE id = ANY($2::text[])"
)

// InsertScans stores scans atomically: the group commit of the redirect
// path. It returns the scans it made pending in the outbox, those some
// endpoint takes, in the order of scans and completed (IsUnique); the
// others are stored dispatched already, so a scan of a code without
// webhooks costs the outbox nothing. scans itself is left as it is. The
// check runs after every scan of the batch has arrived, so an endpoint
// committed before a scan is never missed (on SQLite check and insert even
// share the write lock).
func (w *Writer) InsertScans(ctx context.Context, scans []models.Scan) (pending []models.Scan, err error) {
	if len(scans) == 0 {
		return nil, nil
	}
	unlock, err := w.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	now := w.store.Now()
	if w.sqlite != nil {
		pending, err = w.insertScanRows(ctx, scans, now)
	} else {
		err = withPgx(ctx, w.db, func(conn *pgx.Conn) error {
			pending, err = insertScansPostgres(ctx, conn, &w.params, scans, now)
			return err
		})
	}
	if err != nil {
		return nil, fmt.Errorf("insert %d scans: %w", len(scans), err)
	}
	return pending, nil
}

// byVisitor returns the scans in the order their visitors go into
// scan_visitors on PostgreSQL, by (code, day, visitor key), and for each
// whether it is the first of the batch of its visitor, code and day: only
// those may be their visitor's first of the day, which the database
// decides. A scan without a visitor key never is. In that order every
// group commit waits for another's uncommitted visitors in one direction
// only, so two replicas that see the same visitors at once cannot
// deadlock, however many statements their batches take.
func byVisitor(scans []models.Scan) (rows []*models.Scan, first []bool) {
	type visit struct{ code, day, key string }
	visits := make(map[*models.Scan]visit, len(scans))
	rows = make([]*models.Scan, len(scans))
	for i := range scans {
		sc := &scans[i]
		rows[i] = sc
		visits[sc] = visit{sc.CodeID, sc.Timestamp.UTC().Format(time.DateOnly), sc.VisitorKey}
	}
	slices.SortStableFunc(rows, func(a, b *models.Scan) int {
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
// workspaceID with the bot verdict isBot (models.Store.SubscribedEndpoints):
// with PendingScans and MarkDispatched, what the dispatcher asks.
func (w *Writer) SubscribedEndpoints(ctx context.Context, workspaceID, codeID string, isBot bool) ([]models.Endpoint, error) {
	return w.store.SubscribedEndpoints(ctx, workspaceID, codeID, isBot)
}

// PendingScans returns up to limit scans recorded before before whose
// deliveries have not been started yet, oldest first.
func (w *Writer) PendingScans(ctx context.Context, before time.Time, limit int) ([]models.Scan, error) {
	db, unlock, err := w.store.WriteDB(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var out []models.Scan
	err = db.Where(`dispatched_at IS NULL AND "timestamp" < ?`, before.UTC()).
		Order("id").Limit(limit).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("pending scans: %w", err)
	}
	return out, nil
}

// MarkDispatched records that the deliveries of scanIDs have been started.
func (w *Writer) MarkDispatched(ctx context.Context, scanIDs []string) error {
	if len(scanIDs) == 0 {
		return nil
	}
	unlock, err := w.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	var ids any = scanIDs
	if w.sqlite != nil {
		list, err := json.Marshal(scanIDs)
		if err != nil {
			return fmt.Errorf("mark %d scans dispatched: %w", len(scanIDs), err)
		}
		ids = string(list)
	}
	if _, err := w.dispatch.ExecContext(ctx, w.store.Now(), ids); err != nil {
		return fmt.Errorf("mark %d scans dispatched: %w", len(scanIDs), err)
	}
	return nil
}
