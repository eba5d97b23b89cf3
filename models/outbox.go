package models

import (
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
)

// The scans table is the outbox: the redirect path inserts every scan and
// the dispatcher marks it once its deliveries have started. Both run for
// every scan, so they bypass gorm's reflection and SQL building: fixed SQL
// prepared once per connection (BENCHMARKS.md has the profile).

// scanColumns lists the scans table's columns in the order of scanValues.
// TestScanColumnsMatchModel keeps it in step with the Scan model.
var scanColumns = []string{
	"id", "workspace_id", "code_id", "slug", "code_name", `"timestamp"`, "source", "destination_url",
	"ip", "country", "country_code", "region", "city", "latitude", "longitude", "timezone",
	"device_type", "browser", "browser_version", "os", "os_version", "referrer", "user_agent",
	"is_bot", "bot_reason", "dispatched_at",
}

// scanValues appends sc's values to vals, in the order of scanColumns.
func scanValues(vals []any, sc *Scan) []any {
	return append(vals,
		sc.ID, sc.WorkspaceID, sc.CodeID, sc.Slug, sc.CodeName, sc.Timestamp, sc.Source, sc.DestinationURL,
		sc.IP, sc.Country, sc.CountryCode, sc.Region, sc.City, sc.Latitude, sc.Longitude, sc.Timezone,
		sc.DeviceType, sc.Browser, sc.BrowserVersion, sc.OS, sc.OSVersion, sc.Referrer, sc.UserAgent,
		sc.IsBot, sc.BotReason, sc.DispatchedAt,
	)
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
	dispatch *sql.Stmt  // mark a list of scan IDs dispatched
	// SQLite's transaction statements, prepared: database/sql's Tx would
	// have SQLite parse BEGIN and COMMIT again for every batch.
	begin, commit, rollback *sql.Stmt
	// PostgreSQL: *pgParams of past INSERTs, reused. A batch of 64 scans
	// takes about 70 KB of parameters, which made a fifth of the bytes the
	// redirect path allocated (BENCHMARKS.md, fix 35).
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

// endpointTakes is the rule of who gets a scan, in one place: an enabled
// endpoint of the scan's workspace, subscribed to all its codes or to the
// scan's, and — when the scan has a bot verdict — not for humans only. Its
// placeholders are the scan's workspace, code and bot verdict. The insert
// asks whether any endpoint takes a scan (takerExists), the dispatcher
// which ones (SubscribedEndpoints).
const endpointTakes = `e.workspace_id = %[1]s AND e.enabled AND (NOT e.human_only OR NOT %[3]s)` +
	` AND (e.all_codes OR EXISTS (SELECT 1 FROM endpoint_codes c WHERE c.endpoint_id = e.id AND c.code_id = %[2]s))`

const takerExists = `EXISTS (SELECT 1 FROM endpoints e WHERE ` + endpointTakes + `)`

var (
	sqliteInsertScan = "INSERT INTO scans (" + strings.Join(scanColumns, ", ") + ") VALUES (" +
		strings.TrimSuffix(strings.Repeat("?, ", len(scanColumns)), ", ") + ")"
	// Asked apart from the insert: SQLite runs an INSERT with a subquery or
	// RETURNING under a statement journal, which costs more than the query.
	sqliteTakers         = "SELECT " + fmt.Sprintf(takerExists, "?1", "?2", "?3")
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

// markPending sets each scan's DispatchedAt on SQLite: nil when an enabled
// endpoint takes it, else now. A batch is mostly scans of a few codes, so
// takers is asked once per (workspace, code, bot verdict).
func markPending(ctx context.Context, takers *sql.Stmt, scans []Scan, now time.Time) error {
	type audience struct {
		workspace, code string
		bot             bool
	}
	taken := map[audience]bool{}
	for i := range scans {
		sc := &scans[i]
		a := audience{sc.WorkspaceID, sc.CodeID, sc.IsBot}
		pending, ok := taken[a]
		if !ok {
			if err := takers.QueryRowContext(ctx, a.workspace, a.code, a.bot).Scan(&pending); err != nil {
				return fmt.Errorf("endpoints taking scans of %s: %w", a.code, err)
			}
			taken[a] = pending
		}
		sc.DispatchedAt = nil
		if !pending {
			sc.DispatchedAt = &now
		}
	}
	return nil
}

// insertScanRows runs the one-row statement per scan in one transaction:
// SQLite runs in this process, so a statement costs no round trip, and
// modernc.org/sqlite binds parameters by a linear search, so many-row
// statements cost the square of their rows. The transaction holds SQLite's
// write lock from its start, so no endpoint is written between the check
// of a scan's takers and its insert.
func insertScanRows(ctx context.Context, st *outboxStatements, scans []Scan, now time.Time) (err error) {
	if _, err := st.begin.ExecContext(ctx); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			// With a new context: the transaction must end even if ctx has.
			if _, rbErr := st.rollback.ExecContext(context.WithoutCancel(ctx)); rbErr != nil {
				err = errors.Join(err, fmt.Errorf("rollback: %w", rbErr))
			}
		}
	}()
	if err := markPending(ctx, st.takers, scans, now); err != nil {
		return err
	}
	// The rows go in under a context without cancellation: given one that
	// can end, the driver starts a goroutine per statement to interrupt it,
	// one per scan (BENCHMARKS.md, fix 27). Inserting a row into a local
	// file takes microseconds; BEGIN and COMMIT still answer to ctx.
	rowCtx := context.WithoutCancel(ctx)
	for i := range scans {
		// One slice for every row: database/sql copies the values before
		// the statement runs.
		st.values = scanValues(st.values[:0], &scans[i])
		if _, err := st.insert.ExecContext(rowCtx, st.values...); err != nil {
			return err
		}
	}
	_, err = st.commit.ExecContext(ctx)
	return err
}

