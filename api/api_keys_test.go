package api_test

import (
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/scanforge/scanforge/api"
)

func TestAPIKeysCreateListRevoke(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		e := newEnv(t, kind)

		created := e.call("POST", "/api/v1/api-keys", `{"name":"CI deploys"}`, http.StatusCreated)
		plain, _ := created["key"].(string)
		id, _ := created["id"].(string)
		if !regexp.MustCompile(`^sf_[0-9a-f]{48}$`).MatchString(plain) || !strings.HasPrefix(id, "key_") {
			t.Fatalf("created = %v", created)
		}
		wantKeys := []string{"created_at", "id", "key", "last_used_at", "name", "prefix", "revoked_at"}
		if keys := sortedKeys(created); !reflect.DeepEqual(keys, wantKeys) {
			t.Fatalf("create answer keys = %v, want %v", keys, wantKeys)
		}
		if created["name"] != "CI deploys" || !strings.HasPrefix(plain, created["prefix"].(string)) ||
			created["revoked_at"] != nil || created["last_used_at"] != nil {
			t.Fatalf("created = %v", created)
		}

		// The new key works, and is shown only once.
		rec := e.do(request{Method: "GET", Path: "/api/v1/api-keys", Key: plain})
		if rec.Code != http.StatusOK {
			t.Fatalf("list with the new key: %d %s", rec.Code, rec.Body)
		}
		if strings.Contains(rec.Body.String(), plain) || strings.Contains(rec.Body.String(), `"key"`) ||
			strings.Contains(rec.Body.String(), "hash") {
			t.Fatalf("list shows a key or its hash: %s", rec.Body)
		}
		data := decode(t, rec)["data"].([]any)
		if len(data) != 2 { // the env's key and the new one
			t.Fatalf("list = %v", data)
		}
		first := data[0].(map[string]any)
		wantKeys = []string{"created_at", "id", "last_used_at", "name", "prefix", "revoked_at"}
		if keys := sortedKeys(first); first["id"] != id || !reflect.DeepEqual(keys, wantKeys) {
			t.Fatalf("newest key = %v", first)
		}
		if first["last_used_at"] == nil {
			t.Fatalf("last_used_at not set after use: %v", first)
		}

		// Revoked: the very next request with it is refused; others still work.
		rec = e.do(request{Method: "DELETE", Path: "/api/v1/api-keys/" + id, Key: e.key})
		if rec.Code != http.StatusNoContent || rec.Body.Len() != 0 {
			t.Fatalf("revoke: %d %s", rec.Code, rec.Body)
		}
		rec = e.do(request{Method: "GET", Path: "/api/v1/codes", Key: plain})
		if rec.Code != http.StatusUnauthorized || errorOf(t, rec)["code"] != "unauthorized" {
			t.Fatalf("revoked key: %d %s", rec.Code, rec.Body)
		}
		list := e.call("GET", "/api/v1/api-keys", "", http.StatusOK)["data"].([]any)
		if list[0].(map[string]any)["revoked_at"] == nil || list[1].(map[string]any)["revoked_at"] != nil {
			t.Fatalf("revoked_at after revoke: %v", list)
		}
		// Revoking again is harmless.
		e.call("DELETE", "/api/v1/api-keys/"+id, "", http.StatusNoContent)

		// A key may revoke itself; the next request with it is refused.
		self := e.call("POST", "/api/v1/api-keys", `{"name":"short-lived"}`, http.StatusCreated)
		rec = e.do(request{Method: "DELETE", Path: "/api/v1/api-keys/" + self["id"].(string), Key: self["key"].(string)})
		if rec.Code != http.StatusNoContent {
			t.Fatalf("self-revoke: %d %s", rec.Code, rec.Body)
		}
		if rec := e.do(request{Method: "GET", Path: "/api/v1/api-keys", Key: self["key"].(string)}); rec.Code != http.StatusUnauthorized {
			t.Fatalf("after self-revoke: %d %s", rec.Code, rec.Body)
		}

		for _, tt := range []struct {
			body, field string
			status      int
		}{
			{``, "", http.StatusBadRequest},
			{`{}`, "name", http.StatusUnprocessableEntity},
			{`{"name":"  "}`, "name", http.StatusUnprocessableEntity},
			{`{"name":"` + strings.Repeat("n", 201) + `"}`, "name", http.StatusUnprocessableEntity},
			{`{"name":1}`, "name", http.StatusBadRequest},
			{`{"name":"x","workspace_id":"ws_x"}`, "workspace_id", http.StatusBadRequest},
		} {
			rec := e.do(request{Method: "POST", Path: "/api/v1/api-keys", Key: e.key, Body: tt.body})
			if rec.Code != tt.status || errorOf(t, rec)["field"] != nilIfEmpty(tt.field) {
				t.Errorf("create with %s: %d %s", tt.body, rec.Code, rec.Body)
			}
		}
		for _, path := range []string{"/api/v1/api-keys/key_missing", "/api/v1/api-keys/key_01jwnnsvg000z6aebtagetw60q"} {
			rec := e.do(request{Method: "DELETE", Path: path, Key: e.key})
			if rec.Code != http.StatusNotFound {
				t.Errorf("DELETE %s: %d %s", path, rec.Code, rec.Body)
			}
		}
		if strings.Contains(e.logs.String(), plain) {
			t.Fatal("a key is in the logs")
		}
	})
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

