package enrich

import (
	"context"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"
)

// watch runs g.Watch until the test ends and returns the channel of its
// reload outcomes.
func watch(t *testing.T, g *GeoIP, reload <-chan os.Signal, poll time.Duration) <-chan error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	outcomes := make(chan error, 10)
	done := make(chan struct{})
	go func() {
		g.Watch(ctx, reload, poll, func(err error) { outcomes <- err })
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done // Watch returns when its context ends
	})
	return outcomes
}

// nextOutcome waits for the next reload attempt; the bound only stops a
// broken test from hanging, it is not a timing assertion.
func nextOutcome(t *testing.T, outcomes <-chan error) error {
	t.Helper()
	select {
	case err := <-outcomes:
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("no reload happened")
		return nil
	}
}

func cityOf(t *testing.T, g *GeoIP) string {
	t.Helper()
	geo, err := g.Locate(netip.MustParseAddr("81.2.69.142"))
	if err != nil {
		t.Fatal(err)
	}
	return geo.City
}

func TestWatchReloadsOnSignal(t *testing.T) {
	g, path := openTestDB(t)
	hup := make(chan os.Signal, 1)
	outcomes := watch(t, g, hup, 0) // no file watch: only the signal reloads

	writeCityDB(t, path, "GeoIP2-City", testRecords("City of London"))
	hup <- syscall.SIGHUP
	if err := nextOutcome(t, outcomes); err != nil {
		t.Fatal(err)
	}
	if got := cityOf(t, g); got != "City of London" {
		t.Fatalf("after SIGHUP: city = %q", got)
	}

	// A broken file: the reload fails and names it, the old data stays.
	if err := os.WriteFile(path, []byte("truncated"), 0o600); err != nil {
		t.Fatal(err)
	}
	hup <- syscall.SIGHUP
	if err := nextOutcome(t, outcomes); err == nil {
		t.Fatal("reloading a broken file succeeded")
	}
	if got := cityOf(t, g); got != "City of London" {
		t.Fatalf("after a failed reload: city = %q", got)
	}
}

func TestWatchReloadsWhenTheFileChanges(t *testing.T) {
	g, path := openTestDB(t)
	outcomes := watch(t, g, nil, 5*time.Millisecond)

	writeCityDB(t, path, "GeoIP2-City", testRecords("City of London"))
	if err := nextOutcome(t, outcomes); err != nil {
		t.Fatal(err)
	}
	if got := cityOf(t, g); got != "City of London" {
		t.Fatalf("after the file changed: city = %q", got)
	}

	// A broken replacement is tried once, then left alone until it changes.
	if err := os.WriteFile(path, []byte("truncated"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := nextOutcome(t, outcomes); err == nil {
		t.Fatal("reloading a broken file succeeded")
	}
	writeCityDB(t, path, "GeoIP2-City", testRecords("Londinium"))
	if err := nextOutcome(t, outcomes); err != nil {
		t.Fatalf("the fixed file: %v", err)
	}
	if got := cityOf(t, g); got != "Londinium" {
		t.Fatalf("after the fix: city = %q", got)
	}
}
