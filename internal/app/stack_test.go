package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/scanforge/scanforge/internal/app"
	"github.com/scanforge/scanforge/internal/config"
	"github.com/scanforge/scanforge/internal/devserver"
	"github.com/scanforge/scanforge/internal/metrics"
	"github.com/scanforge/scanforge/internal/testdb"
	"github.com/scanforge/scanforge/internal/tracing"
	"github.com/scanforge/scanforge/models"
	"github.com/scanforge/scanforge/workflows"
)

// stack is a whole ScanForge: an embedded Temporal server, an app database
// of one kind, and the API, outbox and worker of app.App on a real port.
type stack struct {
	t            *testing.T
	baseURL      string
	apiKey       string
	store        *models.Store
	temporal     client.Client
	temporalAddr string
	app          *app.App
	stop         func()
	logger       *slog.Logger         // the app's logger; testLogger() when nil
	configure    func(*config.Config) // adjusts testConfig() for this stack; optional
	metrics      *metrics.Registry    // the app's metrics; optional
	tracing      *tracing.Tracing     // the app's tracing, and the client's interceptors; optional
}

// withLogger makes the stack's app log to logger (e.g. to capture its output).
func withLogger(logger *slog.Logger) func(*stack) {
	return func(s *stack) { s.logger = logger }
}

func TestMain(m *testing.M) {
	gin.SetMode(gin.ReleaseMode) // no route dump in test output
	os.Exit(m.Run())
}

func testLogger() *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("SCANFORGE_TEST_VERBOSE") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

func testConfig() config.Config {
	return config.Config{
		Mode:              config.Mode("dev"),
		DeliveryTimeout:   2 * time.Second,
		RetryInitial:      200 * time.Millisecond,
		RetryMax:          time.Second,
		RetryHorizon:      time.Hour,
		OutboxConcurrency: 8,
		WorkerPollers:     4,
		LogLevel:          slog.LevelWarn,
		// The receivers are httptest servers on 127.0.0.1: as in dev mode.
		AllowPrivateNetworks: true,
		EncryptionKey:        testEncryptionKey,
	}
}

// testEncryptionKey is the stack's server secret: visitor keys derive from it.
var testEncryptionKey = []byte("0123456789abcdef0123456789abcdef")

// startTemporal starts an in-memory Temporal server and a client of it.
func startTemporal(t *testing.T) (*devserver.Server, client.Client) {
	t.Helper()
	srv, err := devserver.Start(context.Background(), devserver.Options{
		Logger:           testLogger(),
		SearchAttributes: workflows.SearchAttributeTypes(), // as `scanforge dev` does
	})
	if err != nil {
		t.Fatalf("start temporal: %v", err)
	}
	t.Cleanup(srv.Stop)
	c := dialTemporal(t, srv.FrontendAddress(), srv.Namespace())
	return srv, c
}

func dialTemporal(t *testing.T, addr, namespace string) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{
		HostPort:  addr,
		Namespace: namespace,
		Logger:    sdklog.NewStructuredLogger(testLogger()),
	})
	if err != nil {
		t.Fatalf("dial temporal: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// newStack starts Temporal and a store of kind, creates a workspace and an
// API key, and runs the app (serve + work) until the test ends.
func newStack(t *testing.T, kind string, opts ...func(*stack)) *stack {
	t.Helper()
	s := &stack{t: t}
	for _, opt := range opts {
		opt(s)
	}
	srv, c := startTemporal(t)
	if s.tracing != nil {
		c = dialTracedTemporal(t, srv, s.tracing)
	}
	store := models.NewStore(testdb.Open(t, kind), time.Now, models.WithSecretBox(testdb.SecretBox(t)))
	ctx := context.Background()
	ws, err := store.CreateWorkspace(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	_, key, err := store.CreateAPIKey(ctx, ws.ID, "test")
	if err != nil {
		t.Fatal(err)
	}
	s.apiKey, s.store, s.temporal, s.temporalAddr = key, store, c, srv.FrontendAddress()
	s.start(func(a *app.App, ln net.Listener, ctx context.Context) error { return a.Run(ctx, ln) })
	return s
}

// start runs run (Serve, Work or both) with a fresh app on a fresh port.
func (s *stack) start(run func(a *app.App, ln net.Listener, ctx context.Context) error) {
	s.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.t.Fatal(err)
	}
	cfg := testConfig()
	s.baseURL = "http://" + ln.Addr().String()
	cfg.PublicURL = s.baseURL
	if s.configure != nil {
		s.configure(&cfg)
	}
	logger := s.logger
	if logger == nil {
		logger = testLogger()
	}
	s.app = &app.App{Config: cfg, Store: s.store, Temporal: s.temporal, Logger: logger, EagerStart: true, Metrics: s.metrics, Tracing: s.tracing}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(s.app, ln, ctx) }()
	var once sync.Once
	s.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				s.t.Errorf("app stopped with error: %v", err)
			}
		})
	}
	s.t.Cleanup(s.stop)
}

// call makes an authenticated API call and decodes the JSON answer.
func (s *stack) call(method, path string, body any, want int) map[string]any {
	s.t.Helper()
	return s.callWith(nil, method, path, body, want)
}

// callWith is call with extra request headers.
func (s *stack) callWith(header http.Header, method, path string, body any, want int) map[string]any {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.baseURL+path, rd)
	if header != nil {
		req.Header = header.Clone()
	}
	req.Header.Set("Authorization", "Bearer "+s.apiKey)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		s.t.Fatalf("%s %s: status %d, want %d: %s", method, path, res.StatusCode, want, raw)
	}
	out := map[string]any{}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			s.t.Fatalf("%s %s: answer is not JSON: %s", method, path, raw)
		}
	}
	return out
}

// scan opens a redirect like a phone would and returns the Location.
func (s *stack) scan(path string, header http.Header) string {
	s.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.baseURL+path, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noFollow.Do(req)
	if err != nil {
		s.t.Fatalf("scan %s: %v", path, err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound {
		s.t.Fatalf("scan %s: status %d, want 302", path, res.StatusCode)
	}
	return res.Header.Get("Location")
}

// delivery is one request a receiver got.
type delivery struct {
	Header http.Header
	Body   []byte
}

// receiver is a real HTTP endpoint that answers with the statuses in plan
// (the last one repeats) and hands every request to the test.
type receiver struct {
	*httptest.Server
	got chan delivery
}

func newReceiver(t *testing.T, plan ...int) *receiver {
	r := &receiver{got: make(chan delivery, 100)}
	var mu sync.Mutex
	n := 0
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		mu.Lock()
		status := plan[min(n, len(plan)-1)]
		n++
		mu.Unlock()
		r.got <- delivery{Header: req.Header.Clone(), Body: body}
		w.WriteHeader(status)
		io.WriteString(w, strings.Repeat("x", 0)+http.StatusText(status))
	}))
	t.Cleanup(r.Close)
	return r
}

// next waits for the next delivery. The bound only keeps a broken build
// from hanging; it asserts nothing about speed.
func (r *receiver) next(t *testing.T) delivery {
	t.Helper()
	select {
	case d := <-r.got:
		return d
	case <-time.After(90 * time.Second):
		t.Fatal("no delivery arrived")
		return delivery{}
	}
}
