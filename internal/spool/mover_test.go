package spool_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/scanforge/scanforge/internal/outbox"
	"github.com/scanforge/scanforge/internal/spool"
	"github.com/scanforge/scanforge/internal/testdb"
	"github.com/scanforge/scanforge/models"
)

// watchedStore is the real store, with every InsertNewScans call seen by
// the test (before) and able to fail it (after: the insert was made, then
// the process "died").
type watchedStore struct {
	*models.Store
	writer *outbox.Writer
	mu     sync.Mutex
	order  []string // IDs in the order inserts were asked for
	before func(call int) error
	after  func(call int) error
	calls  int
}

func (w *watchedStore) InsertNewScans(ctx context.Context, scans []models.Scan) (int, []models.Scan, error) {
	w.mu.Lock()
	w.calls++
	call := w.calls
	w.mu.Unlock()
	if w.before != nil {
		if err := w.before(call); err != nil {
			return 0, nil, err
		}
	}
	w.mu.Lock()
	for _, sc := range scans {
		w.order = append(w.order, sc.ID)
	}
	w.mu.Unlock()
	stored, pending, err := w.writer.InsertNewScans(ctx, scans)
	if err == nil && w.after != nil {
		err = w.after(call)
	}
	return stored, pending, err
}

func watched(s *models.Store) *watchedStore {
	return &watchedStore{Store: s, writer: outbox.NewWriter(s)}
}

// takeAllScans adds an endpoint that takes every scan of ws_1, so that
// every scan stored is pending and handed to the outbox.
func takeAllScans(t *testing.T, s *models.Store) {
	t.Helper()
	ep := models.Endpoint{ID: "ep_all", WorkspaceID: "ws_1", URL: "https://hooks.example.com/all", Secret: "whsec_test", Enabled: true, AllCodes: true}
	if err := s.DB().Create(&ep).Error; err != nil {
		t.Fatal(err)
	}
}

// handoff collects what the mover hands to the outbox.
type handoff struct {
	mu       sync.Mutex
	recorded int
	scans    []models.Scan // pending
}

func (h *handoff) committed(recorded int, pending []models.Scan) {
	h.mu.Lock()
	h.recorded += recorded
	h.scans = append(h.scans, pending...)
	h.mu.Unlock()
}

func (h *handoff) ids() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return ids(h.scans)
}

// runMover runs m until the test ends or stop is called.
func runMover(t *testing.T, m *spool.Mover) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

// waitEmpty waits until sp's backlog is empty. The bound only keeps a
// broken build from hanging.
func waitEmpty(t *testing.T, sp *spool.Spool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); sp.Backlog() > 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("spool backlog still %d", sp.Backlog())
		}
	}
}

// storedIDs returns the IDs of the scans table, sorted.
func storedIDs(t *testing.T, store *models.Store) []string {
	t.Helper()
	var out []string
	if err := store.DB().Model(&models.Scan{}).Order("id").Pluck("id", &out).Error; err != nil {
		t.Fatal(err)
	}
	return out
}

// The mover stores every spooled scan once, in the order spooled, hands
// each to the outbox once, and empties the spool; what the database does
// not take at first is tried again until it does.
func TestMoverMovesInOrderOnce(t *testing.T) {
	for _, kind := range testdb.Kinds {
		t.Run(kind, func(t *testing.T) {
			store := watched(models.NewStore(testdb.Open(t, kind), time.Now))
			takeAllScans(t, store.Store)
			unavailable := 3
			store.before = func(call int) error {
				if call <= unavailable {
					return fmt.Errorf("insert: %w", models.ErrUnavailable)
				}
				return nil
			}
			dir := t.TempDir()
			sp := open(t, dir, 100)
			want := newScans(0, 450)
			for i := 0; i < len(want); i += 50 {
				if err := sp.Append(want[i : i+50]); err != nil {
					t.Fatal(err)
				}
			}
			var h handoff
			m := spool.NewMover(sp, store, spool.MoverOptions{BatchSize: 64, Committed: h.committed,
				MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, Logger: quiet})
			runMover(t, m)
			waitEmpty(t, sp)

			if got := storedIDs(t, store.Store); !slices.Equal(got, ids(want)) {
				t.Fatalf("stored %d scans, want the 450 spooled", len(got))
			}
			if !slices.Equal(store.order, ids(want)) {
				t.Fatalf("inserted out of order: %v…", store.order[:10])
			}
			if got := h.ids(); !slices.Equal(got, ids(want)) || h.recorded != len(want) {
				t.Fatalf("handed %d pending scans (%d recorded) to the outbox, want each of the 450 once", len(got), h.recorded)
			}
			if m.Moved() != 450 || store.calls <= unavailable {
				t.Fatalf("moved %d in %d calls", m.Moved(), store.calls)
			}
			if n := len(segments(t, dir)); n != 0 {
				t.Fatalf("%d segment files left", n)
			}
			// Every column survived the trip through the disk.
			var got models.Scan
			if err := store.DB().Where("id = ?", want[7].ID).Take(&got).Error; err != nil {
				t.Fatal(err)
			}
			w := want[7]
			if got.VisitorKey != w.VisitorKey || got.UserAgent != w.UserAgent || got.Region != w.Region || *got.Latitude != *w.Latitude ||
				!got.Timestamp.Equal(w.Timestamp) || got.IsBot != w.IsBot || got.CodeName != w.CodeName {
				t.Fatalf("stored %+v\nspooled %+v", got, w)
			}
		})
	}
}

