package outbox_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/scanforge/scanforge/internal/outbox"
	"github.com/scanforge/scanforge/internal/testdb"
	"github.com/scanforge/scanforge/models"
)

// forEachDB runs f against a fresh store of each database kind, with the
// store's outbox writer.
func forEachDB(t *testing.T, f func(t *testing.T, s *models.Store, w *outbox.Writer)) {
	for _, kind := range testdb.Kinds {
		t.Run(kind, func(t *testing.T) {
			s := models.NewStore(testdb.Open(t, kind), time.Now, models.WithSecretBox(testdb.SecretBox(t)))
			f(t, s, outbox.NewWriter(s))
		})
	}
}

// fullScan returns a scan with every column set to a value of its own.
func fullScan(i int, at time.Time) models.Scan {
	lat, lon := 48.137+float64(i), 11.575
	return models.Scan{
		ID: fmt.Sprintf("scan_%04d", i), WorkspaceID: "ws_1", CodeID: "code_1", Slug: "spring", CodeName: "Spring “sale”",
		Timestamp: at, Source: "qr", DestinationURL: "https://example.com/landing?x=1",
		VisitorKey: fmt.Sprintf("%032x", i), Country: "Germany", CountryCode: "DE", Region: "Bavaria", City: "München",
		Latitude: &lat, Longitude: &lon, Timezone: "Europe/Berlin",
		DeviceType: "mobile", Browser: "Chrome", BrowserVersion: "124.0", OS: "Android", OSVersion: "14",
		Referrer: "https://ref.example/", UserAgent: "Mozilla/5.0 (Linux; Android 14)", IsBot: i%2 == 1, BotReason: "crawler",
		IsUnique:    true, // each has a visitor of its own
		TraceParent: fmt.Sprintf("00-4bf92f3577b34da6a3ce929d0e0e%04d-00f067aa0ba902b7-01", i),
	}
}

// addEndpoint stores an endpoint straight into the table (its secret does
// not matter here).
func addEndpoint(t *testing.T, s *models.Store, ep models.Endpoint, codeIDs ...string) {
	t.Helper()
	ep.URL, ep.Secret = "https://hooks.example.com/"+ep.ID, "whsec_test"
	if err := s.DB().Create(&ep).Error; err != nil {
		t.Fatal(err)
	}
	for _, code := range codeIDs {
		if err := s.DB().Create(&models.EndpointCode{EndpointID: ep.ID, CodeID: code}).Error; err != nil {
			t.Fatal(err)
		}
	}
}