// withPgx runs f on a pooled connection's pgx.Conn, for what database/sql
// cannot express: a pipeline of statements.
func withPgx(ctx context.Context, db *gorm.DB, f func(*pgx.Conn) error) error {
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(driverConn any) error {
		pg, ok := driverConn.(interface{ Conn() *pgx.Conn })
		if !ok {
			return fmt.Errorf("driver connection %T is not pgx's", driverConn)
		}
		return f(pg.Conn())
	})
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

// CheckpointWAL copies SQLite's write-ahead log into the database file, in
// two passes, and returns whether the log was copied to its end. The
// outbox's writing connection never checkpoints by itself (see prepare), so
// whoever runs the redirect path calls this regularly; checkpointing a
// second's worth of writes at once also copies each busy page once instead
// of once per 1,000 frames. A no-op on PostgreSQL.
//
// The first pass runs beside the writer (a passive checkpoint blocks no
// one) and copies most of the log. The second holds the writer back while
// it copies the frames committed during the first, a few milliseconds'
// worth, so that the log is copied to its end and the writer's next
// transaction starts it over from its beginning. Without that second pass
// a steady stream of commits always left frames behind the checkpoint, so
// the log never started over: it grew by every scan until traffic paused,
// to hundreds of megabytes, and the first commit after the pause then
// truncated it to journal_size_limit, a single ftruncate of 30–100 ms that
// every redirect of its batch waited for (BENCHMARKS.md, fix 32). When a
// reader kept the first pass from copying most of the log, the second is
// left out: the writer is not held back for more than maxCatchUpFrames.
func (s *Store) CheckpointWAL(ctx context.Context) (complete bool, err error) {
	if s.db.Name() == "postgres" {
		return true, nil
	}
	// busy is 1 when the checkpoint could not start; log and copied count
	// frames: the log's, and how many of them are in the database now.
	var busy, log, copied int
	err = s.db.WithContext(ctx).Raw("PRAGMA wal_checkpoint(PASSIVE)").Row().Scan(&busy, &log, &copied)
	if err != nil {
		return false, fmt.Errorf("checkpoint: %w", err)
	}
	if !catchUpIsShort(log, copied) {
		// A reader kept the first pass from copying much: the writer is not
		// held back for all of it. The next call's first pass copies it.
		return false, nil
	}
	st, unlock, err := s.outbox(ctx)
	if err != nil {
		return false, err
	}
	defer unlock()
	err = st.sqlite.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &log, &copied)
	if err != nil {
		return false, fmt.Errorf("checkpoint: %w", err)
	}
	return busy == 0 && log == copied, nil
}

