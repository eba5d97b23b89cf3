package recorder_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/scanforge/scanforge/internal/outbox"
	"github.com/scanforge/scanforge/internal/recorder"
	"github.com/scanforge/scanforge/internal/spool"
	"github.com/scanforge/scanforge/internal/testdb"
	"github.com/scanforge/scanforge/models"
)

var quiet = slog.New(slog.DiscardHandler)

func runRecorder(t *testing.T, rec *recorder.Recorder) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { rec.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// recordAll records scans concurrently and fails the test on any error.
func recordAll(t *testing.T, rec *recorder.Recorder, scans []models.Scan) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(scans))
	for _, sc := range scans {
		wg.Go(func() { errs <- rec.Record(context.Background(), sc) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Record: %v", err)
		}
	}
}

// spooledIDs reads the IDs of every scan in the spool's segments.
func spooledIDs(t *testing.T, dir string) []string {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(dir, "segment-*.spool"))
	slices.Sort(paths)
	var out []string
	for _, p := range paths {
		scans, _, err := spool.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, sc := range scans {
			out = append(out, sc.ID)
		}
	}
	return out
}

func scanIDs(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s_%03d", prefix, i)
	}
	return out
}

// While PostgreSQL cannot be reached, Record returns nil once the scan is
// synced to the spool; scans recorded after them follow them into the
// spool even once the database answers, until the mover has moved them all;
// then the recorder writes to the database again. Each scan lands once.
func TestRecordSpoolsWhileDatabaseUnavailable(t *testing.T) {
	db, proxy := testdb.OpenPostgresViaProxy(t)
	store := outbox.NewWriter(models.NewStore(db, time.Now))
	// An endpoint takes every scan: each is pending, handed to the outbox.
	ep := models.Endpoint{ID: "ep_all", WorkspaceID: "ws_1", URL: "https://hooks.example.com/all", Secret: "whsec_test", Enabled: true, AllCodes: true}
	if err := db.Create(&ep).Error; err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sp, err := spool.Open(dir, spool.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	var mu sync.Mutex
	var handed []string
	recorded := 0
	committed := func(n int, pending []models.Scan) {
		mu.Lock()
		recorded += n
		for _, sc := range pending {
			handed = append(handed, sc.ID)
		}
		mu.Unlock()
	}
	rec := recorder.New(store, recorder.Options{Spool: sp, Committed: committed, InsertTimeout: 5 * time.Second, Logger: quiet})
	runRecorder(t, rec)
	recordAll(t, rec, []models.Scan{scan("scan_before")}) // the pool has connections to lose
	if sp.Spooled() != 0 {
		t.Fatal("a scan was spooled while the database answered")
	}

	proxy.Cut()
	down := scanIDs("scan_down", 40)
	var scans []models.Scan
	for _, id := range down {
		scans = append(scans, scan(id))
	}
	recordAll(t, rec, scans)
	if got := spooledIDs(t, dir); len(got) != len(down) || !sameSet(got, down) {
		t.Fatalf("spool holds %d scans, want the %d recorded while the database was cut", len(got), len(down))
	}

	proxy.Restore(t)
	// The database answers, but the spool still has a backlog: behind it.
	recordAll(t, rec, []models.Scan{scan("scan_behind")})
	if got := spooledIDs(t, dir); got[len(got)-1] != "scan_behind" {
		t.Fatalf("a scan recorded behind a backlog went to the database first")
	}

	mover := spool.NewMover(sp, store, spool.MoverOptions{Committed: committed, Logger: quiet})
	ctx, cancel := context.WithCancel(context.Background())
	moverDone := make(chan struct{})
	go func() { mover.Run(ctx); close(moverDone) }()
	t.Cleanup(func() { cancel(); <-moverDone })
	for deadline := time.Now().Add(30 * time.Second); sp.Backlog() > 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("backlog still %d", sp.Backlog())
		}
	}
	spooled := sp.Spooled()
	recordAll(t, rec, []models.Scan{scan("scan_after")})
	if sp.Spooled() != spooled {
		t.Fatal("a scan recorded after the spool emptied was spooled")
	}

	want := append(append([]string{"scan_before"}, down...), "scan_behind", "scan_after")
	var stored []string
	if err := db.Model(&models.Scan{}).Pluck("id", &stored).Error; err != nil {
		t.Fatal(err)
	}
	if len(stored) != len(want) || !sameSet(stored, want) {
		t.Fatalf("stored %d scans, want each of the %d once", len(stored), len(want))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(handed) != len(want) || !sameSet(handed, want) || recorded != len(want) {
		t.Fatalf("handed %d pending scans (%d recorded) to the outbox, want each of the %d once", len(handed), recorded, len(want))
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// hangingStore never answers: it waits for the insert's deadline.
type hangingStore struct{}

func (hangingStore) InsertScans(ctx context.Context, _ []models.Scan) ([]models.Scan, error) {
	<-ctx.Done()
	return nil, fmt.Errorf("insert: %w", ctx.Err())
}

// A database that does not answer within InsertTimeout is unavailable:
// the batch is spooled before its redirects stop waiting (MaxWait).
func TestRecordSpoolsWhenTheDatabaseHangs(t *testing.T) {
	dir := t.TempDir()
	sp, err := spool.Open(dir, spool.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	rec := recorder.New(hangingStore{}, recorder.Options{Spool: sp, InsertTimeout: 50 * time.Millisecond, MaxWait: 10 * time.Second, Logger: quiet})
	runRecorder(t, rec)
	recordAll(t, rec, []models.Scan{scan("scan_1"), scan("scan_2")})
	if got := spooledIDs(t, dir); !sameSet(got, []string{"scan_1", "scan_2"}) {
		t.Fatalf("spooled %v", got)
	}
}

// A scan the database refuses for what it is (a duplicate ID) is not
// spooled: it would fail there for ever.
func TestRecordDoesNotSpoolRefusedScans(t *testing.T) {
	store := outbox.NewWriter(models.NewStore(testdb.Open(t, "postgres"), time.Now))
	sp, err := spool.Open(t.TempDir(), spool.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	rec := recorder.New(store, recorder.Options{Spool: sp, Logger: quiet})
	runRecorder(t, rec)
	recordAll(t, rec, []models.Scan{scan("scan_1")})
	if err := rec.Record(context.Background(), scan("scan_1")); err == nil {
		t.Fatal("a duplicate was recorded")
	}
	if sp.Spooled() != 0 {
		t.Fatalf("%d scans spooled", sp.Spooled())
	}
}

// badRowStore refuses every batch of more than one scan (a bad row in
// it), stores single scans (each pending), and is unavailable for scan_2. Its first
// insert waits for gate, so that the scans recorded meanwhile form a batch.
type badRowStore struct {
	entered, gate chan struct{}
	once          sync.Once
	mu            sync.Mutex
	stored        []string
	batch         []string // the scans of the last batch refused, in order
}

func (s *badRowStore) InsertScans(_ context.Context, scans []models.Scan) ([]models.Scan, error) {
	s.once.Do(func() { close(s.entered); <-s.gate })
	switch {
	case len(scans) > 1:
		s.mu.Lock()
		s.batch = nil
		for _, sc := range scans {
			s.batch = append(s.batch, sc.ID)
		}
		s.mu.Unlock()
		return nil, fmt.Errorf("batch: value too long")
	case scans[0].ID == "scan_2":
		return nil, fmt.Errorf("insert: %w", models.ErrUnavailable)
	}
	s.mu.Lock()
	s.stored = append(s.stored, scans[0].ID)
	s.mu.Unlock()
	return scans, nil
}

// A batch that fails on a bad row is retried scan by scan; when the
// database goes away in the middle, the scan and those after it go to the
// spool at once, and every Record returns nil.
func TestRecordSpoolsTheRestWhenTheDatabaseGoesAwayMidBatch(t *testing.T) {
	dir := t.TempDir()
	sp, err := spool.Open(dir, spool.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	store := &badRowStore{entered: make(chan struct{}), gate: make(chan struct{})}
	var mu sync.Mutex
	var recorded int
	var handed []string
	committed := func(n int, pending []models.Scan) {
		mu.Lock()
		defer mu.Unlock()
		recorded += n
		for _, sc := range pending {
			handed = append(handed, sc.ID)
		}
	}
	rec := recorder.New(store, recorder.Options{Spool: sp, Committed: committed, Logger: quiet})
	runRecorder(t, rec)
	errs := make(chan error, 4)
	go func() { errs <- rec.Record(context.Background(), scan("scan_0")) }()
	<-store.entered
	for i := 1; i < 4; i++ {
		go func() { errs <- rec.Record(context.Background(), scan(fmt.Sprintf("scan_%d", i))) }()
	}
	time.Sleep(300 * time.Millisecond) // let scans 1–3 queue behind scan_0's insert
	close(store.gate)
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatalf("Record: %v", err)
		}
	}
	store.mu.Lock()
	defer store.mu.Unlock()
	stored, spooled := store.stored, spooledIDs(t, dir)
	at := slices.Index(store.batch, "scan_2")
	if len(store.batch) != 3 || at < 0 {
		t.Fatalf("batch %v: the three scans recorded behind scan_0 did not form one batch", store.batch)
	}
	// Those before scan_2 in the batch are stored one by one; scan_2 and
	// those after it are spooled without another try.
	wantStored := append([]string{"scan_0"}, store.batch[:at]...)
	if !slices.Equal(stored, wantStored) || !slices.Equal(spooled, store.batch[at:]) {
		t.Fatalf("batch %v: stored %v, spooled %v; want stored %v, spooled %v", store.batch, stored, spooled, wantStored, store.batch[at:])
	}
	// The outbox hears of the stored scans only, the one-by-one ones too.
	mu.Lock()
	defer mu.Unlock()
	if recorded != len(wantStored) || !slices.Equal(handed, wantStored) {
		t.Fatalf("committed %d scans, handed %v to the outbox; want %d and %v", recorded, handed, len(wantStored), wantStored)
	}
}
