package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/scanforge/scanforge/internal/app"
	"github.com/scanforge/scanforge/internal/metrics"
	"github.com/scanforge/scanforge/internal/testdb"
	"github.com/scanforge/scanforge/models"
	"github.com/scanforge/scanforge/workflows"
)

// Operations: readiness, metrics, graceful shutdown, end to end.

// operateStack is a stack on the given store and Temporal client that runs
// run (Serve, Work or both).
func operateStack(t *testing.T, store *models.Store, c client.Client, reg *metrics.Registry,
	run func(a *app.App, ln net.Listener, ctx context.Context) error) *stack {
	t.Helper()
	ctx := context.Background()
	ws, err := store.CreateWorkspace(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	_, key, err := store.CreateAPIKey(ctx, ws.ID, "test")
	if err != nil {
		t.Fatal(err)
	}
	s := &stack{t: t, apiKey: key, store: store, temporal: c, metrics: reg}
	s.start(run)
	return s
}

func serveOnly(a *app.App, ln net.Listener, ctx context.Context) error { return a.Serve(ctx, ln) }

// get answers GET baseURL+path: status and body.
func (s *stack) get(path string) (int, string) {
	s.t.Helper()
	res, err := http.Get(s.baseURL + path)
	if err != nil {
		s.t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

// waitUntil polls cond until it holds. The bound only keeps a broken build
// from hanging; it asserts nothing about speed.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// tcpProxy forwards connections to target until it is taken down; brought
// up again it listens on the same address. It stands for the network path
// to the database.
type tcpProxy struct {
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	p := &tcpProxy{target: target, conns: map[net.Conn]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.down)
	return p
}

func (p *tcpProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", p.target)
			if err != nil {
				in.Close()
				continue
			}
			p.mu.Lock()
			p.conns[in], p.conns[out] = true, true
			p.mu.Unlock()
			go func() { _, _ = io.Copy(out, in); out.Close() }()
			go func() { _, _ = io.Copy(in, out); in.Close() }()
		}
	}()
}

// down refuses new connections and cuts the open ones.
func (p *tcpProxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

func (p *tcpProxy) up(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatalf("proxy up again on %s: %v", p.addr, err)
	}
	p.serve(ln)
}

func TestReadyzFollowsTheDatabase(t *testing.T) {
	// The app reaches PostgreSQL through a proxy the test can cut.
	dbURL, err := url.Parse(testdb.URL(t, "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	proxy := newTCPProxy(t, dbURL.Host)
	dbURL.Host = proxy.addr
	db, err := models.Open(dbURL.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
	})
	if err := models.Migrate(db); err != nil {
		t.Fatal(err)
	}
	_, c := startTemporal(t)
	s := operateStack(t, models.NewStore(db, time.Now, models.WithSecretBox(testdb.SecretBox(t))), c, nil, serveOnly)

	readiness := func() (int, map[string]string) {
		status, body := s.get("/readyz")
		var checks map[string]string
		if err := json.Unmarshal([]byte(body), &checks); err != nil {
			t.Fatalf("/readyz answered %d %q", status, body)
		}
		return status, checks
	}
	if status, checks := readiness(); status != http.StatusOK || checks["database"] != "ok" || checks["temporal"] != "ok" {
		t.Fatalf("ready at start: %d %v", status, checks)
	}

	proxy.down()
	var checks map[string]string
	waitUntil(t, "/readyz to report the database unreachable", func() bool {
		var status int
		status, checks = readiness()
		return status == http.StatusServiceUnavailable
	})
	if checks["database"] != "unreachable" || checks["temporal"] != "ok" {
		t.Errorf("not ready: %v, want only the database unreachable", checks)
	}
	if status, _ := s.get("/healthz"); status != http.StatusOK {
		t.Errorf("/healthz = %d while the database is down; the process is alive", status)
	}

	proxy.up(t)
	waitUntil(t, "/readyz to recover", func() bool {
		status, _ := readiness()
		return status == http.StatusOK
	})
}

// scrapeMetrics reads /metrics and parses it with Prometheus's parser.
func (s *stack) scrapeMetrics() map[string]*dto.MetricFamily {
	s.t.Helper()
	status, body := s.get("/metrics")
	if status != http.StatusOK {
		s.t.Fatalf("/metrics: %d %s", status, body)
	}
	var parser expfmt.TextParser
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		s.t.Fatalf("/metrics is not Prometheus text: %v", err)
	}
	return families
}

// metricValue sums the counter, gauge or histogram sample count of the
// series of name whose labels include want; -1 when there is none.
func metricValue(families map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	total, found := 0.0, false
	for _, m := range families[name].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		match := true
		for k, v := range want {
			match = match && labels[k] == v
		}
		if !match {
			continue
		}
		found = true
		total += m.GetCounter().GetValue() + m.GetGauge().GetValue() + float64(m.GetHistogram().GetSampleCount())
	}
	if !found {
		return -1
	}
	return total
}

