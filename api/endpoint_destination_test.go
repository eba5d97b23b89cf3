package api_test

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// An endpoint's format and field policy are set on create and update,
// shown with their defaults, and refused with a 422 naming the field when
// unknown.
func TestEndpointFormatAndFields(t *testing.T) {
	e := newEnv(t, "sqlite")
	plain := e.call("POST", "/api/v1/endpoints", `{"url":"https://hooks.example.com/plain"}`, http.StatusCreated)
	wantDefault := map[string]any{"exclude": []any{}, "geo": "full", "round_coordinates": nil}
	if plain["format"] != "scanforge" || !reflect.DeepEqual(plain["fields"], wantDefault) {
		t.Fatalf("defaults: format %v fields %v", plain["format"], plain["fields"])
	}

	slack := e.call("POST", "/api/v1/endpoints",
		`{"url":"https://hooks.example.com/slack","format":"slack","fields":{"exclude":["user_agent","referrer"],"geo":"full","round_coordinates":2}}`, http.StatusCreated)
	id := slack["id"].(string)
	want := map[string]any{"exclude": []any{"referrer", "user_agent"}, "geo": "full", "round_coordinates": float64(2)}
	if slack["format"] != "slack" || !reflect.DeepEqual(slack["fields"], want) {
		t.Fatalf("created: format %v fields %v", slack["format"], slack["fields"])
	}
	got := e.call("GET", "/api/v1/endpoints/"+id, "", http.StatusOK)
	if got["format"] != "slack" || !reflect.DeepEqual(got["fields"], want) {
		t.Fatalf("read back: format %v fields %v", got["format"], got["fields"])
	}

	// An update of other fields keeps them; fields replaces the policy.
	got = e.call("PATCH", "/api/v1/endpoints/"+id, `{"description":"team channel"}`, http.StatusOK)
	if got["format"] != "slack" || !reflect.DeepEqual(got["fields"], want) {
		t.Fatalf("after an unrelated update: %v %v", got["format"], got["fields"])
	}
	got = e.call("PATCH", "/api/v1/endpoints/"+id, `{"format":"teams","fields":{"geo":"country"}}`, http.StatusOK)
	if got["format"] != "teams" || !reflect.DeepEqual(got["fields"], map[string]any{"exclude": []any{}, "geo": "country", "round_coordinates": nil}) {
		t.Fatalf("after update: %v %v", got["format"], got["fields"])
	}
	got = e.call("PATCH", "/api/v1/endpoints/"+id, `{"fields":{}}`, http.StatusOK)
	if !reflect.DeepEqual(got["fields"], wantDefault) {
		t.Fatalf("fields {} should send everything: %v", got["fields"])
	}

	for _, c := range []struct {
		body, field, says string
		status            int
	}{
		{`{"format":"msteams"}`, "format", "must be one of scanforge, slack, discord, google_chat, teams", 422},
		{`{"format":""}`, "format", "must be one of", 422},
		{`{"fields":{"exclude":["scan.user_agent"]}}`, "fields.exclude", `unknown field "scan.user_agent"`, 422},
		{`{"fields":{"exclude":["scan_id"]}}`, "fields.exclude", "cannot be excluded", 422},
		{`{"fields":{"geo":"street"}}`, "fields.geo", "must be full, city, country or none", 422},
		{`{"fields":{"round_coordinates":9}}`, "fields.round_coordinates", "from 0 to 6", 422},
		{`{"fields":{"geo":"city","round_coordinates":2}}`, "fields.round_coordinates", "only with geo full", 422},
		{`{"fields":{"include":["user_agent"]}}`, "fields.include", `unknown key "include"`, 422},
		{`{"fields":["user_agent"]}`, "fields", "must be an object", 400},
		{`{"fields":{"exclude":"user_agent"}}`, "fields.exclude", "must be an array of strings", 400},
		{`{"fields":{"round_coordinates":1.5}}`, "fields.round_coordinates", "must be an integer", 400},
		{`{"format":3}`, "format", "must be a string", 400},
	} {
		for _, r := range []request{
			{Method: "POST", Path: "/api/v1/endpoints", Body: strings.Replace(c.body, "{", `{"url":"https://h.example.com",`, 1)},
			{Method: "PATCH", Path: "/api/v1/endpoints/" + id, Body: c.body},
		} {
			r.Key = e.key
			rec := e.do(r)
			errObj := map[string]any{}
			if rec.Code == c.status {
				errObj = errorOf(t, rec)
			}
			msg, _ := errObj["message"].(string)
			if rec.Code != c.status || errObj["field"] != c.field || !strings.Contains(msg, c.says) {
				t.Errorf("%s %s: %d %s; want %d on %s saying …%s…", r.Method, r.Body, rec.Code, strings.TrimSpace(rec.Body.String()), c.status, c.field, c.says)
			}
		}
	}
}
