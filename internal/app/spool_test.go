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
	s := &stack{t: t, apiKey: key, store: store, temporal: c, temporalAddr: srv.FrontendAddress(),
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
