package outbox

// The PostgreSQL outbox writer: multi-row INSERTs sent in a pgx pipeline
// with their parameters encoded in binary by hand (pgParams).

import (
	"context"
	"encoding/binary"
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

	"github.com/scanforge/scanforge/models"
)

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

// PostgresMaxRows is the most scans one PostgreSQL INSERT takes: a larger
// batch goes in as several, in one pipeline.
const PostgresMaxRows = 64

// postgresRowCounts are the sizes of INSERT that exist, largest first: a
// batch goes in as INSERTs of these sizes, each the largest that fits what
// is left, so a group commit of up to 16 scans, or of 24, 32, … 64, is one
// statement and any other up to 64 two: every extra statement costs
// PostgreSQL CPU per scan. Not every size from 1 to 64, because each
// prepared statement keeps its plans in the server on every connection
// that has run it.
var postgresRowCounts = []int{PostgresMaxRows, 56, 48, 40, 32, 24, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1}

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
// takes) and its is_unique by adding its visitor to scan_visitors: it is
// the visitor's first scan of the code that day when the row is new. The
// statement returns the scans that are pending or unique only: on the
// busiest path, repeat scans of codes without webhooks, it returns
// nothing. Parameters are cast to their column's type: in a VALUES list
// PostgreSQL would take them for text.
func postgresInsertOf(n int) string {
	cols := scanColumns[:len(scanColumns)-2] // all but is_unique and dispatched_at
	names := make([]string, len(cols)+1)
	for i := range cols {
		names[i] = fmt.Sprintf("c%d", i)
	}
	names[len(cols)] = "vday" // the scan's UTC day when it may be its visitor's first, else NULL
	perRow := len(names)
	col := func(name string) string { return fmt.Sprintf("v.c%d", slices.Index(cols, name)) }
	rows := make([]string, n)
	for r := range rows {
		params := make([]string, perRow)
		for c := range params {
			typ := "text"
			if c < len(cols) {
				if t, ok := postgresCasts[cols[c]]; ok {
					typ = t
				}
			}
			params[c] = fmt.Sprintf("$%d::%s", 2+r*perRow+c, typ)
		}
		rows[r] = "(" + strings.Join(params, ", ") + ")"
	}
	return "WITH v(" + strings.Join(names, ", ") + ") AS (VALUES " + strings.Join(rows, ", ") + ")" +
		", visitors AS (INSERT INTO scan_visitors (code_id, day, visitor_key) SELECT " + col("code_id") + ", v.vday, " + col("visitor_key") +
		" FROM v WHERE v.vday IS NOT NULL ORDER BY 1, 2, 3 ON CONFLICT DO NOTHING RETURNING code_id, day, visitor_key)" +
		", inserted AS (INSERT INTO scans (" + strings.Join(scanColumns, ", ") + ") SELECT " + strings.Join(names[:len(cols)], ", ") +
		", EXISTS (SELECT 1 FROM visitors n WHERE n.code_id = " + col("code_id") + " AND n.day = v.vday AND n.visitor_key = " + col("visitor_key") + ")" +
		", CASE WHEN " + models.EndpointTakesScan(col("workspace_id"), col("code_id"), col("is_bot")) + " THEN NULL ELSE $1::timestamptz END" +
		" FROM v RETURNING id, dispatched_at, is_unique)" +
		" SELECT id, dispatched_at IS NULL, is_unique FROM inserted WHERE dispatched_at IS NULL OR is_unique"
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
// arrived, in one round trip instead of an endpoint check plus a COPY. It
// returns the scans made pending, in the order of scans.
//
// It talks to pgx's wire layer (pgconn) with parameters it encodes itself
// (pgParams.encode): pgx's own encoding, type by type into buffers it
// shrinks after each use, dominated the insert's allocations and CPU.
func insertScansPostgres(ctx context.Context, conn *pgx.Conn, pool *sync.Pool, scans []models.Scan, now time.Time) ([]models.Scan, error) {
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
	rows, first := byVisitor(scans)
	for rest, done := rows, 0; len(rest) > 0; done, rest = done+postgresRowsOf(len(rest)), rest[postgresRowsOf(len(rest)):] {
		n := postgresRowsOf(len(rest))
		// Prepared once per connection, then a lookup.
		insert := postgresInserts[n]()
		sd, err := conn.Prepare(ctx, insert.name, insert.sql)
		if err != nil {
			return nil, err
		}
		params, _ := pool.Get().(*pgParams)
		if params == nil {
			params = new(pgParams)
		}
		params.encode(now, rest[:n], first[done:done+n])
		statements = append(statements, statement{sd, params})
	}
	pipeline := conn.PgConn().StartPipeline(ctx)
	for _, st := range statements {
		// Encoded into the connection's buffer here: the parameters are
		// free for reuse once this returns.
		pipeline.SendQueryStatement(st.sd, st.params.params, postgresBinary, nil)
	}
	if err := pipeline.Sync(); err != nil {
		return nil, err // the pipeline is closed
	}
	var pending pendingRows
	for range statements {
		if err := pending.read(pipeline); err != nil {
			return nil, errors.Join(err, pipeline.Close())
		}
	}
	if err := pipeline.Close(); err != nil {
		return nil, err
	}
	return pending.of(scans), nil
}

// postgresBinary says that every parameter is in binary format.
var postgresBinary = []int16{1}

// pendingRows collects what the INSERTs return of their pending scans: by
// ID, whether each is its visitor's first.
type pendingRows map[string]bool

// read reads one INSERT's result, its pending and unique scans, and keeps
// the pending ones.
func (p *pendingRows) read(pipeline *pgconn.Pipeline) error {
	res, err := pipeline.GetResults()
	if err != nil {
		return err
	}
	rows, ok := res.(*pgconn.ResultReader)
	if !ok {
		return fmt.Errorf("insert: unexpected result %T", res)
	}
	for rows.NextRow() {
		// Booleans in text format: "t" or "f".
		vals := rows.Values()
		if string(vals[1]) == "t" {
			if *p == nil {
				*p = pendingRows{}
			}
			(*p)[string(vals[0])] = string(vals[2]) == "t"
		}
	}
	_, err = rows.Close()
	return err
}

// of returns the pending ones of scans, in their order, completed.
func (p pendingRows) of(scans []models.Scan) []models.Scan {
	if len(p) == 0 {
		return nil
	}
	out := make([]models.Scan, 0, len(p))
	for _, sc := range scans {
		if unique, ok := p[sc.ID]; ok {
			sc.IsUnique, sc.DispatchedAt = unique, nil
			out = append(out, sc)
		}
	}
	return out
}

// encode makes p the parameters of postgresInsertOf(len(scans)): now and
// the scans (each with its day when firstInBatch says it may be its
// visitor's first), in PostgreSQL's binary format, column by column in
// scanColumns' order (TestInsertScansRoundTripsEveryColumn, whose text
// columns all differ, catches any two swapped). It reuses p's buffers.
func (p *pgParams) encode(now time.Time, scans []*models.Scan, firstInBatch []bool) {
	p.buf = p.buf[:0]
	clear(p.params) // no hold on arrays the buffer outgrew last time
	p.params = p.params[:0]
	p.time(now)
	for i, sc := range scans {
		p.text(sc.ID)
		p.text(sc.WorkspaceID)
		p.text(sc.CodeID)
		p.text(sc.Slug)
		p.text(sc.CodeName)
		p.time(sc.Timestamp)
		p.text(sc.Source)
		p.text(sc.DestinationURL)
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
		p.optionalText(sc.TraceParent)
		p.text(sc.VisitorKey)
		if firstInBatch[i] {
			p.text(sc.Timestamp.UTC().Format(time.DateOnly))
		} else {
			p.params = append(p.params, nil)
		}
	}
}

// pgParams builds parameters in PostgreSQL's binary format in one buffer:
// text as its bytes, timestamptz as microseconds since 2000, boolean as
// one byte, numeric (declared text::numeric) as decimal text; nil is NULL
// (an unknown coordinate, an untraced scan's trace_parent).
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

// optionalText writes s as text, or NULL when it is empty.
func (p *pgParams) optionalText(s string) {
	if s == "" {
		p.params = append(p.params, nil)
		return
	}
	p.text(s)
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