// maxCatchUpFrames bounds what CheckpointWAL's second pass copies while
// the writer waits: 2,048 frames, 8 MiB of 4-KiB pages. At 30,000 scans a
// second the first pass leaves about a quarter of that, and the second
// took up to 12.5 ms (BENCHMARKS.md, fix 32).
const maxCatchUpFrames = 2048

// catchUpIsShort tells whether the frames a first pass left (log −
// copied; −1 each when the database is not in WAL mode) are few enough
// to copy with the writer held back.
func catchUpIsShort(log, copied int) bool {
	return log-copied <= maxCatchUpFrames
}

// postgresMaxRows is the most scans one PostgreSQL INSERT takes.
const postgresMaxRows = 64

// postgresRowCounts are the sizes of INSERT that exist, largest first: a
// batch goes in as INSERTs of these sizes, each the largest that fits what
// is left, so a group commit of up to 16 scans, or of 24, 32, … 64, is one
// statement and any other up to 64 two. Until fix 26 only powers of two
// existed, and a batch of 15 took four statements (8+4+2+1), which cost
// PostgreSQL a quarter more CPU per scan than a batch of 16. Not every
// size from 1 to 64: each prepared statement holds its plans in the
// server on each connection that has run it. A backend that had run
// every size measured 12.8 MB with these sizes, 5.9 MB with the powers
// of two and 48.1 MB with every size (BENCHMARKS.md, fix 26).
var postgresRowCounts = []int{postgresMaxRows, 56, 48, 40, 32, 24, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1}

// postgresInsert is the prepared INSERT of a number of rows.
type postgresInsert struct {
	name string // prepared under this name on each connection
	sql  string
}

// postgresInserts maps a row count of postgresRowCounts to its INSERT,
// built the first time it is needed: the larger ones are tens of
// kilobytes of SQL.
var postgresInserts = func() map[int]func() postgresInsert {
	out := map[int]func() postgresInsert{}
	for _, n := range postgresRowCounts {
		out[n] = sync.OnceValue(func() postgresInsert {
			return postgresInsert{name: fmt.Sprintf("scanforge_insert_scans_%d", n), sql: postgresInsertOf(n)}
		})
	}
	return out
}()

// postgresRowsOf is the row count of the INSERT that takes the next scans
// of a batch with rest left: the largest of postgresRowCounts up to rest.
func postgresRowsOf(rest int) int {
	for _, n := range postgresRowCounts {
		if n <= rest {
			return n
		}
	}
	return 1
}

