package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/scanforge/scanforge/api"
	"github.com/scanforge/scanforge/internal/enrich"
	"github.com/scanforge/scanforge/internal/outbox"
	"github.com/scanforge/scanforge/internal/testdb"
	"github.com/scanforge/scanforge/internal/visitor"
	"github.com/scanforge/scanforge/models"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode) // quiet route listing; tests only
	os.Exit(m.Run())
}

// forEachDB runs test once on SQLite and once on PostgreSQL.
func forEachDB(t *testing.T, test func(t *testing.T, kind string)) {
	for _, kind := range testdb.Kinds {
		t.Run(kind, func(t *testing.T) { test(t, kind) })
	}
}

// clock is a fake time source that moves 1 ms at every reading, so IDs made
// in a row sort in creation order.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

// storeRecorder records scans straight into the store, as the real
// group-commit recorder eventually does.
type storeRecorder struct{ writer *outbox.Writer }

func (r storeRecorder) Record(ctx context.Context, scan models.Scan) error {
	_, err := r.writer.InsertScans(ctx, []models.Scan{scan})
	return err
}

type failingRecorder struct{}

func (failingRecorder) Record(context.Context, models.Scan) error {
	return errors.New("database is on fire")
}

// stubEnricher answers a fixed result and remembers its last input.
type stubEnricher struct {
	mu     sync.Mutex
	last   enrich.Input
	result enrich.Result
}

func (e *stubEnricher) Enrich(in enrich.Input) enrich.Result {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.last = in
	return e.result
}

func (e *stubEnricher) lastInput() enrich.Input {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.last
}

// syncBuffer is a log sink safe for the handler goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// env is one API under test: a fresh database with two workspaces.
type env struct {
	t        *testing.T
	store    *models.Store
	router   http.Handler
	enricher *stubEnricher
	logs     *syncBuffer
	key      string // API key of workspace A
	wsID     string // workspace A
	otherKey string // API key of workspace B
	otherWS  string
}

const baseURL = "http://sf.test"

func newEnv(t *testing.T, kind string, configure ...func(*api.Options)) *env {
	t.Helper()
	clk := &clock{t: time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)}
	store := models.NewStore(testdb.Open(t, kind), clk.Now, models.WithSecretBox(testdb.SecretBox(t)))
	ctx := context.Background()
	e := &env{t: t, store: store, logs: &syncBuffer{}, enricher: &stubEnricher{}}
	for _, ws := range []struct{ id, key *string }{{&e.wsID, &e.key}, {&e.otherWS, &e.otherKey}} {
		w, err := store.CreateWorkspace(ctx, "ws")
		if err != nil {
			t.Fatal(err)
		}
		_, plain, err := store.CreateAPIKey(ctx, w.ID, "test")
		if err != nil {
			t.Fatal(err)
		}
		*ws.id, *ws.key = w.ID, plain
	}
	opts := api.Options{
		Store:         store,
		Recorder:      storeRecorder{outbox.NewWriter(store)},
		Enricher:      e.enricher,
		Visitors:      testVisitors(t),
		PublicBaseURL: baseURL + "/",
		Logger:        slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:           clk.Now,
	}
	for _, f := range configure {
		f(&opts)
	}
	e.router = api.NewRouter(opts)
	return e
}

// testVisitorSecret is the server secret the test API derives visitor keys from.
var testVisitorSecret = []byte("0123456789abcdef0123456789abcdef")

func testVisitors(t *testing.T) *visitor.Keyer {
	t.Helper()
	k, err := visitor.New(testVisitorSecret)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// request is one HTTP call; Key "" sends no Authorization header.
type request struct {
	Method, Path, Body, Key string
	Header                  http.Header
	RemoteAddr              string
}

func (e *env) do(r request) *httptest.ResponseRecorder {
	e.t.Helper()
	var body io.Reader
	if r.Body != "" {
		body = strings.NewReader(r.Body)
	}
	req := httptest.NewRequest(r.Method, r.Path, body)
	for k, vs := range r.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if r.Key != "" {
		req.Header.Set("Authorization", "Bearer "+r.Key)
	}
	if r.RemoteAddr != "" {
		req.RemoteAddr = r.RemoteAddr
	}
	rec := httptest.NewRecorder()
	e.router.ServeHTTP(rec, req)
	return rec
}

// call does an authenticated request as workspace A and checks the status.
func (e *env) call(method, path, body string, wantStatus int) map[string]any {
	e.t.Helper()
	rec := e.do(request{Method: method, Path: path, Body: body, Key: e.key})
	if rec.Code != wantStatus {
		e.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, rec.Code, wantStatus, rec.Body.String())
	}
	if rec.Body.Len() == 0 {
		return nil
	}
	return decode(e.t, rec)
}

func decode(t *testing.T, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("answer is not a JSON object: %v: %q", err, rec.Body.String())
	}
	return out
}

// createCode makes a code in workspace A and returns its JSON.
func (e *env) createCode(slug, dest string) map[string]any {
	e.t.Helper()
	body, _ := json.Marshal(map[string]any{"slug": slug, "name": "Code " + slug, "destination_url": dest})
	return e.call("POST", "/api/v1/codes", string(body), http.StatusCreated)
}

// errorOf returns the "error" object of an error answer, checking its shape.
func errorOf(t *testing.T, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("error answer has Content-Type %q: %q", ct, rec.Body.String())
	}
	out := decode(t, rec)
	errObj, ok := out["error"].(map[string]any)
	if !ok {
		t.Fatalf("no error object in %q", rec.Body.String())
	}
	if rid, _ := out["request_id"].(string); rid == "" || rid != rec.Header().Get("X-Request-Id") {
		t.Fatalf("request_id %q does not match X-Request-Id %q", rid, rec.Header().Get("X-Request-Id"))
	}
	if code, _ := errObj["code"].(string); code == "" {
		t.Fatalf("error without code: %q", rec.Body.String())
	}
	return errObj
}

// scans returns every scan in the database, oldest first.
func (e *env) scans() []models.Scan {
	e.t.Helper()
	var out []models.Scan
	if err := e.store.DB().Order("id").Find(&out).Error; err != nil {
		e.t.Fatal(err)
	}
	return out
}
