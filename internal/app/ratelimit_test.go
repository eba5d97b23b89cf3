package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/scanforge/scanforge/internal/app"
	"github.com/scanforge/scanforge/internal/config"
	"github.com/scanforge/scanforge/internal/testdb"
	"github.com/scanforge/scanforge/models"
	"github.com/scanforge/scanforge/workflows"
)

// newTwoWorkerStack is the production shape on PostgreSQL: an app that
// serves (API, redirects) and two delivery workers, each with its own
// Temporal client and identity, sharing the task queue and the app
// database. outboxIn says which process starts deliveries
// (SCANFORGE_OUTBOX_IN): serve starts them without eagerness, so their
// tasks spread over both workers. logs, if given, receive each worker's
// log at info level.
func newTwoWorkerStack(t *testing.T, outboxIn string, logs ...*logBuffer) (serve *stack, workers []*stack) {
	t.Helper()
	db, dbURL := testdb.OpenWithURL(t, "postgres")
	store := models.NewStore(db, time.Now, models.WithSecretBox(testdb.SecretBox(t)))
	srv, tc := startTemporal(t)
	ws, err := store.CreateWorkspace(context.Background(), "test")
	if err != nil {
		t.Fatal(err)
	}
	_, key, err := store.CreateAPIKey(context.Background(), ws.ID, "test")
	if err != nil {
		t.Fatal(err)
	}
	inMode := func(mode config.Mode) func(*config.Config) {
		return func(c *config.Config) { c.Mode, c.OutboxIn, c.DatabaseURL = mode, outboxIn, dbURL }
	}
	s := &stack{t: t, apiKey: key, store: store, temporal: tc, temporalAddr: srv.FrontendAddress(), configure: inMode(config.ModeServe)}
	s.start(serveOnly)
	for i, identity := range workerIdentities {
		c, err := client.Dial(client.Options{
			HostPort:  srv.FrontendAddress(),
			Namespace: srv.Namespace(),
			Identity:  identity,
			Logger:    sdklog.NewStructuredLogger(testLogger()),
		})
		if err != nil {
			t.Fatalf("dial temporal: %v", err)
		}
		t.Cleanup(c.Close)
		w := &stack{t: t, store: store, temporal: c, configure: inMode(config.ModeWorker)}
		if i < len(logs) {
			w.logger = slog.New(slog.NewTextHandler(logs[i], &slog.HandlerOptions{Level: slog.LevelInfo}))
		}
		w.start(func(a *app.App, _ net.Listener, ctx context.Context) error { return a.Work(ctx) })
		workers = append(workers, w)
	}
	return s, workers
}

var workerIdentities = []string{"worker-a", "worker-b"}

// timedReceiver answers 200 (or what answer says) and keeps the arrival
// time and webhook-id of every request; hold keeps each request open that
// long, and it tracks how many were open at once.
type timedReceiver struct {
	*httptest.Server
	hold   time.Duration
	answer func(n int) (status int, retryAfter string)
	mu     sync.Mutex
	times  []time.Time
	ids    []string
	open   int
	peak   int
}

func newTimedReceiver(t *testing.T, hold time.Duration) *timedReceiver {
	r := &timedReceiver{hold: hold}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		r.mu.Lock()
		n := len(r.times)
		r.times = append(r.times, time.Now())
		r.ids = append(r.ids, req.Header.Get("Webhook-Id"))
		r.open++
		r.peak = max(r.peak, r.open)
		r.mu.Unlock()
		time.Sleep(r.hold)
		status, retryAfter := http.StatusOK, ""
		if r.answer != nil {
			status, retryAfter = r.answer(n)
		}
		r.mu.Lock()
		r.open--
		r.mu.Unlock()
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *timedReceiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.times)
}

func (r *timedReceiver) arrivals() []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.times)
}

// distinctIDs counts the different deliveries received.
func (r *timedReceiver) distinctIDs() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := map[string]bool{}
	for _, id := range r.ids {
		seen[id] = true
	}
	return len(seen)
}

// maxInWindow is the most arrivals within any window of length w, and
// their offsets from the first of them.
func maxInWindow(times []time.Time, w time.Duration) (int, []time.Duration) {
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	most, from, j := 0, 0, 0
	for i := range times {
		for times[i].Sub(times[j]) >= w {
			j++
		}
		if i-j+1 > most {
			most, from = i-j+1, j
		}
	}
	var offsets []time.Duration
	for _, at := range times[from : from+most] {
		offsets = append(offsets, at.Sub(times[from]).Round(time.Millisecond))
	}
	return most, offsets
}

