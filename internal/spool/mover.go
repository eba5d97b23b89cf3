package spool

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/scanforge/scanforge/models"
)

// Store is what the mover needs from the database: an insert that skips
// the scans already stored, so that a segment moved twice (the process
// stopped between its insert and its removal) stores each scan once.
type Store interface {
	InsertNewScans(ctx context.Context, scans []models.Scan) (stored int, pending []models.Scan, err error)
}

// MoverOptions tune a Mover.
type MoverOptions struct {
	BatchSize int // scans per insert; default 1024
	// Committed is called after each insert with the number of scans it
	// stored for the first time and those of them it made pending, as the
	// recorder calls it with its batches: the outbox's handoff.
	Committed func(recorded int, pending []models.Scan)
	// While the database does not answer, the mover tries again after
	// MinBackoff, doubling up to MaxBackoff. Defaults 100ms and 2s.
	MinBackoff, MaxBackoff time.Duration
	InsertTimeout          time.Duration // bound of one insert; default 30s
	Logger                 *slog.Logger  // default slog.Default()
}

// Mover moves a spool's scans into the database, oldest first, whenever
// the spool has some and the database answers.
type Mover struct {
	spool *Spool
	store Store
	opts  MoverOptions

	moved       atomic.Int64
	quarantined atomic.Int64

	// The segment being moved and how far: kept across failed attempts so
	// that a retry neither reads it again nor inserts its stored scans again.
	current struct {
		seq   uint64
		scans []models.Scan
		next  int
	}
}

// NewMover returns a Mover of sp's scans into store.
func NewMover(sp *Spool, store Store, opts MoverOptions) *Mover {
	if opts.BatchSize <= 0 {
		opts.BatchSize = 1024
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 100 * time.Millisecond
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = max(2*time.Second, opts.MinBackoff)
	}
	if opts.InsertTimeout <= 0 {
		opts.InsertTimeout = 30 * time.Second
	}
	if opts.Committed == nil {
		opts.Committed = func(int, []models.Scan) {}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Mover{spool: sp, store: store, opts: opts}
}

// Moved is the number of spooled scans stored in the database since start.
func (m *Mover) Moved() int64 { return m.moved.Load() }

// Quarantined is the number of spooled scans the database refused since
// start, set aside in the quarantine file.
func (m *Mover) Quarantined() int64 { return m.quarantined.Load() }

// Run moves scans until ctx ends: at start (what an earlier run left),
// after every append, and while the database does not answer, again with
// backoff.
func (m *Mover) Run(ctx context.Context) {
	backoff := m.opts.MinBackoff
	failing := false
	var retry *time.Timer
	defer func() {
		if retry != nil {
			retry.Stop()
		}
	}()
	for {
		var retryC <-chan time.Time
		err := m.moveAll(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			if !failing {
				m.opts.Logger.Warn("spool: scans not moved into the database yet; they stay on disk and are tried again",
					"backlog", m.spool.Backlog(), "error", err)
			}
			failing = true
			if retry == nil {
				retry = time.NewTimer(backoff)
			} else {
				retry.Reset(backoff)
			}
			retryC = retry.C
			backoff = min(backoff*2, m.opts.MaxBackoff)
		default:
			if failing {
				m.opts.Logger.Info("spool: moved into the database", "moved", m.moved.Load())
			}
			failing, backoff = false, m.opts.MinBackoff
		}
		select {
		case <-ctx.Done():
			return
		case <-retryC:
		case <-m.spool.wake:
			if failing {
				// Appends keep coming while the database is down: they do
				// not cut the backoff short.
				select {
				case <-ctx.Done():
					return
				case <-retryC:
				}
			}
		}
	}
}

// moveAll moves segments until the spool is empty or an insert fails.
func (m *Mover) moveAll(ctx context.Context) error {
	for ctx.Err() == nil {
		seg, ok, err := m.spool.oldest()
		if err != nil {
			m.opts.Logger.Warn("spool: closing a segment", "error", err)
		}
		if !ok {
			return nil
		}
		if err := m.moveSegment(ctx, seg); err != nil {
			return err
		}
	}
	return ctx.Err()
}

func (m *Mover) moveSegment(ctx context.Context, seg segment) error {
	cur := &m.current
	if cur.scans == nil || cur.seq != seg.seq {
		scans, valid, size, err := readSegment(seg.path)
		if err != nil {
			return err
		}
		if valid < size {
			m.opts.Logger.Warn("spool: torn record at the end of a segment dropped", "segment", seg.path, "bytes", size-valid)
		}
		cur.seq, cur.scans, cur.next = seg.seq, scans, 0
	}
	for cur.next < len(cur.scans) {
		batch := cur.scans[cur.next:min(cur.next+m.opts.BatchSize, len(cur.scans))]
		if err := m.insert(ctx, batch); err != nil {
			return err
		}
		cur.next += len(batch)
	}
	cur.scans = nil
	if err := m.spool.remove(seg); err != nil {
		// Every scan of it is stored: moved again at the next start, it
		// stores nothing twice.
		m.opts.Logger.Warn("spool: removing a moved segment", "segment", seg.path, "error", err)
	}
	return nil
}

// insert stores batch. A row the database refuses for what it is, not
// because it is unavailable, would fail for ever: the batch is tried scan
// by scan and each refused scan is set aside in the quarantine file, with
// an error log naming it, instead of holding up the spool.
func (m *Mover) insert(ctx context.Context, batch []models.Scan) error {
	err := m.insertOnce(ctx, batch)
	if err == nil || m.unavailable(ctx, err) {
		return err
	}
	m.opts.Logger.Warn("spool: batch refused by the database; moving its scans one by one", "scans", len(batch), "error", err)
	for i := range batch {
		one := batch[i : i+1]
		err := m.insertOnce(ctx, one)
		if err == nil {
			continue
		}
		if m.unavailable(ctx, err) {
			return err
		}
		path, qErr := m.spool.quarantineScans(one)
		if qErr != nil {
			m.opts.Logger.Error("spool: scan refused by the database and not quarantined; it stays in the spool", "scan_id", one[0].ID, "error", err, "quarantine_error", qErr)
			return qErr
		}
		m.quarantined.Add(1)
		m.opts.Logger.Error("spool: scan refused by the database, set aside in the quarantine file",
			"scan_id", one[0].ID, "code_id", one[0].CodeID, "file", path, "error", err)
	}
	return nil
}

func (m *Mover) insertOnce(ctx context.Context, scans []models.Scan) error {
	ictx, cancel := context.WithTimeout(ctx, m.opts.InsertTimeout)
	defer cancel()
	stored, pending, err := m.store.InsertNewScans(ictx, scans)
	if err != nil {
		if ctx.Err() == nil && ictx.Err() != nil {
			// Our own bound passed: the database did not answer in time.
			err = fmt.Errorf("%w: %w", models.ErrUnavailable, err)
		}
		return err
	}
	m.moved.Add(int64(len(scans)))
	m.opts.Committed(stored, pending)
	return nil
}

// unavailable tells whether err means "not now": the database did not
// answer, or the mover is stopping.
func (m *Mover) unavailable(ctx context.Context, err error) bool {
	return ctx.Err() != nil || models.IsUnavailable(err)
}