// postgresInsertOf returns the INSERT of n scans. Each row decides its
// dispatched_at by the endpoint check ($1 is now, for a scan no endpoint
// takes) and the statement returns the IDs of the pending scans only: on
// the busiest path, scans of codes without webhooks, it returns nothing.
// Parameters are cast to their column's type: in a VALUES list PostgreSQL
// would take them for text.
func postgresInsertOf(n int) string {
	cols := scanColumns[:len(scanColumns)-1] // all but dispatched_at
	names := make([]string, len(cols))
	for i := range cols {
		names[i] = fmt.Sprintf("c%d", i)
	}
	col := func(name string) string { return fmt.Sprintf("v.c%d", slices.Index(cols, name)) }
	rows := make([]string, n)
	for r := range rows {
		params := make([]string, len(cols))
		for c, col := range cols {
			typ, ok := postgresCasts[col]
			if !ok {
				typ = "text"
			}
			params[c] = fmt.Sprintf("$%d::%s", 2+r*len(cols)+c, typ)
		}
		rows[r] = "(" + strings.Join(params, ", ") + ")"
	}
	return "WITH inserted AS (INSERT INTO scans (" + strings.Join(scanColumns, ", ") + ") SELECT " + strings.Join(names, ", ") +
		", CASE WHEN " + fmt.Sprintf(takerExists, col("workspace_id"), col("code_id"), col("is_bot")) + " THEN NULL ELSE $1::timestamptz END" +
		" FROM (VALUES " + strings.Join(rows, ", ") + ") AS v(" + strings.Join(names, ", ") + ")" +
		" RETURNING id, dispatched_at) SELECT id FROM inserted WHERE dispatched_at IS NULL"
}

// postgresCasts are the scan columns that are not text. Coordinates are
// numeric on PostgreSQL (gorm's type for float64) and sent as the shortest
// decimal text that reads back as the same float64: sent as float8, each
// took PostgreSQL a formatted print to convert (float8_numeric calls
// snprintf), about a tenth of its CPU per inserted scan.
var postgresCasts = map[string]string{`"timestamp"`: "timestamptz", "latitude": "text::numeric", "longitude": "text::numeric", "is_bot": "boolean"}

// insertScansPostgres sends the batch as INSERTs of up to 64 rows in one
// pipeline: one round trip and one implicit transaction (all or nothing).
// Each row runs the endpoint check as it is inserted, after its scan
// arrived. It replaced a separate endpoint check plus a COPY, two round
// trips (BENCHMARKS.md, fix 19, has both measured).
//
// It talks to pgx's wire layer (pgconn) with parameters it encodes itself
// (pgParams.encode): pgx's own encoding, type by type into buffers it
// shrinks after each use, was a third of the bytes the redirect path
// allocated and a quarter of the insert's CPU (BENCHMARKS.md, fix 20).
func insertScansPostgres(ctx context.Context, conn *pgx.Conn, pool *sync.Pool, scans []Scan, now time.Time) error {
	type statement struct {
		sd     *pgconn.StatementDescription
		params *pgParams
	}
	var statements []statement
	defer func() {
		for _, st := range statements {
			pool.Put(st.params)
		}
	}()
	byID := make(map[string]*Scan, len(scans))
	for rest := scans; len(rest) > 0; rest = rest[postgresRowsOf(len(rest)):] {
		n := postgresRowsOf(len(rest))
		// Prepared once per connection, then a lookup.
		insert := postgresInserts[n]()
		sd, err := conn.Prepare(ctx, insert.name, insert.sql)
		if err != nil {
			return err
		}
		params, _ := pool.Get().(*pgParams)
		if params == nil {
			params = new(pgParams)
		}
		params.encode(now, rest[:n])
		statements = append(statements, statement{sd, params})
		for i := range rest[:n] {
			sc := &rest[i]
			sc.DispatchedAt = &now
			byID[sc.ID] = sc
		}
	}
	pipeline := conn.PgConn().StartPipeline(ctx)
	for _, st := range statements {
		// Encoded into the connection's buffer here: the parameters are
		// free for reuse once this returns.
		pipeline.SendQueryStatement(st.sd, st.params.params, postgresBinary, nil)
	}
	if err := pipeline.Sync(); err != nil {
		return err // the pipeline is closed
	}
	for range statements {
		if err := markPendingOf(pipeline, byID); err != nil {
			return errors.Join(err, pipeline.Close())
		}
	}
	return pipeline.Close()
}

// postgresBinary says that every parameter is in binary format.
var postgresBinary = []int16{1}