// A mover stopped between storing a batch and removing its segment (a
// crash) leaves the segment on disk; the next process moves it again and
// the database still holds each scan once. Only the scans stored by the
// second run are handed to its outbox: the others are in the database,
// where the outbox's poll finds them if they are pending.
func TestMoverRestartedMidMoveStoresNothingTwice(t *testing.T) {
	for _, kind := range testdb.Kinds {
		t.Run(kind, func(t *testing.T) {
			db := testdb.Open(t, kind)
			dir := t.TempDir()
			want := newScans(0, 300)
			sp := open(t, dir, 0)
			if err := sp.Append(want); err != nil {
				t.Fatal(err)
			}

			ctx, crash := context.WithCancel(context.Background())
			store := watched(models.NewStore(db, time.Now))
			takeAllScans(t, store.Store)
			store.after = func(call int) error {
				if call == 2 { // two batches stored, the segment not removed
					crash()
					return errors.New("process killed")
				}
				return nil
			}
			var first handoff
			m := spool.NewMover(sp, store, spool.MoverOptions{BatchSize: 100, Committed: first.committed, Logger: quiet})
			done := make(chan struct{})
			go func() { m.Run(ctx); close(done) }()
			<-done
			sp.Close()
			if n := len(storedIDs(t, store.Store)); n != 200 {
				t.Fatalf("%d scans stored before the crash, want 200", n)
			}

			again := open(t, dir, 0)
			if again.Backlog() != 300 {
				t.Fatalf("backlog after restart %d, want the whole segment", again.Backlog())
			}
			var second handoff
			plain := models.NewStore(db, time.Now)
			runMover(t, spool.NewMover(again, outbox.NewWriter(plain), spool.MoverOptions{BatchSize: 100, Committed: second.committed, Logger: quiet}))
			waitEmpty(t, again)

			if got := storedIDs(t, plain); !slices.Equal(got, ids(want)) {
				t.Fatalf("stored %d scans, want each of the 300 once", len(got))
			}
			if got := second.ids(); !slices.Equal(got, ids(want[200:])) || second.recorded != 100 {
				t.Fatalf("second run handed %d pending scans (%d recorded) to the outbox, want the 100 it stored", len(got), second.recorded)
			}
			if len(segments(t, dir)) != 0 {
				t.Fatal("segment left after the move")
			}
			if _, err := os.Stat(filepath.Join(dir, "quarantine.spool")); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("scans stored by the first run were quarantined by the second: %v", err)
			}
		})
	}
}

// A scan PostgreSQL refuses for what it is (a value too long for its
// column) would fail for ever: it is set aside in the quarantine file, its
// neighbours are stored, and the spool empties.
func TestMoverQuarantinesRefusedScans(t *testing.T) {
	store := models.NewStore(testdb.Open(t, "postgres"), time.Now)
	dir := t.TempDir()
	sp := open(t, dir, 0)
	scans := newScans(0, 5)
	scans[2].Source = "far-too-long-for-its-column"
	if err := sp.Append(scans); err != nil {
		t.Fatal(err)
	}
	m := spool.NewMover(sp, outbox.NewWriter(store), spool.MoverOptions{Logger: quiet})
	runMover(t, m)
	waitEmpty(t, sp)

	if got := storedIDs(t, store); !slices.Equal(got, []string{"scan_000000", "scan_000001", "scan_000003", "scan_000004"}) {
		t.Fatalf("stored %v", got)
	}
	bad, _, err := spool.ReadFile(sp.Dir() + "/quarantine.spool")
	if err != nil || len(bad) != 1 || bad[0].ID != "scan_000002" || bad[0].Source != scans[2].Source {
		t.Fatalf("quarantine holds %+v (%v)", bad, err)
	}
	if m.Quarantined() != 1 || m.Moved() != 4 {
		t.Fatalf("quarantined %d, moved %d", m.Quarantined(), m.Moved())
	}
}