func TestInsertScansRoundTripsEveryColumn(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *models.Store, w *outbox.Writer) {
		ctx := context.Background()
		addEndpoint(t, s, models.Endpoint{ID: "ep_all", WorkspaceID: "ws_1", Enabled: true, AllCodes: true})
		at := time.Now().UTC().Truncate(time.Microsecond)
		one := fullScan(0, at)
		one.Latitude, one.Longitude = nil, nil // unknown location: NULL, not 0
		one.Referrer, one.BotReason = "", ""   // empty text: '', not NULL
		one.TraceParent = ""                   // untraced: NULL
		// A coordinate whose shortest decimal needs all 17 digits comes
		// back as the same float64 (15 digits, as float8 → numeric gives,
		// would not).
		tenth, fifth := 0.1, 0.2
		precise := tenth + fifth // 0.30000000000000004 (a constant expression would be exact 0.3)
		batch0 := fullScan(4, at)
		batch0.Latitude = &precise
		batch := []models.Scan{fullScan(1, at), fullScan(2, at.Add(time.Millisecond)), fullScan(3, at.Add(2*time.Millisecond)), batch0}
		// On PostgreSQL a large batch goes in as several INSERTs.
		var large []models.Scan
		for i := range outbox.PostgresMaxRows + 2 {
			large = append(large, fullScan(100+i, at.Add(time.Duration(i)*time.Microsecond)))
		}
		large[1].Latitude, large[1].Longitude = nil, nil
		for _, b := range [][]models.Scan{{one}, batch, large} {
			if _, err := w.InsertScans(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
		for _, want := range append(append([]models.Scan{one}, batch...), large...) {
			got, err := s.GetScan(ctx, "ws_1", want.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Timestamp.Equal(want.Timestamp) {
				t.Fatalf("%s timestamp %v, want %v", want.ID, got.Timestamp, want.Timestamp)
			}
			got.Timestamp = want.Timestamp
			if diff := cmp.Diff(want, got); diff != "" { // compares what the pointers point to
				t.Fatalf("round trip of %s (-want +got):\n%s", want.ID, diff)
			}
		}
		var nulls int64
		if err := s.DB().Raw("SELECT COUNT(*) FROM scans WHERE referrer IS NULL OR bot_reason IS NULL").Scan(&nulls).Error; err != nil {
			t.Fatal(err)
		}
		if nulls != 0 {
			t.Fatalf("%d scans with empty text stored as NULL", nulls)
		}
		var untraced []string
		if err := s.DB().Raw("SELECT id FROM scans WHERE trace_parent IS NULL").Scan(&untraced).Error; err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(untraced, []string{one.ID}) {
			t.Fatalf("scans with a NULL trace_parent: %v, want only %s", untraced, one.ID)
		}
		// The poll reads the traceparent back with the scan.
		pending, err := w.PendingScans(ctx, at.Add(time.Hour), 500)
		if err != nil {
			t.Fatal(err)
		}
		for _, sc := range pending {
			if want := fullScan(0, at); sc.ID != one.ID && sc.TraceParent == "" || sc.ID == one.ID && sc.TraceParent != "" {
				t.Fatalf("pending scan %s has traceparent %q (a full scan's looks like %q)", sc.ID, sc.TraceParent, want.TraceParent)
			}
		}
		if len(pending) != 1+len(batch)+len(large) {
			t.Fatalf("%d pending scans, want %d", len(pending), 1+len(batch)+len(large))
		}
	})
}

// A coordinate that is not a finite number cannot be stored in
// PostgreSQL's numeric column as sent: it is stored as unknown (NULL)
// rather than failing the batch and its neighbours.
func TestInsertScansStoresNonFiniteCoordinatesAsUnknownOnPostgres(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *models.Store, w *outbox.Writer) {
		if s.DB().Name() != "postgres" {
			t.Skip("SQLite stores the float64 as it is")
		}
		ctx := context.Background()
		at := time.Now().UTC().Truncate(time.Microsecond)
		nan, inf := math.NaN(), math.Inf(1)
		sc := fullScan(1, at)
		sc.Latitude, sc.Longitude = &nan, &inf
		if _, err := w.InsertScans(ctx, []models.Scan{sc, fullScan(2, at)}); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetScan(ctx, "ws_1", sc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Latitude != nil || got.Longitude != nil {
			t.Fatalf("coordinates %v, %v; want unknown (nil)", deref(got.Latitude), deref(got.Longitude))
		}
	})
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

// The recorder retries a failed batch scan by scan, so a batch must fail as
// a whole: a duplicate leaves none of its neighbours behind.
func TestInsertScansBatchIsAtomic(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *models.Store, w *outbox.Writer) {
		ctx := context.Background()
		at := time.Now().UTC().Truncate(time.Microsecond)
		if _, err := w.InsertScans(ctx, []models.Scan{fullScan(2, at)}); err != nil {
			t.Fatal(err)
		}
		small := []models.Scan{fullScan(1, at), fullScan(2, at), fullScan(3, at)}
		// On PostgreSQL the duplicate is in the last of several INSERTs:
		// the ones before it must be undone too.
		var large []models.Scan
		for i := range outbox.PostgresMaxRows + 1 {
			large = append(large, fullScan(10+i, at))
		}
		large = append(large, fullScan(2, at))
		for _, batch := range [][]models.Scan{small, large} {
			if _, err := w.InsertScans(ctx, batch); err == nil {
				t.Fatalf("batch of %d with a duplicate ID inserted", len(batch))
			}
			for _, sc := range batch {
				if _, err := s.GetScan(ctx, "ws_1", sc.ID); err == nil && sc.ID != "scan_0002" {
					t.Fatalf("%s was inserted by the failed batch of %d", sc.ID, len(batch))
				}
			}
		}
	})
}

