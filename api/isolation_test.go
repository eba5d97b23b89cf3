package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/scanforge/scanforge/api"
	"github.com/scanforge/scanforge/workflows"
)

// TestEveryRouteIsScopedToTheKeysWorkspace walks every route the router
// serves (read from gin's route list, so routes added later are walked too):
//
//   - without a key, with an invalid key and with a revoked key: 401;
//   - with another workspace's key, every route that names an object of
//     workspace A answers 404 (never 403: whether A's object exists is not
//     for B to learn), and every other route shows nothing of A;
//   - afterwards A's objects are untouched.
//
// A route whose path parameter names a kind of object this test does not
// know fails the test: add the kind to objectIDs below.
func TestEveryRouteIsScopedToTheKeysWorkspace(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		e := newEnv(t, kind, func(o *api.Options) { o.AdminToken = testAdminToken })
		engine, ok := e.router.(*gin.Engine)
		if !ok {
			t.Fatalf("router is a %T, not a *gin.Engine", e.router)
		}

		// Workspace A's objects, with text found nowhere else, so any of it
		// in an answer to B is a leak.
		const marker = "only-in-workspace-a"
		code := e.createCode(marker, "https://"+marker+".example/dest")["id"].(string)
		endpoint := e.call("POST", "/api/v1/endpoints",
			`{"url":"https://`+marker+`.example/hook","description":"`+marker+`"}`, http.StatusCreated)
		endpointID := endpoint["id"].(string)
		keyA := e.call("POST", "/api/v1/api-keys", `{"name":"`+marker+`"}`, http.StatusCreated)
		if rec := e.do(request{Method: "GET", Path: "/q/" + marker, Header: http.Header{"User-Agent": {marker}}}); rec.Code != http.StatusFound {
			t.Fatalf("scan: %d", rec.Code)
		}
		scans := e.scans()
		if len(scans) != 1 {
			t.Fatalf("%d scans", len(scans))
		}
		scanID := scans[0].ID

		// objectIDs maps the collection a path parameter follows to A's object.
		objectIDs := map[string]string{
			"codes":      code,
			"endpoints":  endpointID,
			"api-keys":   keyA["id"].(string),
			"scans":      scanID,
			"deliveries": workflows.DeliveryWorkflowID(scanID, endpointID),
		}
		leaks := []string{marker, e.wsID, code, endpointID, keyA["id"].(string), keyA["key"].(string), scanID}

		revoked := e.do(request{Method: "POST", Path: "/api/v1/api-keys", Key: e.otherKey, Body: `{"name":"revoked"}`})
		revokedKey := decode(t, revoked)
		if rec := e.do(request{Method: "DELETE", Path: "/api/v1/api-keys/" + revokedKey["id"].(string), Key: e.otherKey}); rec.Code != http.StatusNoContent {
			t.Fatalf("revoke: %d %s", rec.Code, rec.Body)
		}

		walked := 0
		for _, route := range engine.Routes() {
			if !strings.HasPrefix(route.Path, "/api/") {
				continue // public redirects, health checks
			}
			if route.Path == "/api/v1/openapi.json" || route.Path == "/api/v1/docs" || strings.HasPrefix(route.Path, "/api/v1/schemas/") {
				continue // the API's description and event schemas are public and hold no workspace data
			}
			path, named, ok := fillPath(route.Path, objectIDs)
			if !ok {
				t.Errorf("%s %s: the isolation test does not know which object its parameter names; add it to objectIDs", route.Method, route.Path)
				continue
			}
			walked++
			body := ""
			if route.Method == http.MethodPost || route.Method == http.MethodPatch || route.Method == http.MethodPut {
				body = `{}`
			}
			name := route.Method + " " + route.Path

			for _, auth := range []struct{ name, header string }{
				{"no key", ""},
				{"an invalid key", "Bearer sf_000000000000000000000000000000000000000000000000"},
				{"a revoked key", "Bearer " + revokedKey["key"].(string)},
				{"a malformed header", e.otherKey},
			} {
				rec := e.do(request{Method: route.Method, Path: path, Body: body, Header: http.Header{"Authorization": {auth.header}}})
				if rec.Code != http.StatusUnauthorized || errorOf(t, rec)["code"] != "unauthorized" {
					t.Errorf("%s with %s: %d %s", name, auth.name, rec.Code, rec.Body)
				}
			}

			if strings.HasPrefix(route.Path, "/api/v1/admin/") {
				// Admin routes take the admin token, never a workspace key.
				for _, key := range []string{e.key, e.otherKey} {
					if rec := e.do(request{Method: route.Method, Path: path, Body: body, Key: key}); rec.Code != http.StatusUnauthorized {
						t.Errorf("%s with a workspace key: %d %s", name, rec.Code, rec.Body)
					}
				}
				continue
			}

			probes := []string{path}
			if !named {
				// Lists may filter by object: asking for A's must show nothing.
				probes = append(probes, path+"?code_id="+code+"&endpoint_id="+endpointID+"&scan_id="+scanID)
			}
			for _, p := range probes {
				rec := e.do(request{Method: route.Method, Path: p, Body: body, Key: e.otherKey})
				switch {
				case named && (rec.Code != http.StatusNotFound || errorOf(t, rec)["code"] != "not_found"):
					t.Errorf("%s on A's object as B: %d %s; want 404", name, rec.Code, rec.Body)
				case rec.Code >= 500:
					t.Errorf("%s as B: %d %s", name, rec.Code, rec.Body)
				}
				requested := p + body
				for _, leak := range leaks {
					if strings.Contains(rec.Body.String(), leak) && !strings.Contains(requested, leak) {
						t.Errorf("%s as B shows A's %q: %s", name, leak, rec.Body)
					}
				}
			}
		}
		if walked < 17 {
			t.Errorf("walked only %d API routes; is the route list read right?", walked)
		}

		// Nothing of A's changed, and A's key still works.
		got := e.call("GET", "/api/v1/codes/"+code, "", http.StatusOK)
		if got["slug"] != marker || got["active"] != true {
			t.Errorf("A's code changed: %v", got)
		}
		got = e.call("GET", "/api/v1/endpoints/"+endpointID, "", http.StatusOK)
		if got["enabled"] != true || got["url"] != endpoint["url"] || got["secret_rotated_at"] != nil {
			t.Errorf("A's endpoint changed: %v", got)
		}
		if rec := e.do(request{Method: "GET", Path: "/api/v1/codes", Key: keyA["key"].(string)}); rec.Code != http.StatusOK {
			t.Errorf("A's key stopped working: %d %s", rec.Code, rec.Body)
		}
	})
}

// fillPath puts A's objects into the parameters of a route path. named
// says whether the path names an object; ok is false when a parameter
// follows a collection objectIDs does not know.
func fillPath(route string, objectIDs map[string]string) (path string, named, ok bool) {
	segments := strings.Split(route, "/")
	for i, seg := range segments {
		if !strings.HasPrefix(seg, ":") && !strings.HasPrefix(seg, "*") {
			continue
		}
		if i == 0 {
			return "", false, false
		}
		id, known := objectIDs[segments[i-1]]
		if !known {
			return "", false, false
		}
		segments[i], named = id, true
	}
	return strings.Join(segments, "/"), named, true
}
