package api_test

import (
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/scanforge/scanforge/models"
)

func TestEndpointsCRUD(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		e := newEnv(t, kind)
		codeA := e.createCode("a", "https://example.com/a")["id"].(string)
		codeB := e.createCode("b", "https://example.com/b")["id"].(string)

		created := e.call("POST", "/api/v1/endpoints", `{"url":"https://hooks.example.com/scan","description":"CRM"}`, http.StatusCreated)
		id := created["id"].(string)
		secret, _ := created["secret"].(string)
		if !strings.HasPrefix(secret, "whsec_") || len(secret) < 30 {
			t.Fatalf("secret = %q", secret)
		}
		wantKeys := []string{"all_codes", "body_signature", "code_ids", "created_at", "description", "disabled_reason", "enabled", "failing_since", "fields", "format", "human_only", "id", "max_in_flight", "operational", "paused_at", "rate_limit", "secret", "state", "updated_at", "url"}
		if keys := sortedKeys(created); !reflect.DeepEqual(keys, wantKeys) {
			t.Fatalf("create answer keys = %v, want %v", keys, wantKeys)
		}
		if created["url"] != "https://hooks.example.com/scan" || created["description"] != "CRM" ||
			created["enabled"] != true || created["all_codes"] != true || created["disabled_reason"] != "" ||
			len(created["code_ids"].([]any)) != 0 {
			t.Fatalf("created = %v", created)
		}

		// Subscribed to two codes (given twice and unordered: stored once, sorted).
		sub := e.call("POST", "/api/v1/endpoints",
			fmt.Sprintf(`{"url":"http://localhost:9000/h","code_ids":[%q,%q,%q],"enabled":false}`, codeB, codeA, codeB), http.StatusCreated)
		subID := sub["id"].(string)
		wantCodes := []any{min(codeA, codeB), max(codeA, codeB)}
		if sub["all_codes"] != false || sub["enabled"] != false || !reflect.DeepEqual(sub["code_ids"], wantCodes) {
			t.Fatalf("subscribed endpoint = %v", sub)
		}
		if got := e.call("GET", "/api/v1/endpoints/"+subID, "", http.StatusOK); !reflect.DeepEqual(got["code_ids"], wantCodes) {
			t.Fatalf("stored code_ids = %v", got["code_ids"])
		}

		// The secret is never shown again.
		answers := []string{}
		for _, r := range []request{
			{Method: "GET", Path: "/api/v1/endpoints/" + id},
			{Method: "GET", Path: "/api/v1/endpoints"},
			{Method: "PATCH", Path: "/api/v1/endpoints/" + id, Body: `{"description":"CRM v2"}`},
			{Method: "POST", Path: "/api/v1/endpoints/" + id + "/disable"},
			{Method: "POST", Path: "/api/v1/endpoints/" + id + "/enable"},
		} {
			r.Key = e.key
			rec := e.do(r)
			if rec.Code != http.StatusOK {
				t.Fatalf("%s %s: %d %s", r.Method, r.Path, rec.Code, rec.Body)
			}
			answers = append(answers, rec.Body.String())
		}
		for _, a := range answers {
			if strings.Contains(a, secret) || strings.Contains(a, `"secret"`) {
				t.Fatalf("secret leaked in %s", a)
			}
		}
		if strings.Contains(e.logs.String(), secret) {
			t.Fatal("secret leaked in logs")
		}

		// PATCH: absent or null code_ids keep the subscriptions; [] means every code.
		got := e.call("PATCH", "/api/v1/endpoints/"+subID, `{"url":"https://new.example.com/h","code_ids":null}`, http.StatusOK)
		if got["url"] != "https://new.example.com/h" || !reflect.DeepEqual(got["code_ids"], wantCodes) || got["all_codes"] != false {
			t.Fatalf("patch url = %v", got)
		}
		got = e.call("PATCH", "/api/v1/endpoints/"+subID, fmt.Sprintf(`{"code_ids":[%q]}`, codeA), http.StatusOK)
		if !reflect.DeepEqual(got["code_ids"], []any{codeA}) || got["all_codes"] != false {
			t.Fatalf("patch code_ids = %v", got)
		}
		got = e.call("PATCH", "/api/v1/endpoints/"+subID, `{"code_ids":[]}`, http.StatusOK)
		if len(got["code_ids"].([]any)) != 0 || got["all_codes"] != true {
			t.Fatalf("patch code_ids [] = %v", got)
		}
		if got := e.call("GET", "/api/v1/endpoints/"+subID, "", http.StatusOK); got["all_codes"] != true || len(got["code_ids"].([]any)) != 0 {
			t.Fatalf("stored after [] = %v", got)
		}

		// Disable/enable and the reason.
		got = e.call("POST", "/api/v1/endpoints/"+id+"/disable", "", http.StatusOK)
		if got["enabled"] != false || got["disabled_reason"] == "" {
			t.Fatalf("disable = %v", got)
		}
		got = e.call("POST", "/api/v1/endpoints/"+id+"/enable", "", http.StatusOK)
		if got["enabled"] != true || got["disabled_reason"] != "" {
			t.Fatalf("enable = %v", got)
		}
		// A reason set by the delivery worker is cleared by re-enabling through PATCH.
		if err := e.store.DisableEndpoint(t.Context(), id, models.CauseGone, "endpoint answered 410 Gone"); err != nil {
			t.Fatal(err)
		}
		if got := e.call("GET", "/api/v1/endpoints/"+id, "", http.StatusOK); got["disabled_reason"] != "endpoint answered 410 Gone" {
			t.Fatalf("worker reason = %v", got["disabled_reason"])
		}
		got = e.call("PATCH", "/api/v1/endpoints/"+id, `{"enabled":true}`, http.StatusOK)
		if got["enabled"] != true || got["disabled_reason"] != "" {
			t.Fatalf("re-enable by patch = %v", got)
		}
		if got := e.call("GET", "/api/v1/endpoints/"+id, "", http.StatusOK); got["enabled"] != true || got["disabled_reason"] != "" {
			t.Fatalf("stored re-enable = %v", got)
		}

		// The states an endpoint goes through, as the API shows them.
		states := []struct{ method, path, body, want string }{
			{"POST", "/pause", "", "paused"},
			{"POST", "/pause", "", "paused"}, // again: keeps its first paused_at
			{"POST", "/disable", "", "disabled"},
			{"POST", "/resume", "", "enabled"}, // resumes whatever stopped it
			{"POST", "/pause", "", "paused"},
			{"POST", "/enable", "", "paused"}, // enabling does not unpause
			{"POST", "/resume", "", "enabled"},
		}
		var firstPause any
		for i, st := range states {
			got := e.call(st.method, "/api/v1/endpoints/"+id+st.path, st.body, http.StatusOK)
			if got["state"] != st.want || (st.want == "enabled") != (got["paused_at"] == nil) {
				t.Fatalf("%s %s: state %v, paused_at %v; want %s", st.method, st.path, got["state"], got["paused_at"], st.want)
			}
			if i == 0 {
				firstPause = got["paused_at"]
			}
			if i == 1 && got["paused_at"] != firstPause {
				t.Fatalf("second pause moved paused_at from %v to %v", firstPause, got["paused_at"])
			}
		}
		if err := e.store.DisableEndpoint(t.Context(), id, models.CauseAutoDisabled, "auto-disabled: test"); err != nil {
			t.Fatal(err)
		}
		if got := e.call("GET", "/api/v1/endpoints/"+id, "", http.StatusOK); got["state"] != "auto_disabled" || got["enabled"] != false {
			t.Fatalf("auto-disabled endpoint = %v", got)
		}
		if got := e.call("POST", "/api/v1/endpoints/"+id+"/resume", "", http.StatusOK); got["state"] != "enabled" || got["disabled_reason"] != "" {
			t.Fatalf("resumed auto-disabled endpoint = %v", got)
		}
		e.call("POST", "/api/v1/endpoints/ep_00000000000000000000000000/pause", "", http.StatusNotFound)

		// A code of another workspace cannot be subscribed to.
		rec := e.do(request{Method: "POST", Path: "/api/v1/codes", Key: e.otherKey, Body: `{"slug":"theirs","destination_url":"https://x.test"}`})
		if rec.Code != http.StatusCreated {
			t.Fatalf("other workspace create: %d %s", rec.Code, rec.Body)
		}
		theirs := decode(t, rec)["id"].(string)
		for _, r := range []request{
			{Method: "POST", Path: "/api/v1/endpoints", Body: fmt.Sprintf(`{"url":"https://h.test","code_ids":[%q]}`, theirs)},
			{Method: "PATCH", Path: "/api/v1/endpoints/" + id, Body: fmt.Sprintf(`{"code_ids":[%q,%q]}`, codeA, theirs)},
		} {
			r.Key = e.key
			rec := e.do(r)
			if rec.Code != http.StatusUnprocessableEntity || errorOf(t, rec)["field"] != "code_ids" {
				t.Fatalf("%s with another workspace's code: %d %s", r.Method, rec.Code, rec.Body)
			}
		}

		list := e.call("GET", "/api/v1/endpoints", "", http.StatusOK)
		data := list["data"].([]any)
		if len(data) != 2 || data[0].(map[string]any)["id"] != subID || data[1].(map[string]any)["id"] != id || list["next_cursor"] != nil {
			t.Fatalf("list = %v", list)
		}
		page := e.call("GET", "/api/v1/endpoints?limit=1", "", http.StatusOK)
		cursor, _ := page["next_cursor"].(string)
		if len(page["data"].([]any)) != 1 || cursor == "" {
			t.Fatalf("first page = %v", page)
		}
		page = e.call("GET", "/api/v1/endpoints?limit=1&cursor="+cursor, "", http.StatusOK)
		if d := page["data"].([]any); len(d) != 1 || d[0].(map[string]any)["id"] != id || page["next_cursor"] != nil {
			t.Fatalf("second page = %v", page)
		}

		rec = e.do(request{Method: "DELETE", Path: "/api/v1/endpoints/" + id, Key: e.key})
		if rec.Code != http.StatusNoContent {
			t.Fatalf("delete: %d %s", rec.Code, rec.Body)
		}
		rec = e.do(request{Method: "GET", Path: "/api/v1/endpoints/" + id, Key: e.key})
		if rec.Code != http.StatusNotFound || errorOf(t, rec)["code"] != "not_found" {
			t.Fatalf("get after delete: %d %s", rec.Code, rec.Body)
		}
	})
}

