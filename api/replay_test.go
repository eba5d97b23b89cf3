package api_test

import (
	"encoding/json"
	"net/http"
	"testing"
)

// POST /deliveries/replay reads its selection and target, checks that they
// are the workspace's, and names the field of every bad value.
func TestBulkReplayOfDeliveriesReadsItsSelection(t *testing.T) {
	e, fake := newDeliveryEnv(t)
	code := e.call("POST", "/api/v1/codes", `{"slug":"bulk","destination_url":"https://example.com"}`, http.StatusCreated)["id"].(string)
	ep := e.call("POST", "/api/v1/endpoints", `{"url":"https://hooks.example.com/a"}`, http.StatusCreated)
	staging := e.call("POST", "/api/v1/endpoints", `{"url":"https://staging.example.com/b","fields":{"geo":"country"}}`, http.StatusCreated)
	ops := e.call("POST", "/api/v1/endpoints", `{"url":"https://ops.example.com","operational":true}`, http.StatusCreated)
	rec := e.do(request{Method: "POST", Path: "/api/v1/endpoints", Body: `{"url":"https://hooks.example.com/other"}`, Key: e.otherKey})
	var other map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &other); err != nil || rec.Code != http.StatusCreated {
		t.Fatalf("other workspace's endpoint: %d %s", rec.Code, rec.Body)
	}

	out := e.call("POST", "/api/v1/deliveries/replay", "", http.StatusAccepted)
	if out["id"] != "rpl_1" || out["accepted"] != float64(1) || out["dry_run"] != false || fake.bulkReplays[0].Filter.State != "failed" {
		t.Fatalf("without a body: %v, request %+v", out, fake.bulkReplays[0])
	}
	e.call("POST", "/api/v1/deliveries/replay", `{"endpoint_id":"`+ep["id"].(string)+`","code_id":"`+code+`","state":"delivered",`+
		`"since":"2026-11-27T00:00:00Z","until":"2026-11-27T06:00:00Z","limit":10,"cursor":"c1","to_endpoint_id":"`+staging["id"].(string)+`"}`,
		http.StatusAccepted)
	r := fake.bulkReplays[1]
	if f := r.Filter; f.EndpointID != ep["id"] || f.CodeID != code || f.State != "delivered" || f.Since.Hour() != 0 || f.Until.Hour() != 6 ||
		r.Limit != 10 || r.Cursor != "c1" || r.DryRun || r.To.ID != staging["id"] || r.To.URL != "https://staging.example.com/b" ||
		r.To.Fields.SendsEverything() {
		t.Fatalf("request %+v", r)
	}
	out = e.call("POST", "/api/v1/deliveries/replay", `{"dry_run":true}`, http.StatusOK)
	if out["dry_run"] != true || out["id"] != nil || !fake.bulkReplays[2].DryRun {
		t.Fatalf("dry run: %v", out)
	}
	rec = e.do(request{Method: "POST", Path: "/api/v1/deliveries/replay", Key: e.key, Header: http.Header{"Idempotency-Key": {"k-1"}}})
	if rec.Code != http.StatusAccepted || fake.bulkReplays[3].IdempotencyKey != "k-1" {
		t.Fatalf("with an Idempotency-Key: %d, request %+v", rec.Code, fake.bulkReplays[3])
	}
	out = e.call("POST", "/api/v1/deliveries/replay", `{"to_url":"https://staging.example.com/hooks"}`, http.StatusAccepted)
	if r := fake.bulkReplays[4]; out["to_url"] != "https://staging.example.com/hooks" || r.To.ID != "" || r.To.URL != "https://staging.example.com/hooks" {
		t.Fatalf("to a URL: %v, request %+v", out, r)
	}

	for body, field := range map[string]string{
		`{"state":"retrying"}`:  "state",
		`{"state":"paused"}`:    "state",
		`{"since":"yesterday"}`: "since",
		`{"since":"2026-11-27T06:00:00Z","until":"2026-11-27T00:00:00Z"}`: "until",
		`{"limit":0}`:    "limit",
		`{"limit":1001}`: "limit",
		`{"endpoint_id":"ep_01jq0000000000000000000009"}`:                                          "endpoint_id",
		`{"endpoint_id":"` + other["id"].(string) + `"}`:                                           "endpoint_id",
		`{"endpoint_id":"nope"}`:                                                                   "endpoint_id",
		`{"code_id":"code_01jq0000000000000000000009"}`:                                            "code_id",
		`{"to_endpoint_id":"` + other["id"].(string) + `"}`:                                        "to_endpoint_id",
		`{"to_endpoint_id":"` + ops["id"].(string) + `"}`:                                          "to_endpoint_id",
		`{"to_url":"ftp://staging.example.com"}`:                                                   "to_url",
		`{"to_url":"https://staging.example.com","to_endpoint_id":"` + other["id"].(string) + `"}`: "to_url",
	} {
		rec := e.do(request{Method: "POST", Path: "/api/v1/deliveries/replay", Body: body, Key: e.key})
		var answer struct{ Error struct{ Field string } }
		_ = json.Unmarshal(rec.Body.Bytes(), &answer)
		if rec.Code != http.StatusUnprocessableEntity || answer.Error.Field != field {
			t.Errorf("%s: %d %s, want 422 naming %s", body, rec.Code, rec.Body, field)
		}
	}
	for body, field := range map[string]string{
		`{"limit":"ten"}`:   "limit",
		`{"dry_run":"yes"}`: "dry_run",
		`{"colour":"red"}`:  "colour",
		`{"state":"failed"`: "",
		`{"endpoint_id":7}`: "endpoint_id",
	} {
		rec := e.do(request{Method: "POST", Path: "/api/v1/deliveries/replay", Body: body, Key: e.key})
		var answer struct{ Error struct{ Field string } }
		_ = json.Unmarshal(rec.Body.Bytes(), &answer)
		if rec.Code != http.StatusBadRequest || answer.Error.Field != field {
			t.Errorf("%s: %d %s, want 400 naming %q", body, rec.Code, rec.Body, field)
		}
	}
	if len(fake.bulkReplays) != 5 {
		t.Fatalf("%d bulk replays started, want 5: bad requests start none", len(fake.bulkReplays))
	}
}
