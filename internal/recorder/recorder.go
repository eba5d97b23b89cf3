package recorder

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/scanforge/scanforge/internal/tracing"
	"github.com/scanforge/scanforge/models"
)

// Inserter stores a batch of scans atomically and returns those of them
// that are pending in the outbox (internal/outbox's Writer).
type Inserter interface {
	InsertScans(ctx context.Context, scans []models.Scan) (pending []models.Scan, err error)
}

// Spool keeps scans on local disk while the database is unavailable
// (internal/spool).
type Spool interface {
	// Append makes scans durable on disk.
	Append(scans []models.Scan) error
	// AppendIfBacklog appends scans only while the spool holds scans not
	// yet moved into the database, so that later scans follow them.
	AppendIfBacklog(scans []models.Scan) (appended bool, err error)
}

// ErrClosed is returned by Record once the recorder has stopped.
var ErrClosed = errors.New("recorder: stopped")

type request struct {
	scan models.Scan
	done chan error
}

// Recorder is the group-commit writer. Create it with New, start Run, then
// call Record from any goroutine.
type Recorder struct {
	store    Inserter
	requests chan request
	stopped  chan struct{} // closed when Run stops taking new scans
	finished chan struct{} // closed when Run has committed everything it took
	maxBatch int
	maxWait  time.Duration
	// timers are Record's stopped MaxWait timers, reused: a context with a
	// deadline per redirect allocated a context, a timer and a channel.
	timers    sync.Pool
	committed func(recorded int, pending []models.Scan) // called with every committed batch: the outbox's handoff
	scans     []models.Scan                             // the batch being committed, reused: only Run's goroutine commits
	spool     Spool                                     // nil: none
	timeout   time.Duration                             // bound of one insert
	logger    *slog.Logger
	tracing   *tracing.Tracing
}

// Options tune a Recorder.
type Options struct {
	MaxBatch int // most scans in one insert; default 256
	// MaxWait bounds how long Record waits for its scan (0: no bound but
	// the caller's context).
	MaxWait time.Duration
	// Committed is called after each committed batch (optional) with the
	// number of scans stored and those of them the insert made pending in
	// the outbox, for the dispatcher (outbox.Dispatcher.Handoff).
	Committed func(recorded int, pending []models.Scan)
	// Spool, when set, takes the batches the database does not take because
	// it is unavailable (models.IsUnavailable, or no answer within
	// InsertTimeout), and every batch after them until its mover has moved
	// them: Record then returns nil once the scan is synced to disk. Scans
	// the database refuses for what they are (a duplicate ID) still fail.
	Spool Spool
	// InsertTimeout bounds one insert; default 30s. With a Spool, keep it
	// well below MaxWait, so that the scans of a database that hangs are
	// spooled before their redirects stop waiting.
	InsertTimeout time.Duration
	Logger        *slog.Logger // default slog.Default()
	// Tracing traces each Record as a child of its context's span (the
	// redirect), and writes that span's traceparent into the scan; nil: off.
	Tracing *tracing.Tracing
}

// New returns a Recorder writing to store.
func New(store Inserter, opts Options) *Recorder {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 256
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Committed == nil {
		opts.Committed = func(int, []models.Scan) {}
	}
	if opts.InsertTimeout <= 0 {
		opts.InsertTimeout = 30 * time.Second
	}
	return &Recorder{
		store:     store,
		requests:  make(chan request, opts.MaxBatch*4),
		stopped:   make(chan struct{}),
		finished:  make(chan struct{}),
		maxBatch:  opts.MaxBatch,
		maxWait:   opts.MaxWait,
		committed: opts.Committed,
		spool:     opts.Spool,
		timeout:   opts.InsertTimeout,
		logger:    opts.Logger,
		tracing:   opts.Tracing,
	}
}