const testAdminToken = "admin-token-0123456789abcdefghijklmnop"

func TestAdminCreatesWorkspaces(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		e := newEnv(t, kind, func(o *api.Options) { o.AdminToken = testAdminToken })

		for _, tt := range []struct{ name, auth string }{
			{"no token", ""},
			{"wrong token", "Bearer " + testAdminToken + "x"},
			{"a prefix of the token", "Bearer " + testAdminToken[:10]},
			{"a workspace API key", "Bearer " + e.key},
			{"wrong scheme", "Basic " + testAdminToken},
		} {
			rec := e.do(request{Method: "POST", Path: "/api/v1/admin/workspaces", Body: `{"name":"x"}`,
				Header: http.Header{"Authorization": {tt.auth}}})
			if rec.Code != http.StatusUnauthorized || errorOf(t, rec)["code"] != "unauthorized" {
				t.Errorf("%s: %d %s", tt.name, rec.Code, rec.Body)
			}
		}
		var n int64
		e.store.DB().Table("workspaces").Count(&n)
		if n != 2 {
			t.Fatalf("%d workspaces after refused calls, want the env's 2", n)
		}

		admin := http.Header{"Authorization": {"Bearer " + testAdminToken}}
		rec := e.do(request{Method: "POST", Path: "/api/v1/admin/workspaces", Body: `{"name":"Acme"}`, Header: admin})
		if rec.Code != http.StatusCreated {
			t.Fatalf("create: %d %s", rec.Code, rec.Body)
		}
		out := decode(t, rec)
		ws := out["workspace"].(map[string]any)
		key, _ := out["api_key"].(string)
		if ws["name"] != "Acme" || !strings.HasPrefix(ws["id"].(string), "ws_") || !strings.HasPrefix(key, "sf_") {
			t.Fatalf("answer = %v", out)
		}
		// The key belongs to the new workspace: it sees none of A's objects
		// and its own objects are its own.
		e.createCode("a-code", "https://example.com")
		r := e.do(request{Method: "GET", Path: "/api/v1/codes", Key: key})
		if r.Code != http.StatusOK || len(decode(t, r)["data"].([]any)) != 0 {
			t.Fatalf("new workspace lists: %d %s", r.Code, r.Body)
		}
		r = e.do(request{Method: "POST", Path: "/api/v1/codes", Key: key, Body: `{"slug":"acme","destination_url":"https://acme.example"}`})
		if r.Code != http.StatusCreated || decode(t, r)["workspace_id"] != ws["id"] {
			t.Fatalf("new workspace creates: %d %s", r.Code, r.Body)
		}
		keys := decode(t, e.do(request{Method: "GET", Path: "/api/v1/api-keys", Key: key}))["data"].([]any)
		if len(keys) != 1 || keys[0].(map[string]any)["name"] != "initial" {
			t.Fatalf("new workspace's keys = %v", keys)
		}

		rec = e.do(request{Method: "POST", Path: "/api/v1/admin/workspaces", Body: `{}`, Header: admin})
		if rec.Code != http.StatusUnprocessableEntity || errorOf(t, rec)["field"] != "name" {
			t.Fatalf("no name: %d %s", rec.Code, rec.Body)
		}
		if logs := e.logs.String(); strings.Contains(logs, testAdminToken) || strings.Contains(logs, key) {
			t.Fatalf("a secret is in the logs: %s", logs)
		}
	})
}

func TestAdminAPIIsOffWithoutToken(t *testing.T) {
	e := newEnv(t, "sqlite")
	for _, auth := range []string{"", "Bearer " + testAdminToken, "Bearer " + e.key, "Bearer "} {
		rec := e.do(request{Method: "POST", Path: "/api/v1/admin/workspaces", Body: `{"name":"x"}`,
			Header: http.Header{"Authorization": {auth}}})
		if rec.Code != http.StatusNotFound || errorOf(t, rec)["code"] != "not_found" {
			t.Errorf("auth %q: %d %s", auth, rec.Code, rec.Body)
		}
	}
}
