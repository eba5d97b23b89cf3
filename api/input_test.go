package api_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/scanforge/scanforge/api"
)

func TestAuthentication(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		e := newEnv(t, kind)
		for _, tc := range []struct{ name, header string }{
			{"missing", ""},
			{"bad key", "Bearer sf_0000000000000000000000000000000000000000000000"},
			{"wrong scheme", "Basic " + e.key},
			{"scheme only", "Bearer"},
			{"key without scheme", e.key},
		} {
			for _, path := range []string{"/api/v1/codes", "/api/v1/endpoints"} {
				r := request{Method: "GET", Path: path}
				if tc.header != "" {
					r.Header = http.Header{"Authorization": {tc.header}}
				}
				rec := e.do(r)
				if rec.Code != http.StatusUnauthorized {
					t.Fatalf("%s %s: %d %s", tc.name, path, rec.Code, rec.Body)
				}
				if rec.Header().Get("WWW-Authenticate") != "Bearer" {
					t.Errorf("%s: WWW-Authenticate = %q", tc.name, rec.Header().Get("WWW-Authenticate"))
				}
				if errorOf(t, rec)["code"] != "unauthorized" {
					t.Errorf("%s: %s", tc.name, rec.Body)
				}
			}
		}
		// The scheme is case-insensitive.
		rec := e.do(request{Method: "GET", Path: "/api/v1/codes", Header: http.Header{"Authorization": {"bearer " + e.key}}})
		if rec.Code != http.StatusOK {
			t.Fatalf("lowercase bearer: %d %s", rec.Code, rec.Body)
		}
	})
}