// markPendingOf reads one INSERT's result, the IDs of its pending scans,
// and clears their DispatchedAt.
func markPendingOf(pipeline *pgconn.Pipeline, byID map[string]*Scan) error {
	res, err := pipeline.GetResults()
	if err != nil {
		return err
	}
	rows, ok := res.(*pgconn.ResultReader)
	if !ok {
		return fmt.Errorf("insert: unexpected result %T", res)
	}
	for rows.NextRow() {
		if sc, ok := byID[string(rows.Values()[0])]; ok {
			sc.DispatchedAt = nil
		}
	}
	_, err = rows.Close()
	return err
}

// encode makes p the parameters of postgresInsertOf(len(scans)): now and
// the scans, in PostgreSQL's binary format, column by column in
// scanColumns' order (TestInsertScansRoundTripsEveryColumn, whose text
// columns all differ, catches any two swapped). It reuses p's buffers.
func (p *pgParams) encode(now time.Time, scans []Scan) {
	p.buf = p.buf[:0]
	clear(p.params) // no hold on arrays the buffer outgrew last time
	p.params = p.params[:0]
	p.time(now)
	for i := range scans {
		sc := &scans[i]
		p.text(sc.ID)
		p.text(sc.WorkspaceID)
		p.text(sc.CodeID)
		p.text(sc.Slug)
		p.text(sc.CodeName)
		p.time(sc.Timestamp)
		p.text(sc.Source)
		p.text(sc.DestinationURL)
		p.text(sc.IP)
		p.text(sc.Country)
		p.text(sc.CountryCode)
		p.text(sc.Region)
		p.text(sc.City)
		p.decimal(sc.Latitude)
		p.decimal(sc.Longitude)
		p.text(sc.Timezone)
		p.text(sc.DeviceType)
		p.text(sc.Browser)
		p.text(sc.BrowserVersion)
		p.text(sc.OS)
		p.text(sc.OSVersion)
		p.text(sc.Referrer)
		p.text(sc.UserAgent)
		p.bool(sc.IsBot)
		p.text(sc.BotReason)
	}
}

// pgParams builds parameters in PostgreSQL's binary format in one buffer:
// text as its bytes, timestamptz as microseconds since 2000, boolean as
// one byte, numeric (declared text::numeric) as decimal text; nil is NULL.
// When the buffer grows, the parameters already made keep the old array,
// which nothing writes again.
type pgParams struct {
	buf    []byte
	params [][]byte
}

// done makes the bytes appended since start the next parameter: never
// nil, even when empty, since an empty text is not NULL.
func (p *pgParams) done(start int) {
	p.params = append(p.params, p.buf[start:len(p.buf):len(p.buf)])
}

func (p *pgParams) text(s string) {
	start := len(p.buf)
	p.buf = append(p.buf, s...)
	p.done(start)
}

func (p *pgParams) time(t time.Time) {
	start := len(p.buf)
	p.buf = binary.BigEndian.AppendUint64(p.buf, uint64(postgresMicros(t)))
	p.done(start)
}

// decimal writes f as text for a numeric column: NULL when f is nil or not
// a finite number (an unknown location).
func (p *pgParams) decimal(f *float64) {
	if f == nil || math.IsNaN(*f) || math.IsInf(*f, 0) {
		p.params = append(p.params, nil)
		return
	}
	start := len(p.buf)
	p.buf = strconv.AppendFloat(p.buf, *f, 'g', -1, 64)
	p.done(start)
}

func (p *pgParams) bool(b bool) {
	start := len(p.buf)
	if b {
		p.buf = append(p.buf, 1)
	} else {
		p.buf = append(p.buf, 0)
	}
	p.done(start)
}

// postgresMicros is t as PostgreSQL stores a timestamptz: microseconds
// since 2000-01-01 UTC.
func postgresMicros(t time.Time) int64 {
	return t.UnixMicro() - 946684800_000000
}