func TestMetricsMoveAfterAScanAndADelivery(t *testing.T) {
	srv, _ := startTemporal(t)
	reg := metrics.New()
	c, err := client.Dial(client.Options{
		HostPort:       srv.FrontendAddress(),
		Namespace:      srv.Namespace(),
		Logger:         sdklog.NewStructuredLogger(testLogger()),
		MetricsHandler: reg.Temporal(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	store := models.NewStore(testdb.Open(t, "sqlite"), time.Now, models.WithSecretBox(testdb.SecretBox(t)))
	s := operateStack(t, store, c, reg, func(a *app.App, ln net.Listener, ctx context.Context) error { return a.Run(ctx, ln) })

	before := s.scrapeMetrics()
	if v := metricValue(before, "scanforge_outbox_backlog", nil); v != 0 {
		t.Errorf("backlog at start = %v", v)
	}
	if v := metricValue(before, "scanforge_redirects_total", nil); v != -1 {
		t.Errorf("redirects counted before any scan: %v", v)
	}

	rcv := newReceiver(t, http.StatusOK)
	s.call("POST", "/api/v1/codes", map[string]any{"slug": "metered", "destination_url": "https://example.com"}, http.StatusCreated)
	s.call("POST", "/api/v1/endpoints", map[string]any{"url": rcv.URL}, http.StatusCreated)
	s.scan("/q/metered", nil)
	rcv.next(t)

	var after map[string]*dto.MetricFamily
	waitUntil(t, "the delivery to be counted as delivered", func() bool {
		after = s.scrapeMetrics()
		return metricValue(after, workflows.MetricDeliveries, map[string]string{"state": "delivered"}) == 1
	})
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"scanforge_redirects_total", map[string]string{"source": "qr", "status": "302"}, 1},
		{"scanforge_redirect_duration_seconds", map[string]string{"source": "qr"}, 1},
		{"scanforge_scans_recorded_total", nil, 1},
		{"scanforge_workflow_starts_total", map[string]string{"result": "started"}, 1},
		{"scanforge_delivery_attempts_total", map[string]string{"outcome": "delivered"}, 1},
		{"scanforge_delivery_attempt_duration_seconds", map[string]string{"outcome": "delivered"}, 1},
		{"scanforge_outbox_backlog", nil, 0},
		{"scanforge_outbox_oldest_age_seconds", nil, 0},
		{"scanforge_http_requests_total", map[string]string{"route": "/api/v1/codes", "method": "POST", "status": "201"}, 1},
	} {
		if got := metricValue(after, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	// The Temporal SDK's own metrics come through the same registry. It
	// counts a completed workflow once the server has taken the workflow
	// task's completion: after the workflow code counted the delivery.
	waitUntil(t, "the SDK to count the completed workflow", func() bool {
		after = s.scrapeMetrics()
		return metricValue(after, "temporal_workflow_completed", nil) >= 1
	})
	if metricValue(after, "temporal_request", nil) < 1 {
		t.Error("SDK metric temporal_request missing")
	}
}

// TestShutdownDuringABurstOfRedirectsLosesNoScan keeps many clients
// redirecting while the app is told to stop, so requests are in flight and
// still arriving during the shutdown, and checks that every request answered
// 302 has its scan in the database. Each request carries its own Referer,
// which the scan records.
func TestShutdownDuringABurstOfRedirectsLosesNoScan(t *testing.T) {
	for _, kind := range testdb.Kinds {
		t.Run(kind, func(t *testing.T) {
			_, c := startTemporal(t)
			store := models.NewStore(testdb.Open(t, kind), time.Now, models.WithSecretBox(testdb.SecretBox(t)))
			s := operateStack(t, store, c, nil, serveOnly)
			s.call("POST", "/api/v1/codes", map[string]any{"slug": "burst", "destination_url": "https://example.com"}, http.StatusCreated)

			const (
				clients   = 64   // concurrent scanners, each firing redirects one after another
				maxIssued = 5000 // a bound in case the app never stops
				stopAfter = 300  // answers before the app is told to stop
			)
			httpClient := &http.Client{
				Transport:     &http.Transport{MaxIdleConnsPerHost: clients},
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			}
			var (
				issued, answered, late atomic.Int64 // late: answered after the stop began
				stopping               atomic.Bool
				stopOnce               sync.Once
				stopped                = make(chan struct{})
				mu                     sync.Mutex
				redirected             []string // referrers of the requests answered 302
				refused                int
				wg                     sync.WaitGroup
			)
			stop := func() {
				stopOnce.Do(func() { stopping.Store(true); go func() { s.stop(); close(stopped) }() })
			}
			for range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						n := issued.Add(1)
						if n > maxIssued {
							return
						}
						ref := fmt.Sprintf("https://burst.test/%d", n)
						req, _ := http.NewRequest(http.MethodGet, s.baseURL+"/q/burst", nil)
						req.Header.Set("Referer", ref)
						res, err := httpClient.Do(req)
						if err == nil {
							_, _ = io.Copy(io.Discard, res.Body)
							res.Body.Close()
						}
						if stopping.Load() {
							late.Add(1)
						}
						ok := err == nil && res.StatusCode == http.StatusFound
						mu.Lock()
						if ok {
							redirected = append(redirected, ref)
						} else {
							refused++
						}
						mu.Unlock()
						if answered.Add(1) == stopAfter {
							stop()
						}
						if !ok {
							return // the server is going or gone
						}
					}
				}()
			}
			wg.Wait()
			stop()
			<-stopped // Serve has returned: the recorder has flushed

			var recorded []string
			if err := store.DB().Model(&models.Scan{}).Where("slug = ?", "burst").Pluck("referrer", &recorded).Error; err != nil {
				t.Fatal(err)
			}
			have := map[string]bool{}
			for _, r := range recorded {
				have[r] = true
			}
			lost := 0
			for _, r := range redirected {
				if !have[r] {
					lost++
				}
			}
			t.Logf("%d redirected, %d answered after the stop began, %d refused or cut, %d scans recorded",
				len(redirected), late.Load(), refused, len(recorded))
			if len(redirected) < stopAfter || issued.Load() > maxIssued {
				t.Fatalf("%d redirects, %d issued: the burst did not straddle the shutdown", len(redirected), issued.Load())
			}
			if lost > 0 {
				t.Fatalf("%d of %d redirected scans are not in the database", lost, len(redirected))
			}
		})
	}
}

