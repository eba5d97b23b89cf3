package api_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scanforge/scanforge/api"
	"github.com/scanforge/scanforge/models"
)

// fakeStore is an in-memory api.Store with one workspace and one API key:
// enough for handler tests that need no database. The dual-database tests
// of the real store stay in models and in this package's other tests.
type fakeStore struct {
	api.Store // methods a test does not use panic if called

	mu    sync.Mutex
	codes map[string]models.Code
}

const fakeKey = "sk_test_fake"

func (f *fakeStore) Authenticate(_ context.Context, key string) (models.APIKey, error) {
	if key != fakeKey {
		return models.APIKey{}, models.ErrUnauthorized
	}
	return models.APIKey{ID: "key_1", WorkspaceID: "ws_1"}, nil
}

func (f *fakeStore) CreateCode(_ context.Context, c *models.Code) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c.ID == "" {
		c.ID = "code_01m8exw9ghcs4rt7n4aq8t43mr"
	}
	f.codes[c.ID] = *c
	return nil
}

func (f *fakeStore) GetCode(_ context.Context, workspaceID, codeID string) (models.Code, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.codes[codeID]
	if !ok || c.WorkspaceID != workspaceID {
		return models.Code{}, models.ErrNotFound
	}
	return c, nil
}

type noRecorder struct{}

func (noRecorder) Record(context.Context, models.Scan) error { return nil }

func newFakeRouter(t *testing.T) (http.Handler, *fakeStore) {
	t.Helper()
	store := &fakeStore{codes: map[string]models.Code{}}
	return api.NewRouter(api.Options{
		Store:         store,
		Recorder:      noRecorder{},
		PublicBaseURL: "http://sf.test",
		Logger:        slog.New(slog.DiscardHandler),
		Now:           func() time.Time { return time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC) },
	}), store
}

func call(t *testing.T, h http.Handler, method, path, body, key string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var answer map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &answer); err != nil {
		t.Fatalf("%s %s: answer is not a JSON object: %q", method, path, rec.Body.String())
	}
	return rec.Code, answer
}

func TestHandlersWithoutADatabase(t *testing.T) {
	h, store := newFakeRouter(t)

	status, answer := call(t, h, "POST", "/api/v1/codes", `{"destination_url":"https://example.com/menu"}`, "")
	if status != http.StatusUnauthorized {
		t.Errorf("no key: status %d %v, want 401", status, answer)
	}

	status, answer = call(t, h, "POST", "/api/v1/codes", `{"destination_url":"ftp://example.com"}`, fakeKey)
	if status != http.StatusUnprocessableEntity || !strings.Contains(jsonString(answer), "destination_url") {
		t.Errorf("bad URL: status %d %v, want 422 naming destination_url", status, answer)
	}
	if len(store.codes) != 0 {
		t.Errorf("a refused code was stored: %v", store.codes)
	}

	status, answer = call(t, h, "POST", "/api/v1/codes", `{"destination_url":"https://example.com/menu"}`, fakeKey)
	id, _ := answer["id"].(string)
	if status != http.StatusCreated || !strings.HasPrefix(id, "code_") || answer["destination_url"] != "https://example.com/menu" {
		t.Fatalf("create: status %d %v, want 201 with the stored code", status, answer)
	}
	if got := store.codes[id]; got.WorkspaceID != "ws_1" {
		t.Errorf("stored code's workspace = %q, want the key's ws_1", got.WorkspaceID)
	}

	status, answer = call(t, h, "GET", "/api/v1/codes/"+id, "", fakeKey)
	if status != http.StatusOK || answer["id"] != id {
		t.Errorf("get: status %d %v", status, answer)
	}
	status, answer = call(t, h, "GET", "/api/v1/codes/code_01m8exw9ghcs4rt7n4aq8t43zz", "", fakeKey)
	if status != http.StatusNotFound {
		t.Errorf("get missing: status %d %v, want 404", status, answer)
	}
}

func jsonString(v any) string { b, _ := json.Marshal(v); return string(b) }