// addEndpoint creates an endpoint of codeID with the given limits.
func (s *stack) addEndpoint(url, codeID string, limits map[string]any) string {
	body := map[string]any{"url": url, "code_ids": []string{codeID}}
	for k, v := range limits {
		body[k] = v
	}
	return s.call(http.MethodPost, "/api/v1/endpoints", body, http.StatusCreated)["id"].(string)
}

// workerIdentities counts, by worker identity, the workflow tasks and
// attempt activities of the given deliveries.
func (s *stack) workerIdentities(workflowIDs []string) map[string]int {
	s.t.Helper()
	seen := map[string]int{}
	for _, id := range workflowIDs {
		iter := s.temporal.GetWorkflowHistory(context.Background(), id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for iter.HasNext() {
			ev, err := iter.Next()
			if err != nil {
				s.t.Fatal(err)
			}
			if a := ev.GetActivityTaskStartedEventAttributes(); a != nil {
				seen[a.GetIdentity()]++
			}
			if a := ev.GetWorkflowTaskStartedEventAttributes(); a != nil {
				seen[a.GetIdentity()]++
			}
		}
	}
	return seen
}

// An endpoint limited to 5 deliveries a second gets at most 5 in any
// second (6 with the tolerance of a send landing on the window's edge)
// from two workers sharing the task queue, during a burst of 500 scans,
// each delivery once; an unlimited endpoint of the same code gets all 500.
func TestRateLimitHoldsAcrossTwoWorkers(t *testing.T) {
	const scans, rate = 500, 5
	s, _ := newTwoWorkerStack(t, config.OutboxInServe)
	limited, unlimited := newTimedReceiver(t, 0), newTimedReceiver(t, 0)
	codeID, limitedID, _ := s.setup("burst", limited.URL)
	s.call(http.MethodPatch, "/api/v1/endpoints/"+limitedID, map[string]any{"rate_limit": rate}, http.StatusOK)
	s.addEndpoint(unlimited.URL, codeID, nil)

	for range scans {
		s.scan("/l/burst", http.Header{"User-Agent": {iPhoneSafari}})
	}
	// With the outbox in serve, it counts a waiting delivery against its
	// in-flight bound for up to 10 s (it hears of first attempts only
	// from a worker in its own process), which paces the dispatch of the
	// whole burst: how far the limited endpoint got is logged, not
	// asserted (TestUnlimitedEndpointIsNotHeldBack asserts it in dev mode).
	waitLong(t, "all deliveries to the unlimited endpoint", func() bool { return unlimited.count() >= scans })
	limitedThen := limited.count()
	waitLong(t, "all deliveries to the limited endpoint", func() bool { return limited.count() >= scans })

	times := limited.arrivals()
	most, densest := maxInWindow(times, time.Second)
	span := times[len(times)-1].Sub(times[0])
	t.Logf("limited endpoint: %d deliveries over %s (%.2f/s), at most %d in any 1 s window; it had %d when the unlimited endpoint had all %d",
		len(times), span.Round(time.Millisecond), float64(len(times)-1)/span.Seconds(), most, limitedThen, scans)
	if most > rate+1 {
		t.Errorf("%d deliveries within one second to an endpoint limited to %d/s, at %v", most, rate, densest)
	}
	if n := limited.distinctIDs(); n != scans || limited.count() != scans {
		t.Errorf("limited endpoint got %d requests for %d deliveries, want %d once each", limited.count(), n, scans)
	}
	if n := unlimited.distinctIDs(); n != scans {
		t.Errorf("unlimited endpoint got %d different deliveries, want %d", n, scans)
	}

	// Both workers worked on the limited endpoint's deliveries.
	var stored []models.Scan
	if err := s.store.DB().Order("id").Find(&stored).Error; err != nil {
		t.Fatal(err)
	}
	var sample []string
	for i := 0; i < len(stored); i += 5 {
		sample = append(sample, workflows.DeliveryWorkflowID(stored[i].ID, limitedID))
	}
	ids := s.workerIdentities(sample)
	if ids[workerIdentities[0]] == 0 || ids[workerIdentities[1]] == 0 {
		t.Errorf("workflow tasks and attempt activities by worker: %v; want both workers", ids)
	}
	last := workflows.DeliveryWorkflowID(stored[len(stored)-1].ID, limitedID)
	if err := s.waitClosed(last); err != nil {
		t.Fatalf("last limited delivery: %v", err)
	}
	recordRun(t, s, last, "", "recorded-v4-rate-limited-200.json")
}

// In one process (dev mode) an unlimited endpoint of the same code gets
// a whole burst while a limited one has had only a part of it: a
// delivery waiting for its turn holds up no other.
func TestUnlimitedEndpointIsNotHeldBack(t *testing.T) {
	const scans = 200
	s := newStack(t, "sqlite")
	limited, unlimited := newTimedReceiver(t, 0), newTimedReceiver(t, 0)
	codeID, limitedID, _ := s.setup("mixed", limited.URL)
	s.call(http.MethodPatch, "/api/v1/endpoints/"+limitedID, map[string]any{"rate_limit": 2}, http.StatusOK)
	s.addEndpoint(unlimited.URL, codeID, nil)

	for range scans {
		s.scan("/l/mixed", http.Header{"User-Agent": {iPhoneSafari}})
	}
	waitLong(t, "all deliveries to the unlimited endpoint", func() bool { return unlimited.distinctIDs() >= scans })
	got := limited.count()
	t.Logf("the limited endpoint (2/s) had %d of %d deliveries when the unlimited one had all", got, scans)
	if got >= scans/2 {
		t.Errorf("the limited endpoint had %d of %d deliveries when the unlimited one had all: it held the other back", got, scans)
	}
}

// max_in_flight: a receiver that keeps every request open a while never
// has more than that many open at once, from two workers.
func TestMaxInFlightHoldsAcrossTwoWorkers(t *testing.T) {
	const scans, limit = 30, 2
	s, _ := newTwoWorkerStack(t, config.OutboxInServe)
	rcv := newTimedReceiver(t, 300*time.Millisecond)
	_, endpointID, _ := s.setup("held", rcv.URL)
	s.call(http.MethodPatch, "/api/v1/endpoints/"+endpointID, map[string]any{"max_in_flight": limit}, http.StatusOK)

	for range scans {
		s.scan("/l/held", http.Header{"User-Agent": {iPhoneSafari}})
	}
	waitLong(t, "all deliveries", func() bool { return rcv.distinctIDs() >= scans })
	rcv.mu.Lock()
	peak, got := rcv.peak, len(rcv.times)
	rcv.mu.Unlock()
	t.Logf("%d requests, at most %d open at once (max_in_flight %d)", got, peak, limit)
	if peak > limit {
		t.Errorf("%d requests open at once, max_in_flight is %d", peak, limit)
	}
	if peak < limit {
		t.Errorf("at most %d requests open at once: max_in_flight %d was never used in full", peak, limit)
	}
	if got != scans {
		t.Errorf("%d requests for %d deliveries", got, scans)
	}
}

// A 429 with Retry-After holds back the endpoint's whole backlog, not only
// the delivery it answered: nothing arrives until it has passed, then the
// backlog resumes at the endpoint's rate.
func TestRetryAfterHoldsTheEndpointsBacklog(t *testing.T) {
	const scans, retryAfter = 12, 3 * time.Second
	s, _ := newTwoWorkerStack(t, config.OutboxInWorker)
	rcv := newTimedReceiver(t, 0)
	rcv.answer = func(n int) (int, string) {
		if n == 2 {
			return http.StatusTooManyRequests, fmt.Sprint(int(retryAfter.Seconds()))
		}
		return http.StatusOK, ""
	}
	_, endpointID, _ := s.setup("busy", rcv.URL)
	s.call(http.MethodPatch, "/api/v1/endpoints/"+endpointID, map[string]any{"rate_limit": 2}, http.StatusOK)

	for range scans {
		s.scan("/l/busy", http.Header{"User-Agent": {iPhoneSafari}})
	}
	waitLong(t, "all deliveries", func() bool { return rcv.distinctIDs() >= scans })
	times := rcv.arrivals()
	tooMany := times[2]
	for i, at := range times[3:] {
		if gap := at.Sub(tooMany); gap < retryAfter {
			t.Errorf("request %d arrived %s after the 429 with Retry-After %s", i+4, gap.Round(time.Millisecond), retryAfter)
		}
	}
	if got := rcv.count(); got != scans+1 {
		t.Errorf("%d requests, want %d (one 429 retried)", got, scans+1)
	}
}