func TestBadInput(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		e := newEnv(t, kind)
		code := e.createCode("taken", "https://example.com")["id"].(string)
		ep := e.call("POST", "/api/v1/endpoints", `{"url":"https://h.test"}`, http.StatusCreated)["id"].(string)
		long := func(n int) string { return strings.Repeat("a", n) }
		longURL := "https://example.com/" + long(2048-len("https://example.com/")+1)

		cases := []struct {
			name       string
			method     string
			path, body string
			status     int
			field      string
			message    string // a part of the message
		}{
			{"empty body", "POST", "/api/v1/codes", "", 400, "", "empty"},
			{"blank body", "POST", "/api/v1/codes", " \n ", 400, "", "empty"},
			{"malformed", "POST", "/api/v1/codes", `{"destination_url":`, 400, "", "malformed JSON"},
			{"malformed token", "POST", "/api/v1/codes", `{destination_url: 1}`, 400, "", "malformed JSON"},
			{"not an object", "POST", "/api/v1/codes", `["https://x.test"]`, 400, "", "JSON object"},
			{"null body", "POST", "/api/v1/codes", `null`, 400, "", "JSON object"},
			{"trailing data", "POST", "/api/v1/codes", `{"destination_url":"https://x.test"} {}`, 400, "", "after the JSON object"},
			{"trailing garbage", "POST", "/api/v1/codes", `{"destination_url":"https://x.test"}x`, 400, "", "after the JSON object"},
			{"unknown field", "POST", "/api/v1/codes", `{"destination_url":"https://x.test","foo":1}`, 400, "foo", `unknown field "foo"`},
			{"field names are case-sensitive", "POST", "/api/v1/codes", `{"Destination_URL":"https://x.test"}`, 400, "Destination_URL", `unknown field "Destination_URL"`},
			{"active not bool", "POST", "/api/v1/codes", `{"destination_url":"https://x.test","active":"yes"}`, 400, "active", `field "active" must be a boolean`},
			{"slug not string", "POST", "/api/v1/codes", `{"destination_url":"https://x.test","slug":12}`, 400, "slug", `field "slug" must be a string`},
			{"name not string", "PATCH", "/api/v1/codes/" + code, `{"name":{"a":1}}`, 400, "name", `field "name" must be a string`},
			{"missing destination", "POST", "/api/v1/codes", `{"slug":"abc"}`, 422, "destination_url", "destination_url: is required"},
			{"null destination", "POST", "/api/v1/codes", `{"destination_url":null}`, 422, "destination_url", "is required"},
			{"empty destination", "POST", "/api/v1/codes", `{"destination_url":""}`, 422, "destination_url", "is required"},
			{"javascript destination", "POST", "/api/v1/codes", `{"destination_url":"javascript:alert(1)"}`, 422, "destination_url", "http or https"},
			{"ftp destination", "POST", "/api/v1/codes", `{"destination_url":"ftp://x.test/f"}`, 422, "destination_url", "http or https"},
			{"relative destination", "POST", "/api/v1/codes", `{"destination_url":"/menu"}`, 422, "destination_url", "http or https"},
			{"no host", "POST", "/api/v1/codes", `{"destination_url":"https:///menu"}`, 422, "destination_url", "host"},
			{"credentials", "POST", "/api/v1/codes", `{"destination_url":"https://u:p@x.test/"}`, 422, "destination_url", "password"},
			{"unparsable", "POST", "/api/v1/codes", `{"destination_url":"https://x.test/\u0000"}`, 422, "destination_url", "valid URL"},
			{"bad host", "POST", "/api/v1/codes", `{"destination_url":"https://exa mple.com/"}`, 422, "destination_url", "valid URL"},
			{"too long URL", "POST", "/api/v1/codes", `{"destination_url":"` + longURL + `"}`, 422, "destination_url", "2048"},
			{"bad slug chars", "POST", "/api/v1/codes", `{"slug":"a b","destination_url":"https://x.test"}`, 422, "slug", "letters, digits"},
			{"empty slug", "POST", "/api/v1/codes", `{"slug":"","destination_url":"https://x.test"}`, 422, "slug", "1 to 64"},
			{"long slug", "POST", "/api/v1/codes", `{"slug":"` + long(65) + `","destination_url":"https://x.test"}`, 422, "slug", "1 to 64"},
			{"unicode slug", "POST", "/api/v1/codes", `{"slug":"café","destination_url":"https://x.test"}`, 422, "slug", "letters"},
			{"reserved slug", "POST", "/api/v1/codes", `{"slug":"API","destination_url":"https://x.test"}`, 422, "slug", "reserved"},
			{"reserved slug healthz", "PATCH", "/api/v1/codes/" + code, `{"slug":"healthz"}`, 422, "slug", "reserved"},
			{"long name", "POST", "/api/v1/codes", `{"name":"` + long(201) + `","destination_url":"https://x.test"}`, 422, "name", "200"},
			{"NUL in name", "POST", "/api/v1/codes", `{"name":"a\u0000b","destination_url":"https://x.test"}`, 422, "name", "control"},
			{"slug taken", "POST", "/api/v1/codes", `{"slug":"taken","destination_url":"https://x.test"}`, 409, "slug", `slug "taken" is already taken`},
			{"patch bad URL", "PATCH", "/api/v1/codes/" + code, `{"destination_url":"mailto:a@b.c"}`, 422, "destination_url", "http or https"},
			{"patch empty", "PATCH", "/api/v1/codes/" + code, ``, 400, "", "empty"},

			{"endpoint missing url", "POST", "/api/v1/endpoints", `{"description":"x"}`, 422, "url", "url: is required"},
			{"endpoint bad url", "POST", "/api/v1/endpoints", `{"url":"file:///etc/passwd"}`, 422, "url", "http or https"},
			{"endpoint unknown field", "POST", "/api/v1/endpoints", `{"url":"https://h.test","signing_key":"mine"}`, 400, "signing_key", `unknown field "signing_key"`},
			{"endpoint secret not whsec_", "POST", "/api/v1/endpoints", `{"url":"https://h.test","secret":"mine"}`, 422, "secret", `must be "whsec_" followed by standard base64`},
			{"endpoint enabled type", "POST", "/api/v1/endpoints", `{"url":"https://h.test","enabled":1}`, 400, "enabled", `field "enabled" must be a boolean`},
			{"code_ids not array", "POST", "/api/v1/endpoints", `{"url":"https://h.test","code_ids":"all"}`, 400, "code_ids", `field "code_ids" must be an array of strings`},
			{"code_ids numbers", "POST", "/api/v1/endpoints", `{"url":"https://h.test","code_ids":[1]}`, 400, "code_ids", "array of strings"},
			{"code_ids null element", "PATCH", "/api/v1/endpoints/" + ep, `{"code_ids":[null]}`, 400, "code_ids", "array of strings"},
			{"code_ids unknown", "POST", "/api/v1/endpoints", `{"url":"https://h.test","code_ids":["code_0000000000000000000000000a"]}`, 422, "code_ids", "no code"},
			{"code_ids garbage", "POST", "/api/v1/endpoints", `{"url":"https://h.test","code_ids":["x\u0000y"]}`, 422, "code_ids", "no code"},
			{"long description", "PATCH", "/api/v1/endpoints/" + ep, `{"description":"` + long(501) + `"}`, 422, "description", "500"},
			{"description type", "PATCH", "/api/v1/endpoints/" + ep, `{"description":true}`, 400, "description", `field "description" must be a string`},
			{"endpoint trailing", "PATCH", "/api/v1/endpoints/" + ep, `{}{}`, 400, "", "after the JSON object"},
		}
		for _, tc := range cases {
			rec := e.do(request{Method: tc.method, Path: tc.path, Body: tc.body, Key: e.key})
			if rec.Code != tc.status {
				t.Errorf("%s: status %d, want %d: %s", tc.name, rec.Code, tc.status, rec.Body)
				continue
			}
			errObj := errorOf(t, rec)
			field, _ := errObj["field"].(string)
			msg, _ := errObj["message"].(string)
			if field != tc.field || !strings.Contains(msg, tc.message) {
				t.Errorf("%s: field %q message %q, want field %q and message containing %q", tc.name, field, msg, tc.field, tc.message)
			}
		}
		// The good objects were not changed by the bad requests.
		if got := e.call("GET", "/api/v1/codes/"+code, "", http.StatusOK); got["slug"] != "taken" || got["destination_url"] != "https://example.com" {
			t.Fatalf("code changed: %v", got)
		}
		if out := e.call("GET", "/api/v1/codes", "", http.StatusOK); len(out["data"].([]any)) != 1 {
			t.Fatalf("bad requests created codes: %v", out)
		}
	})
}