// TestOperateWorkerServesHealthAndMetrics runs what `scanforge worker`
// runs: the worker and its operations server.
func TestOperateWorkerServesHealthAndMetrics(t *testing.T) {
	_, c := startTemporal(t)
	store := models.NewStore(testdb.Open(t, "sqlite"), time.Now, models.WithSecretBox(testdb.SecretBox(t)))
	s := operateStack(t, store, c, metrics.New(), func(a *app.App, ln net.Listener, ctx context.Context) error {
		errs := make(chan error, 2)
		go func() { errs <- a.Work(ctx) }()
		go func() { errs <- a.ServeOps(ctx, ln) }()
		return errors.Join(<-errs, <-errs)
	})
	if status, body := s.get("/healthz"); status != http.StatusOK {
		t.Errorf("/healthz: %d %s", status, body)
	}
	if status, body := s.get("/readyz"); status != http.StatusOK || !strings.Contains(body, `"temporal":"ok"`) {
		t.Errorf("/readyz: %d %s", status, body)
	}
	families := s.scrapeMetrics()
	if _, ok := families["go_sql_open_connections"]; !ok {
		t.Errorf("no database pool metrics on the worker")
	}
	if status, _ := s.get("/api/v1/codes"); status != http.StatusNotFound {
		t.Errorf("the operations server serves the API: %d", status)
	}
}
