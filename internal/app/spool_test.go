package app_test

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/scanforge/scanforge/internal/app"
	"github.com/scanforge/scanforge/internal/config"
	"github.com/scanforge/scanforge/internal/metrics"
	"github.com/scanforge/scanforge/internal/outbox"
	"github.com/scanforge/scanforge/internal/spool"
	"github.com/scanforge/scanforge/internal/testdb"
	"github.com/scanforge/scanforge/models"
)

// While PostgreSQL cannot be reached, a code this replica has seen keeps
// redirecting (its last known state), and every scan is synced to the
// local spool before its 302. When the database answers again, the scans
// are moved into it, each once and in order, handed to the outbox, and
// each is delivered as a webhook once.
func TestPostgresOutageCostsNoRedirectAndNoScan(t *testing.T) {
	srv, c := startTemporal(t)
	db, proxy := testdb.OpenPostgresViaProxy(t)
	store := models.NewStore(db, time.Now, models.WithSecretBox(testdb.SecretBox(t)))
	ctx := context.Background()
	ws, err := store.CreateWorkspace(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	_, key, err := store.CreateAPIKey(ctx, ws.ID, "test")
	if err != nil {
		t.Fatal(err)
	}
	spoolDir := t.TempDir()
	s := &stack{t: t, apiKey: key, store: store, temporal: c, temporalAddr: srv.FrontendAddress(), metrics: metrics.New(),
		configure: func(cfg *config.Config) { cfg.SpoolDir = spoolDir }}
	s.start(func(a *app.App, ln net.Listener, ctx context.Context) error { return a.Run(ctx, ln) })

	rcv := newReceiver(t, http.StatusOK)
	s.setup("outage", rcv.URL)
	s.scan("/q/outage", nil) // the replica has seen the code
	rcv.next(t)

	proxy.Cut()
	time.Sleep(1100 * time.Millisecond) // past the code cache's TTL: lookups ask the database, which fails
	const n = 60
	for range n {
		if loc := s.scan("/q/outage", nil); loc != "https://shop.example.com/spring" {
			t.Fatalf("redirected to %q during the outage", loc)
		}
		time.Sleep(20 * time.Millisecond) // spread over more than one TTL
	}
	var spooled []string
	paths, _ := filepath.Glob(filepath.Join(spoolDir, "segment-*.spool"))
	slices.Sort(paths)
	for _, p := range paths {
		scans, _, err := spool.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, sc := range scans {
			spooled = append(spooled, sc.ID)
		}
	}
	if len(spooled) != n || !slices.IsSorted(spooled) {
		t.Fatalf("spool holds %d scans (in order: %v), want the %d redirected during the outage", len(spooled), slices.IsSorted(spooled), n)
	}

	proxy.Restore(t)
	delivered := map[string]bool{}
	for len(delivered) < n {
		id := rcv.next(t).Header.Get("Webhook-Id")
		if delivered[id] {
			t.Fatalf("event %s delivered twice", id)
		}
		delivered[id] = true
	}
	for _, id := range spooled {
		if !delivered[outbox.EventID(id)] {
			t.Fatalf("scan %s was not delivered", id)
		}
	}
	var stored []string
	if err := db.Model(&models.Scan{}).Order("id").Pluck("id", &stored).Error; err != nil {
		t.Fatal(err)
	}
	if len(stored) != n+1 || !slices.Equal(stored[1:], spooled) {
		t.Fatalf("stored %d scans, want the first and each of the %d spooled once", len(stored), n)
	}
	if paths, _ := filepath.Glob(filepath.Join(spoolDir, "segment-*.spool")); len(paths) != 0 {
		t.Fatalf("%d segments left in the spool", len(paths))
	}
	m := s.scrapeMetrics()
	for name, want := range map[string]float64{
		"scanforge_spool_scans_total": n, "scanforge_spool_moved_total": n, "scanforge_spool_backlog": 0,
		"scanforge_spool_quarantined_total": 0, "scanforge_scans_recorded_total": n + 1,
		"scanforge_redirects_total": n + 1,
	} {
		if got := metricValue(m, name, nil); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
}

// Scans left in the spool when serve stopped (or crashed) while the
// database was down are moved by the next start, and delivered.
func TestSpoolLeftoversAreMovedAtStart(t *testing.T) {
	srv, c := startTemporal(t)
	db, proxy := testdb.OpenPostgresViaProxy(t)
	store := models.NewStore(db, time.Now, models.WithSecretBox(testdb.SecretBox(t)))
	ctx := context.Background()
	ws, err := store.CreateWorkspace(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	_, key, err := store.CreateAPIKey(ctx, ws.ID, "test")
	if err != nil {
		t.Fatal(err)
	}
	spoolDir := t.TempDir()
	s := &stack{t: t, apiKey: key, store: store, temporal: c, temporalAddr: srv.FrontendAddress(),
		configure: func(cfg *config.Config) { cfg.SpoolDir = spoolDir }}
	run := func(a *app.App, ln net.Listener, ctx context.Context) error { return a.Run(ctx, ln) }
	s.start(run)
	rcv := newReceiver(t, http.StatusOK)
	s.setup("leftover", rcv.URL)
	s.scan("/q/leftover", nil) // the replica has seen the code
	rcv.next(t)

	proxy.Cut()
	const n = 10
	for range n {
		s.scan("/q/leftover", nil)
	}
	s.stop() // the spool keeps them
	proxy.Restore(t)
	s.start(run)

	delivered := map[string]bool{}
	for len(delivered) < n {
		delivered[rcv.next(t).Header.Get("Webhook-Id")] = true
	}
	var count int64
	if err := db.Model(&models.Scan{}).Count(&count).Error; err != nil || count != n+1 {
		t.Fatalf("%d scans stored (%v), want %d", count, err, n+1)
	}
}

// Under a steady load of scans, cutting PostgreSQL off and back costs no
// redirect and no scan: every request answers 302, and the database ends
// with exactly one scan per 302.
func TestPostgresOutageUnderLoad(t *testing.T) {
	srv, c := startTemporal(t)
	db, proxy := testdb.OpenPostgresViaProxy(t)
	store := models.NewStore(db, time.Now, models.WithSecretBox(testdb.SecretBox(t)))
	ctx := context.Background()
	ws, err := store.CreateWorkspace(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	_, key, err := store.CreateAPIKey(ctx, ws.ID, "test")
	if err != nil {
		t.Fatal(err)
	}
	s := &stack{t: t, apiKey: key, store: store, temporal: c, temporalAddr: srv.FrontendAddress(),
		configure: func(cfg *config.Config) { cfg.SpoolDir = t.TempDir() }}
	s.start(func(a *app.App, ln net.Listener, ctx context.Context) error { return a.Run(ctx, ln) })
	s.call(http.MethodPost, "/api/v1/codes", map[string]any{"slug": "busy", "destination_url": "https://shop.example.com/busy"}, http.StatusCreated)
	s.scan("/q/busy", nil)

	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	stop := make(chan struct{})
	type tally struct{ found, other int }
	results := make(chan tally)
	const clients = 8
	for range clients {
		go func() {
			var n tally
			for {
				select {
				case <-stop:
					results <- n
					return
				default:
				}
				res, err := noFollow.Get(s.baseURL + "/q/busy")
				if err != nil {
					n.other++
					continue
				}
				res.Body.Close()
				if res.StatusCode == http.StatusFound {
					n.found++
				} else {
					n.other++
				}
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	proxy.Cut()
	time.Sleep(3 * time.Second)
	proxy.Restore(t)
	time.Sleep(time.Second)
	close(stop)
	var total tally
	for range clients {
		n := <-results
		total.found += n.found
		total.other += n.other
	}
	if total.other != 0 {
		t.Fatalf("%d of %d redirects did not answer 302", total.other, total.found+total.other)
	}

	want := int64(total.found + 1) // and the scan before the load
	var count int64
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if err := db.Model(&models.Scan{}).Count(&count).Error; err == nil && count == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d scans stored, want one per 302: %d", count, want)
		}
	}
	var distinct int64
	db.Raw("SELECT COUNT(DISTINCT id) FROM scans").Scan(&distinct)
	if distinct != want {
		t.Fatalf("%d distinct scans of %d", distinct, want)
	}
	t.Logf("%d redirects, all 302; %d scans stored", total.found, count)
}