func TestBodyTooLarge(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		e := newEnv(t, kind)
		big := `{"name":"` + strings.Repeat("a", 2<<20) + `","destination_url":"https://x.test"}`
		for _, chunked := range []bool{false, true} {
			req := httptest.NewRequest("POST", "/api/v1/codes", strings.NewReader(big))
			if chunked {
				// An undeclared length: the cap bites while reading.
				req.ContentLength = -1
				req.Body = io.NopCloser(strings.NewReader(big))
			}
			req.Header.Set("Authorization", "Bearer "+e.key)
			rec := httptest.NewRecorder()
			e.router.ServeHTTP(rec, req)
			if rec.Code != http.StatusRequestEntityTooLarge || errorOf(t, rec)["code"] != "body_too_large" {
				t.Fatalf("chunked=%v: %d %s", chunked, rec.Code, rec.Body.String()[:min(200, rec.Body.Len())])
			}
		}
		// Just under the cap is fine (and then a validation error, not 413).
		almost := `{"name":"` + strings.Repeat("a", 1<<20-100) + `","destination_url":"https://x.test"}`
		rec := e.do(request{Method: "POST", Path: "/api/v1/codes", Body: almost, Key: e.key})
		if rec.Code != http.StatusUnprocessableEntity || errorOf(t, rec)["field"] != "name" {
			t.Fatalf("body under the cap: %d", rec.Code)
		}
	})
}

