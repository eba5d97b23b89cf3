package api_test

import (
	"net/http"
	"strings"
	"testing"
)

// rate_limit and max_in_flight: set on create, shown by GET, changed by
// PATCH, removed by an explicit null, kept when left out.
func TestEndpointLimitsAreSetShownAndCleared(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		e := newEnv(t, kind)
		created := e.call("POST", "/api/v1/endpoints", `{"url":"https://hooks.example.com/a","rate_limit":2.5,"max_in_flight":3}`, http.StatusCreated)
		id := created["id"].(string)
		if created["rate_limit"] != 2.5 || created["max_in_flight"] != 3.0 {
			t.Fatalf("create answered rate_limit %v, max_in_flight %v", created["rate_limit"], created["max_in_flight"])
		}
		got := e.call("GET", "/api/v1/endpoints/"+id, "", http.StatusOK)
		if got["rate_limit"] != 2.5 || got["max_in_flight"] != 3.0 {
			t.Fatalf("GET rate_limit %v, max_in_flight %v", got["rate_limit"], got["max_in_flight"])
		}

		e.call("PATCH", "/api/v1/endpoints/"+id, `{"description":"kept limits"}`, http.StatusOK)
		got = e.call("GET", "/api/v1/endpoints/"+id, "", http.StatusOK)
		if got["rate_limit"] != 2.5 || got["max_in_flight"] != 3.0 {
			t.Fatalf("a PATCH without the limits changed them: %v, %v", got["rate_limit"], got["max_in_flight"])
		}

		e.call("PATCH", "/api/v1/endpoints/"+id, `{"rate_limit":0.5,"max_in_flight":null}`, http.StatusOK)
		got = e.call("GET", "/api/v1/endpoints/"+id, "", http.StatusOK)
		if got["rate_limit"] != 0.5 || got["max_in_flight"] != nil {
			t.Fatalf("after PATCH rate_limit 0.5, max_in_flight null: %v, %v", got["rate_limit"], got["max_in_flight"])
		}
		e.call("PATCH", "/api/v1/endpoints/"+id, `{"rate_limit":null}`, http.StatusOK)
		got = e.call("GET", "/api/v1/endpoints/"+id, "", http.StatusOK)
		if got["rate_limit"] != nil {
			t.Fatalf("rate_limit null did not remove the limit: %v", got["rate_limit"])
		}

		plain := e.call("POST", "/api/v1/endpoints", `{"url":"https://hooks.example.com/b"}`, http.StatusCreated)
		if v, ok := plain["rate_limit"]; !ok || v != nil {
			t.Fatalf("an endpoint without limits shows rate_limit %v (present %v), want null", v, ok)
		}
	})
}

func TestEndpointLimitsAreValidated(t *testing.T) {
	e := newEnv(t, "sqlite")
	id := e.call("POST", "/api/v1/endpoints", `{"url":"https://hooks.example.com/a"}`, http.StatusCreated)["id"].(string)
	for _, c := range []struct{ body, field, rule string }{
		{`{"rate_limit":0}`, "rate_limit", "from 0.001 to 1000"},
		{`{"rate_limit":-1}`, "rate_limit", "from 0.001 to 1000"},
		{`{"rate_limit":1001}`, "rate_limit", "from 0.001 to 1000"},
		{`{"rate_limit":"5"}`, "rate_limit", "number of deliveries per second"},
		{`{"max_in_flight":0}`, "max_in_flight", "from 1 to 1000"},
		{`{"max_in_flight":2.5}`, "max_in_flight", "whole number"},
		{`{"max_in_flight":1001}`, "max_in_flight", "from 1 to 1000"},
		{`{"max_in_flight":true}`, "max_in_flight", "whole number"},
	} {
		for _, r := range []request{
			{Method: "POST", Path: "/api/v1/endpoints", Body: `{"url":"https://hooks.example.com/c",` + c.body[1:]},
			{Method: "PATCH", Path: "/api/v1/endpoints/" + id, Body: c.body},
		} {
			r.Key = e.key
			rec := e.do(r)
			if rec.Code != http.StatusUnprocessableEntity {
				t.Errorf("%s %s: %d %s, want 422", r.Method, c.body, rec.Code, rec.Body)
				continue
			}
			errObj := errorOf(t, rec)
			if msg, _ := errObj["message"].(string); errObj["field"] != c.field || !strings.Contains(msg, c.rule) {
				t.Errorf("%s %s: error %v, want field %s and %q", r.Method, c.body, errObj, c.field, c.rule)
			}
		}
	}
}
