package api_test

import (
	"net/http"
	"testing"
)

func TestEndpointHumanOnly(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		e := newEnv(t, kind)
		created := e.call("POST", "/api/v1/endpoints", `{"url":"https://hooks.example/a","human_only":true}`, http.StatusCreated)
		id := created["id"].(string)
		if created["human_only"] != true {
			t.Fatalf("created = %v", created)
		}
		if got := e.call("GET", "/api/v1/endpoints/"+id, "", http.StatusOK); got["human_only"] != true {
			t.Fatalf("get = %v", got)
		}
		// PATCH without the field keeps it; with it, changes it.
		if got := e.call("PATCH", "/api/v1/endpoints/"+id, `{"description":"x"}`, http.StatusOK); got["human_only"] != true {
			t.Fatalf("patch without human_only = %v", got)
		}
		e.call("PATCH", "/api/v1/endpoints/"+id, `{"human_only":false}`, http.StatusOK)
		if got := e.call("GET", "/api/v1/endpoints/"+id, "", http.StatusOK); got["human_only"] != false {
			t.Fatalf("after patch = %v", got)
		}
		if got := e.call("POST", "/api/v1/endpoints", `{"url":"https://hooks.example/b"}`, http.StatusCreated); got["human_only"] != false {
			t.Fatalf("default = %v", got)
		}
		rec := e.do(request{Method: "POST", Path: "/api/v1/endpoints", Key: e.key, Body: `{"url":"https://hooks.example/c","human_only":"yes"}`})
		if rec.Code != http.StatusBadRequest || errorOf(t, rec)["field"] != "human_only" {
			t.Fatalf("human_only as a string: %d %s", rec.Code, rec.Body)
		}
	})
}