func TestOutboxConcurrentInsertAndDispatch(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *models.Store, w *outbox.Writer) {
		ctx := context.Background()
		addEndpoint(t, s, models.Endpoint{ID: "ep_all", WorkspaceID: "ws_1", Enabled: true, AllCodes: true})
		at := time.Now().UTC().Truncate(time.Microsecond)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for writer := range 8 { // more writers than pooled connections
			wg.Add(1)
			go func() {
				defer wg.Done()
				for b := range 5 {
					var batch []models.Scan
					for i := range 1 + b*7 {
						batch = append(batch, fullScan(writer*1000+b*100+i, at))
					}
					if _, err := w.InsertScans(ctx, batch); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		pending, err := w.PendingScans(ctx, at.Add(time.Second), 1000)
		if err != nil || len(pending) != 8*(1+8+15+22+29) {
			t.Fatalf("pending = %d (%v), want %d", len(pending), err, 8*(1+8+15+22+29))
		}
		var ids []string
		for i, sc := range pending {
			if i%3 != 0 {
				ids = append(ids, sc.ID)
			}
		}
		if err := w.MarkDispatched(ctx, ids); err != nil {
			t.Fatal(err)
		}
		left, err := w.PendingScans(ctx, at.Add(time.Second), 1000)
		if err != nil || len(left) != len(pending)-len(ids) {
			t.Fatalf("pending after marking %d of %d: %d (%v)", len(ids), len(pending), len(left), err)
		}
		for _, sc := range left {
			for _, id := range ids {
				if sc.ID == id {
					t.Fatalf("%s still pending after MarkDispatched", id)
				}
			}
		}
	})
}

// A scan no endpoint takes is dispatched as it is inserted: it never enters
// the outbox. The rule is the dispatcher's: endpoints of the scan's
// workspace (disabled ones too: their deliveries park), for all codes or listing the scan's, human-only ones for
// scans without a bot verdict.
func TestInsertScansDispatchesScansNoEndpointTakes(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *models.Store, w *outbox.Writer) {
		ctx := context.Background()
		addEndpoint(t, s, models.Endpoint{ID: "ep_listed", WorkspaceID: "ws_1", Enabled: true}, "code_listed")
		addEndpoint(t, s, models.Endpoint{ID: "ep_off", WorkspaceID: "ws_1", Enabled: false, AllCodes: true})
		addEndpoint(t, s, models.Endpoint{ID: "ep_humans", WorkspaceID: "ws_2", Enabled: true, AllCodes: true, HumanOnly: true})
		addEndpoint(t, s, models.Endpoint{ID: "ep_other", WorkspaceID: "ws_3", Enabled: true}, "code_unlisted")

		at := time.Now().UTC().Truncate(time.Microsecond)
		cases := []struct {
			ws, code string
			bot      bool
			pending  bool
		}{
			{"ws_1", "code_listed", false, true},   // ep_listed
			{"ws_1", "code_listed", true, true},    // ep_listed takes bots
			{"ws_1", "code_unlisted", false, true}, // ep_off, disabled: its delivery parks
			{"ws_2", "code_any", false, true},      // ep_humans
			{"ws_2", "code_any", true, false},      // a bot: ep_humans skips it
			{"ws_9", "code_listed", false, false},  // no endpoint in ws_9
		}
		wantPending := map[string]bool{}
		var scans []models.Scan
		for n := 1; len(scans) < 2*len(cases)+outbox.PostgresMaxRows; n++ {
			c := cases[(n-1)%len(cases)]
			sc := fullScan(n, at)
			sc.WorkspaceID, sc.CodeID, sc.IsBot = c.ws, c.code, c.bot
			scans = append(scans, sc)
			wantPending[sc.ID] = c.pending
		}
		// One scan, a small batch and one that PostgreSQL takes in several
		// INSERTs.
		six := len(cases)
		for _, batch := range [][]models.Scan{scans[:1], scans[1:six], scans[six:]} {
			before := slices.Clone(batch)
			pending, err := w.InsertScans(ctx, batch)
			if err != nil {
				t.Fatal(err)
			}
			// The pending scans, in the batch's order, as stored.
			var want []models.Scan
			for _, sc := range batch {
				if wantPending[sc.ID] {
					want = append(want, sc)
				}
			}
			if diff := cmp.Diff(want, pending, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("batch of %d: InsertScans's pending scans (-want +got):\n%s", len(batch), diff)
			}
			if diff := cmp.Diff(before, batch); diff != "" {
				t.Errorf("batch of %d: InsertScans changed its input (-before +after):\n%s", len(batch), diff)
			}
		}
		pending, err := w.PendingScans(ctx, at.Add(time.Second), 100)
		if err != nil {
			t.Fatal(err)
		}
		var got, want []string
		for _, sc := range pending {
			got = append(got, sc.ID)
		}
		for _, sc := range scans {
			if wantPending[sc.ID] {
				want = append(want, sc.ID)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("pending in the database: %v, want %v", got, want)
		}
	})
}

// Whether a scan is pending follows the endpoints as they are when it is
// inserted, also when they change between two batches of one code (on
// SQLite the insert keeps earlier answers while no other connection wrote).
func TestInsertScansFollowsEndpointChangesBetweenBatches(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *models.Store, w *outbox.Writer) {
		ctx := context.Background()
		at := time.Now().UTC().Truncate(time.Microsecond)
		insert := func(i int) (pending bool) {
			t.Helper()
			batch := []models.Scan{fullScan(i, at)}
			batch[0].IsBot = false
			made, err := w.InsertScans(ctx, batch)
			if err != nil {
				t.Fatal(err)
			}
			return len(made) == 1
		}
		if insert(1) || insert(2) {
			t.Fatal("pending without an endpoint")
		}
		addEndpoint(t, s, models.Endpoint{ID: "ep_new", WorkspaceID: "ws_1", Enabled: true}, "code_1")
		if !insert(3) {
			t.Fatal("a scan after the endpoint was added is not pending")
		}
		if err := s.DB().Model(&models.Endpoint{}).Where("id = ?", "ep_new").Update("enabled", false).Error; err != nil {
			t.Fatal(err)
		}
		if !insert(4) {
			t.Fatal("a scan after the endpoint was disabled is not pending: its delivery must park")
		}
		if err := s.DeleteEndpoint(ctx, "ws_1", "ep_new"); err != nil {
			t.Fatal(err)
		}
		if insert(5) {
			t.Fatal("a scan after the endpoint was deleted is pending")
		}
	})
}