// TestGarbageNeverFails throws malformed and hostile bodies and paths at every
// writing route: the answer is always a 4xx JSON error, never a 5xx.
func TestGarbageNeverFails(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		e := newEnv(t, kind)
		code := e.createCode("x", "https://example.com")["id"].(string)
		ep := e.call("POST", "/api/v1/endpoints", `{"url":"https://h.test"}`, http.StatusCreated)["id"].(string)

		bodies := []string{
			"", "{", "}", "[]", "[", "null", "true", "0", "-1e999", `"str"`, "{}", "{}}", "{,}", `{"":""}`,
			`{"slug":}`, `{"slug":"a","slug":1}`, `{"active":null,"name":null}`, `{"code_ids":{}}`, `{"code_ids":[[]]}`,
			`{"code_ids":["` + strings.Repeat("c", 5000) + `"]}`, `{"url":"http://[::1"}`, `{"url":"http://x.test:99999999999"}`,
			`{"destination_url":"https://x.test/%zz"}`, `{"destination_url":"https://x.test","name":"\ud800"}`,
			`{"destination_url":"https://x.test","slug":"a\u0000"}`, "\x00\x01\x02", "\xff\xfe{}", `{"a":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`,
			strings.Repeat("[", 100000), `{"destination_url":1e400}`, `{"description":"` + strings.Repeat("\\u0000", 100) + `","url":"https://h.test"}`,
			"\xef\xbb\xbf{}", `{"url":"https://h.test","code_ids":` + codeIDList(2000) + `}`,
		}
		paths := []struct{ method, path string }{
			{"POST", "/api/v1/codes"},
			{"PATCH", "/api/v1/codes/" + code},
			{"POST", "/api/v1/endpoints"},
			{"PATCH", "/api/v1/endpoints/" + ep},
		}
		for _, p := range paths {
			for i, body := range bodies {
				rec := e.do(request{Method: p.method, Path: p.path, Body: body, Key: e.key})
				if rec.Code >= 500 {
					t.Errorf("%s %s body #%d: %d %s", p.method, p.path, i, rec.Code, rec.Body)
					continue
				}
				if rec.Code >= 400 {
					errorOf(t, rec)
				}
			}
		}
		// Hostile IDs and query strings in paths: 404/400, never 5xx.
		for _, path := range []string{
			"/api/v1/codes/%00", "/api/v1/codes/code_%00", "/api/v1/codes/" + strings.Repeat("x", 5000),
			"/api/v1/endpoints/%ff%fe", "/api/v1/endpoints/ep_0000000000000000000000000%00", "/api/v1/codes/'%20OR%201=1--",
			"/api/v1/codes?cursor=%00", "/api/v1/codes?limit=99999999999999999999", "/api/v1/endpoints?cursor=Y29kZV8%3D",
		} {
			for _, method := range []string{"GET", "PATCH", "DELETE"} {
				rec := e.do(request{Method: method, Path: path, Body: `{}`, Key: e.key})
				if rec.Code >= 500 {
					t.Errorf("%s %s: %d %s", method, path, rec.Code, rec.Body)
				}
			}
		}
		if out := e.call("GET", "/api/v1/codes", "", http.StatusOK); len(out["data"].([]any)) > 2 {
			t.Logf("garbage created %d codes", len(out["data"].([]any)))
		}
	})
}

