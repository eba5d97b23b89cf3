package recorder_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scanforge/scanforge/internal/outbox"
	"github.com/scanforge/scanforge/internal/recorder"
	"github.com/scanforge/scanforge/internal/testdb"
	"github.com/scanforge/scanforge/models"
)

// countingStore counts insert statements, to show batches form.
type countingStore struct {
	*models.Store
	writer  *outbox.Writer
	inserts atomic.Int64
}

func (c *countingStore) InsertScans(ctx context.Context, scans []models.Scan) ([]models.Scan, error) {
	c.inserts.Add(1)
	return c.writer.InsertScans(ctx, scans)
}

func TestRecordConcurrentScansAreDurable(t *testing.T) {
	for _, kind := range testdb.Kinds {
		t.Run(kind, func(t *testing.T) {
			s := models.NewStore(testdb.Open(t, kind), time.Now)
			store := &countingStore{Store: s, writer: outbox.NewWriter(s)}
			var committed atomic.Int64
			rec := recorder.New(store, recorder.Options{Committed: func(recorded int, _ []models.Scan) { committed.Add(int64(recorded)) }})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { rec.Run(ctx); close(done) }()

			const n = 300
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					errs <- rec.Record(context.Background(), scan(fmt.Sprintf("scan_%04d", i)))
				}(i)
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			// Every Record returned nil, so every scan must already be in the database.
			var count int64
			store.DB().Model(&models.Scan{}).Count(&count)
			if count != n || committed.Load() != n {
				t.Fatalf("rows = %d, committed = %d, want %d", count, committed.Load(), n)
			}
			t.Logf("%d scans in %d insert statements", n, store.inserts.Load())

			// A duplicate fails alone; its batch neighbours still land.
			var wg2 sync.WaitGroup
			results := make([]error, 3)
			for i, id := range []string{"scan_0001", "scan_new1", "scan_new2"} {
				wg2.Add(1)
				go func(i int, id string) {
					defer wg2.Done()
					results[i] = rec.Record(context.Background(), scan(id))
				}(i, id)
			}
			wg2.Wait()
			if results[0] == nil || results[1] != nil || results[2] != nil {
				t.Fatalf("results = %v, want only the duplicate to fail", results)
			}

			cancel()
			<-done
			if err := rec.Record(context.Background(), scan("scan_late")); err != recorder.ErrClosed {
				t.Fatalf("record after stop: %v", err)
			}
		})
	}
}

func scan(id string) models.Scan {
	return models.Scan{ID: id, WorkspaceID: "ws_1", CodeID: "code_1", Slug: "s", Timestamp: time.Now().UTC(), Source: "qr", DestinationURL: "https://example.com"}
}

// batchSizes is an Inserter that keeps nothing but the size of each batch.
type batchSizes struct {
	mu    sync.Mutex
	sizes []int
}

func (b *batchSizes) InsertScans(_ context.Context, scans []models.Scan) ([]models.Scan, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sizes = append(b.sizes, len(scans))
	return nil, nil
}

// On one processor the writer wakes up as soon as the first scan is queued,
// before the other handlers have run: it must let them queue theirs before
// it commits, instead of committing one scan at a time.
func TestRecordGathersScansOfRunnableHandlers(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	store := &batchSizes{}
	rec := recorder.New(store, recorder.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { rec.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	const n = 16
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := rec.Record(context.Background(), scan(fmt.Sprintf("scan_%02d", i))); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	store.mu.Lock()
	defer store.mu.Unlock()
	total := 0
	for _, size := range store.sizes {
		total += size
	}
	if total != n || len(store.sizes) > 2 {
		t.Fatalf("batches %v: want %d scans in at most 2 commits", store.sizes, n)
	}
}

// gatedStore holds every insert until its gate opens.
type gatedStore struct {
	*models.Store
	writer *outbox.Writer
	gate   chan struct{}
}

func (g *gatedStore) InsertScans(ctx context.Context, scans []models.Scan) ([]models.Scan, error) {
	<-g.gate
	return g.writer.InsertScans(ctx, scans)
}

// Record waits at most MaxWait; the scan it gave up on is still written,
// and a Record after two that expired, on their reused timer, is not cut
// short by either.
func TestRecordWaitsAtMostMaxWait(t *testing.T) {
	s := models.NewStore(testdb.Open(t, "sqlite"), time.Now)
	store := &gatedStore{Store: s, writer: outbox.NewWriter(s), gate: make(chan struct{})}
	rec := recorder.New(store, recorder.Options{MaxWait: time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { rec.Run(ctx); close(done) }()

	for _, id := range []string{"scan_late1", "scan_late2"} {
		if err := rec.Record(context.Background(), scan(id)); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Record(%s) while the store is held = %v, want a deadline error", id, err)
		}
	}
	close(store.gate)
	if err := rec.Record(context.Background(), scan("scan_prompt")); err != nil {
		t.Fatalf("Record with the store free = %v", err)
	}
	cancel()
	<-done
	var count int64
	store.DB().Model(&models.Scan{}).Count(&count)
	if count != 3 {
		t.Fatalf("%d scans written, want all 3", count)
	}
}