func TestOtherWorkspaceSeesNothing(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		e := newEnv(t, kind)
		code := e.createCode("mine", "https://example.com")["id"].(string)
		ep := e.call("POST", "/api/v1/endpoints", `{"url":"https://h.test"}`, http.StatusCreated)["id"].(string)

		for _, r := range []request{
			{Method: "GET", Path: "/api/v1/codes/" + code},
			{Method: "PATCH", Path: "/api/v1/codes/" + code, Body: `{"name":"stolen"}`},
			{Method: "POST", Path: "/api/v1/codes/" + code + "/deactivate"},
			{Method: "POST", Path: "/api/v1/codes/" + code + "/activate"},
			{Method: "DELETE", Path: "/api/v1/codes/" + code},
			{Method: "GET", Path: "/api/v1/endpoints/" + ep},
			{Method: "PATCH", Path: "/api/v1/endpoints/" + ep, Body: `{"url":"https://evil.test"}`},
			{Method: "POST", Path: "/api/v1/endpoints/" + ep + "/disable"},
			{Method: "POST", Path: "/api/v1/endpoints/" + ep + "/enable"},
			{Method: "DELETE", Path: "/api/v1/endpoints/" + ep},
		} {
			r.Key = e.otherKey
			rec := e.do(r)
			if rec.Code != http.StatusNotFound || errorOf(t, rec)["code"] != "not_found" {
				t.Errorf("%s %s as another workspace: %d %s", r.Method, r.Path, rec.Code, rec.Body)
			}
		}
		for _, path := range []string{"/api/v1/codes", "/api/v1/endpoints"} {
			rec := e.do(request{Method: "GET", Path: path, Key: e.otherKey})
			if rec.Code != http.StatusOK || len(decode(t, rec)["data"].([]any)) != 0 {
				t.Errorf("%s as another workspace: %d %s", path, rec.Code, rec.Body)
			}
		}
		// Nothing was changed by the attempts.
		got := e.call("GET", "/api/v1/codes/"+code, "", http.StatusOK)
		if got["name"] != "Code mine" || got["active"] != true {
			t.Fatalf("code changed by another workspace: %v", got)
		}
		got = e.call("GET", "/api/v1/endpoints/"+ep, "", http.StatusOK)
		if got["url"] != "https://h.test" || got["enabled"] != true {
			t.Fatalf("endpoint changed by another workspace: %v", got)
		}
	})
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