func codeIDList(n int) string {
	var b strings.Builder
	b.WriteString("[")
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"code_%026d"`, i)
	}
	b.WriteString("]")
	return b.String()
}

func TestRoutingAndRequestIDs(t *testing.T) {
	e := newEnv(t, "sqlite", func(o *api.Options) {
		o.Extra = func(r *gin.Engine) {
			r.GET("/boom", func(*gin.Context) { panic("kaboom") })
			r.GET("/healthz", func(c *gin.Context) { c.String(http.StatusOK, "ok") })
		}
	})

	rec := e.do(request{Method: "GET", Path: "/api/v1/nothing", Key: e.key})
	if rec.Code != http.StatusNotFound || errorOf(t, rec)["code"] != "not_found" {
		t.Fatalf("unknown API route: %d %s", rec.Code, rec.Body)
	}
	rec = e.do(request{Method: "GET", Path: "/nothing"})
	if rec.Code != http.StatusNotFound || strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("unknown page: %d %q %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	rec = e.do(request{Method: "PUT", Path: "/api/v1/codes", Key: e.key})
	if rec.Code != http.StatusMethodNotAllowed || errorOf(t, rec)["code"] != "method_not_allowed" {
		t.Fatalf("wrong method: %d %s", rec.Code, rec.Body)
	}
	rec = e.do(request{Method: "POST", Path: "/q/abc"})
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("POST on a redirect: %d %s", rec.Code, rec.Body)
	}
	if rec := e.do(request{Method: "GET", Path: "/healthz"}); rec.Code != http.StatusOK || rec.Body.String() != "ok" {
		t.Fatalf("extra route: %d %s", rec.Code, rec.Body)
	}

	// The caller's request ID is kept; a missing or unsafe one is replaced.
	rec = e.do(request{Method: "GET", Path: "/api/v1/codes", Key: e.key, Header: http.Header{"X-Request-Id": {"abc-123"}}})
	if rec.Header().Get("X-Request-Id") != "abc-123" {
		t.Fatalf("request id not echoed: %q", rec.Header().Get("X-Request-Id"))
	}
	for _, bad := range []string{"", "has space", strings.Repeat("x", 200), `quote"`} {
		rec = e.do(request{Method: "GET", Path: "/api/v1/codes", Header: http.Header{"X-Request-Id": {bad}}})
		got := rec.Header().Get("X-Request-Id")
		if got == "" || got == bad {
			t.Fatalf("request id %q answered as %q", bad, got)
		}
		if errorOf(t, rec)["code"] != "unauthorized" {
			t.Fatal(rec.Body)
		}
	}

	// A panic is a logged JSON 500 with the request ID.
	rec = e.do(request{Method: "GET", Path: "/boom", Header: http.Header{"X-Request-Id": {"panic-1"}}})
	if rec.Code != http.StatusInternalServerError || errorOf(t, rec)["code"] != "internal" {
		t.Fatalf("panic: %d %s", rec.Code, rec.Body)
	}
	if logs := e.logs.String(); !strings.Contains(logs, "kaboom") || !strings.Contains(logs, "panic-1") {
		t.Fatalf("panic not logged with request id: %s", logs)
	}
	if strings.Contains(rec.Body.String(), "kaboom") {
		t.Fatal("panic value leaked to the client")
	}
}

// TestInternalErrorsDoNotLeak closes the database under the API: the client
// gets a generic 500 with a request ID, the log gets the real error.
func TestInternalErrorsDoNotLeak(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		e := newEnv(t, kind)
		sqlDB, err := e.store.DB().DB()
		if err != nil {
			t.Fatal(err)
		}
		sqlDB.Close()
		rec := e.do(request{Method: "GET", Path: "/api/v1/codes", Key: e.key, Header: http.Header{"X-Request-Id": {"db-down-1"}}})
		if rec.Code != http.StatusInternalServerError {
			t.Fatalf("status %d %s", rec.Code, rec.Body)
		}
		errObj := errorOf(t, rec)
		if errObj["code"] != "internal" || errObj["message"] != "internal error" {
			t.Fatalf("answer %s", rec.Body)
		}
		if bytes.Contains(rec.Body.Bytes(), []byte("closed")) {
			t.Fatalf("error text leaked: %s", rec.Body)
		}
		logs := e.logs.String()
		if !strings.Contains(logs, "db-down-1") || !strings.Contains(logs, "closed") {
			t.Fatalf("internal error not logged with request id: %s", logs)
		}
	})
}