// Record queues scan and blocks until it is durable, the insert failed,
// ctx ends or MaxWait has passed (the scan may still be written after
// those two). Traced, the scan carries the traceparent of the span of its
// recording, so that its deliveries continue the trace, whether the
// dispatcher gets the scan from memory or, later, from the database.
func (r *Recorder) Record(ctx context.Context, scan models.Scan) (err error) {
	ctx, span := r.tracing.Start(ctx, "record scan", trace.SpanKindInternal)
	defer func() { tracing.End(span, err) }()
	if span.IsRecording() {
		span.SetAttributes(attribute.String("scanforge.scan.id", scan.ID))
	}
	// Also when the span is not sampled: its flags tell the later spans so.
	scan.TraceParent = r.tracing.TraceParent(ctx)
	req := request{scan: scan, done: make(chan error, 1)}
	select {
	case <-r.stopped:
		return ErrClosed
	default:
	}
	var expired <-chan time.Time
	if r.maxWait > 0 {
		t, _ := r.timers.Get().(*time.Timer)
		if t == nil {
			t = time.NewTimer(r.maxWait)
		} else {
			t.Reset(r.maxWait) // a stopped timer: since Go 1.23 its channel holds nothing stale
		}
		defer func() {
			t.Stop()
			r.timers.Put(t)
		}()
		expired = t.C
	}
	select {
	case r.requests <- req:
	case <-r.stopped:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	case <-expired:
		return r.errExpired()
	}
	select {
	case <-expired:
		return r.errExpired()
	case err := <-req.done:
		return err
	case <-r.finished:
		// Queued in the instant Run stopped: answered now, or never written.
		select {
		case err := <-req.done:
			return err
		default:
			return ErrClosed
		}
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *Recorder) errExpired() error {
	return fmt.Errorf("recorder: scan not durable within %v: %w", r.maxWait, context.DeadlineExceeded)
}

// Run writes batches until ctx ends, then commits whatever is still queued
// (so a graceful shutdown loses no scan that was accepted) and returns.
func (r *Recorder) Run(ctx context.Context) {
	batch := make([]request, 0, r.maxBatch)
	for {
		select {
		case req := <-r.requests:
			batch = r.gather(append(batch[:0], req))
			r.commit(context.WithoutCancel(ctx), batch)
		case <-ctx.Done():
			close(r.stopped)
			r.flush(context.WithoutCancel(ctx), batch)
			close(r.finished)
			return
		}
	}
}

// gather completes a batch before it is committed: whatever is queued, and
// then, as long as that makes the batch grow, what arrives while the writer
// yields its processor. On a machine with few cores the handlers whose scans
// are on their way are runnable but not running while the writer runs;
// without yielding it would commit them two or three at a time, paying a
// commit's fixed cost (on SQLite, WAL frames and file locks: a dozen system
// calls) for each small batch. A yield costs nothing when no one else is
// runnable, so a lone scan at low load is committed at once.
func (r *Recorder) gather(batch []request) []request {
	batch = r.fill(batch)
	for n := 0; len(batch) != n && len(batch) < r.maxBatch; {
		n = len(batch)
		runtime.Gosched()
		batch = r.fill(batch)
	}
	return batch
}

// fill adds whatever is already queued, without waiting.
func (r *Recorder) fill(batch []request) []request {
	for len(batch) < r.maxBatch {
		select {
		case req := <-r.requests:
			batch = append(batch, req)
		default:
			return batch
		}
	}
	return batch
}

func (r *Recorder) flush(ctx context.Context, batch []request) {
	for {
		batch = r.fill(batch[:0])
		if len(batch) == 0 {
			return
		}
		r.commit(ctx, batch)
	}
}

func (r *Recorder) commit(ctx context.Context, batch []request) {
	scans := r.scans[:0]
	for _, req := range batch {
		scans = append(scans, req.scan)
	}
	r.scans = scans
	if r.spool != nil {
		// Behind scans already spooled: after them, in the spool.
		appended, err := r.spool.AppendIfBacklog(scans)
		if appended {
			answer(batch, nil)
			return
		}
		if err != nil {
			r.logger.Error("spool append failed; trying the database", "scans", len(scans), "error", err)
		}
	}
	pending, err := r.insert(ctx, scans)
	if err != nil && r.spooling(ctx, err) {
		answer(batch, r.spoolAfter(scans, err))
		return
	}
	if err != nil && len(batch) > 1 {
		// One bad row must not fail its neighbours: fall back to one by one.
		r.logger.Warn("batch insert failed, retrying scans one by one", "scans", len(batch), "error", err)
		recorded, pending := 0, []models.Scan(nil)
		for i, req := range batch {
			one, err := r.insert(ctx, []models.Scan{req.scan})
			if err != nil && models.IsUnavailable(err) {
				// The database went away: the rest share this scan's fate
				// (the spool, or the error) rather than wait for it each.
				rest := make([]models.Scan, 0, len(batch)-i)
				for _, req := range batch[i:] {
					rest = append(rest, req.scan)
				}
				if r.spooling(ctx, err) {
					err = r.spoolAfter(rest, err)
				} else {
					err = wrap(err)
				}
				answer(batch[i:], err)
				break
			}
			if err == nil {
				recorded++
				pending = append(pending, one...)
			}
			req.done <- wrap(err)
		}
		r.committed(recorded, pending)
		return
	}
	answer(batch, wrap(err))
	if err == nil {
		r.committed(len(scans), pending)
	}
}

// insert stores scans within the insert timeout and returns those it made
// pending. An insert that outlives it counts as the database being
// unavailable.
func (r *Recorder) insert(ctx context.Context, scans []models.Scan) (pending []models.Scan, err error) {
	ictx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	pending, err = r.store.InsertScans(ictx, scans)
	if err != nil && ictx.Err() != nil && ctx.Err() == nil {
		return nil, fmt.Errorf("%w: no answer within %v: %w", models.ErrUnavailable, r.timeout, err)
	}
	return pending, err
}

// spooling tells whether a failed insert's scans go to the spool.
func (r *Recorder) spooling(ctx context.Context, err error) bool {
	return r.spool != nil && ctx.Err() == nil && models.IsUnavailable(err)
}

// spoolAfter appends scans the database did not take because of cause.
func (r *Recorder) spoolAfter(scans []models.Scan, cause error) error {
	if err := r.spool.Append(scans); err != nil {
		return fmt.Errorf("record scan: database unavailable (%w), and the spool failed: %w", cause, err)
	}
	r.logger.Warn("database unavailable: scans spooled to disk", "scans", len(scans), "error", cause)
	return nil
}

func answer(batch []request, err error) {
	for _, req := range batch {
		req.done <- err
	}
}

func wrap(err error) error {
	if err != nil {
		return fmt.Errorf("record scan: %w", err)
	}
	return nil
}