// The statements are prepared by their first user; a first user whose
// context is already cancelled must not leave the outbox broken for good.
func TestOutboxSurvivesCancelledFirstUse(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *models.Store, w *outbox.Writer) {
		cancelled, cancel := context.WithCancel(context.Background())
		cancel()
		_, _ = w.InsertScans(cancelled, []models.Scan{fullScan(1, time.Now().UTC())}) // may fail: its context is gone
		if _, err := w.InsertScans(context.Background(), []models.Scan{fullScan(2, time.Now().UTC())}); err != nil {
			t.Fatalf("insert after a cancelled first use: %v", err)
		}
		if err := w.MarkDispatched(context.Background(), []string{"scan_0002"}); err != nil {
			t.Fatalf("mark dispatched after a cancelled first use: %v", err)
		}
	})
}

// The store's writing connection never checkpoints by itself: its frames
// stay in the WAL (past SQLite's usual 1,000 pages) until CheckpointWAL
// copies them into the database file. (Asking SQLite for the WAL's state
// would checkpoint it: the files' sizes tell instead.)
func TestCheckpointWALIsTheWritersOnlyCheckpoint(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.db")
	db, err := models.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := models.Migrate(db); err != nil {
		t.Fatal(err)
	}
	w := outbox.NewWriter(models.NewStore(db, time.Now))
	ctx := context.Background()
	at := time.Now().UTC()
	for b := range 30 { // about 8 MiB of rows: twice the WAL of an autocheckpoint
		var batch []models.Scan
		for i := range 200 {
			sc := fullScan(b*200+i, at)
			sc.UserAgent = strings.Repeat("u", 1024)
			batch = append(batch, sc)
		}
		if _, err := w.InsertScans(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	size := func(name string) int64 {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	const mib = 1 << 20
	if wal, main := size(path+"-wal"), size(path); wal < 6*mib || main > 2*mib {
		t.Fatalf("before CheckpointWAL: WAL %d bytes, database %d: the writer checkpointed", wal, main)
	}
	if complete, err := w.CheckpointWAL(ctx); err != nil || !complete {
		t.Fatalf("CheckpointWAL: complete %v, error %v; want the whole log copied", complete, err)
	}
	if main := size(path); main < 6*mib {
		t.Fatalf("after CheckpointWAL the database file holds %d bytes", main)
	}
	// The log was copied to its end, so the next transaction writes it
	// from its beginning again: the file does not grow.
	wal := size(path + "-wal")
	if _, err := w.InsertScans(ctx, []models.Scan{fullScan(1_000_000, at)}); err != nil {
		t.Fatal(err)
	}
	if after := size(path + "-wal"); after != wal {
		t.Errorf("WAL %d bytes after one more scan, %d before: the log did not start over", after, wal)
	}
}

// Under a steady stream of commits CheckpointWAL still copies the log to
// its end (its second pass holds the writer back), so the log starts over
// instead of growing until traffic pauses.
func TestCheckpointWALCompletesBesideAWriter(t *testing.T) {
	w := outbox.NewWriter(models.NewStore(testdb.Open(t, "sqlite"), time.Now))
	ctx := context.Background()
	at := time.Now().UTC()

	stop := make(chan struct{})
	written := make(chan error, 1)
	go func() {
		for n := 0; ; n++ {
			select {
			case <-stop:
				written <- nil
				return
			default:
			}
			if _, err := w.InsertScans(ctx, []models.Scan{fullScan(n, at)}); err != nil {
				written <- err
				return
			}
		}
	}()
	for i := range 20 {
		time.Sleep(5 * time.Millisecond) // let the writer commit meanwhile
		complete, err := w.CheckpointWAL(ctx)
		if err != nil || !complete {
			t.Errorf("checkpoint %d beside the writer: complete %v, error %v; want the whole log copied", i, complete, err)
		}
	}
	close(stop)
	if err := <-written; err != nil {
		t.Fatal(err)
	}
}
