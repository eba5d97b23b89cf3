package api_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"testing"
)

func TestCodesCRUD(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		e := newEnv(t, kind)

		created := e.call("POST", "/api/v1/codes",
			`{"slug":"spring-menu","name":"Spring menu","destination_url":"https://example.com/menu"}`, http.StatusCreated)
		id, _ := created["id"].(string)
		if !regexp.MustCompile(`^code_[0-9a-z]{26}$`).MatchString(id) {
			t.Fatalf("id = %q", id)
		}
		want := map[string]any{
			"slug": "spring-menu", "name": "Spring menu", "destination_url": "https://example.com/menu",
			"active": true, "workspace_id": e.wsID,
			"qr_url": baseURL + "/q/spring-menu", "link_url": baseURL + "/l/spring-menu",
		}
		for k, v := range want {
			if created[k] != v {
				t.Errorf("created[%q] = %v, want %v", k, created[k], v)
			}
		}

		got := e.call("GET", "/api/v1/codes/"+id, "", http.StatusOK)
		if got["slug"] != "spring-menu" || got["id"] != id {
			t.Fatalf("get = %v", got)
		}

		// A generated slug: 8 lowercase letters and digits.
		gen := e.call("POST", "/api/v1/codes", `{"destination_url":"http://example.org","active":false}`, http.StatusCreated)
		if slug, _ := gen["slug"].(string); !regexp.MustCompile(`^[a-z0-9]{8}$`).MatchString(slug) {
			t.Fatalf("generated slug %q", slug)
		}
		if gen["active"] != false || gen["name"] != "" {
			t.Fatalf("generated code = %v", gen)
		}

		// PATCH changes only what it names.
		patched := e.call("PATCH", "/api/v1/codes/"+id, `{"name":"Summer menu","destination_url":"https://example.com/summer"}`, http.StatusOK)
		if patched["name"] != "Summer menu" || patched["destination_url"] != "https://example.com/summer" ||
			patched["slug"] != "spring-menu" || patched["active"] != true {
			t.Fatalf("patched = %v", patched)
		}
		patched = e.call("PATCH", "/api/v1/codes/"+id, `{"slug":"summer","active":false}`, http.StatusOK)
		if patched["slug"] != "summer" || patched["active"] != false || patched["qr_url"] != baseURL+"/q/summer" ||
			patched["name"] != "Summer menu" {
			t.Fatalf("patched = %v", patched)
		}
		if got := e.call("GET", "/api/v1/codes/"+id, "", http.StatusOK); got["slug"] != "summer" || got["active"] != false {
			t.Fatalf("after patch get = %v", got)
		}

		if got := e.call("POST", "/api/v1/codes/"+id+"/activate", "", http.StatusOK); got["active"] != true {
			t.Fatalf("activate = %v", got)
		}
		if got := e.call("POST", "/api/v1/codes/"+id+"/deactivate", "", http.StatusOK); got["active"] != false {
			t.Fatalf("deactivate = %v", got)
		}
		if got := e.call("GET", "/api/v1/codes/"+id, "", http.StatusOK); got["active"] != false {
			t.Fatalf("deactivation not stored: %v", got)
		}

		// Slug taken → 409, on create and on update.
		rec := e.do(request{Method: "POST", Path: "/api/v1/codes", Key: e.key, Body: `{"slug":"summer","destination_url":"https://x.test"}`})
		if rec.Code != http.StatusConflict || errorOf(t, rec)["field"] != "slug" {
			t.Fatalf("duplicate slug: %d %s", rec.Code, rec.Body)
		}
		rec = e.do(request{Method: "PATCH", Path: "/api/v1/codes/" + gen["id"].(string), Key: e.key, Body: `{"slug":"summer"}`})
		if rec.Code != http.StatusConflict || errorOf(t, rec)["code"] != "conflict" {
			t.Fatalf("duplicate slug on update: %d %s", rec.Code, rec.Body)
		}

		list := e.call("GET", "/api/v1/codes", "", http.StatusOK)
		data := list["data"].([]any)
		if len(data) != 2 || data[0].(map[string]any)["id"] != gen["id"] || data[1].(map[string]any)["id"] != id {
			t.Fatalf("list (newest first) = %v", list)
		}
		if list["next_cursor"] != nil {
			t.Fatalf("next_cursor = %v, want null", list["next_cursor"])
		}

		rec = e.do(request{Method: "DELETE", Path: "/api/v1/codes/" + id, Key: e.key})
		if rec.Code != http.StatusNoContent || rec.Body.Len() != 0 {
			t.Fatalf("delete: %d %q", rec.Code, rec.Body)
		}
		for _, r := range []request{
			{Method: "GET", Path: "/api/v1/codes/" + id},
			{Method: "DELETE", Path: "/api/v1/codes/" + id},
			{Method: "PATCH", Path: "/api/v1/codes/" + id, Body: `{"name":"x"}`},
		} {
			r.Key = e.key
			rec := e.do(r)
			if rec.Code != http.StatusNotFound || errorOf(t, rec)["code"] != "not_found" {
				t.Fatalf("%s after delete: %d %s", r.Method, rec.Code, rec.Body)
			}
		}
	})
}

func TestCodesPagination(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		e := newEnv(t, kind)
		var ids []string // oldest first
		for i := range 7 {
			ids = append(ids, e.createCode(fmt.Sprintf("code-%d", i), "https://example.com/")["id"].(string))
		}

		walk := func(limit int) (pages [][]string) {
			cursor := ""
			for {
				path := fmt.Sprintf("/api/v1/codes?limit=%d", limit)
				if cursor != "" {
					path += "&cursor=" + url.QueryEscape(cursor)
				}
				out := e.call("GET", path, "", http.StatusOK)
				var page []string
				for _, item := range out["data"].([]any) {
					page = append(page, item.(map[string]any)["id"].(string))
				}
				pages = append(pages, page)
				if out["next_cursor"] == nil {
					return pages
				}
				cursor = out["next_cursor"].(string)
				if len(pages) > 10 {
					t.Fatal("pagination does not end")
				}
			}
		}

		pages := walk(3)
		if len(pages) != 3 || len(pages[0]) != 3 || len(pages[1]) != 3 || len(pages[2]) != 1 {
			t.Fatalf("pages of 3 = %v", pages)
		}
		var all []string
		for _, p := range pages {
			all = append(all, p...)
		}
		for i, id := range all {
			if id != ids[len(ids)-1-i] {
				t.Fatalf("item %d = %s, want %s (newest first): %v", i, id, ids[len(ids)-1-i], all)
			}
		}
		// A page that ends exactly at the last item has no next cursor.
		if pages := walk(7); len(pages) != 1 || len(pages[0]) != 7 {
			t.Fatalf("pages of 7 = %v", pages)
		}
		if pages := walk(100); len(pages) != 1 || len(pages[0]) != 7 {
			t.Fatalf("pages of 100 = %v", pages)
		}
		// Default limit shows all 7 (default is 20).
		if out := e.call("GET", "/api/v1/codes", "", http.StatusOK); len(out["data"].([]any)) != 7 {
			t.Fatalf("default page = %v", out)
		}

		for _, q := range []struct{ query, field string }{
			{"cursor=%%%", ""},
			{"cursor=!!!", "cursor"},
			{"cursor=bm90LWFuLWlk", "cursor"}, // base64url of "not-an-id"
			{"cursor=" + base64.RawURLEncoding.EncodeToString([]byte("ep_0123456789abcdefghjkmnpqrs")), "cursor"}, // not a code ID
			{"cursor=" + base64.RawURLEncoding.EncodeToString([]byte("code_0123456789abcdefghjkmnpqr\x00")), "cursor"},
			{"limit=0", "limit"},
			{"limit=101", "limit"},
			{"limit=abc", "limit"},
		} {
			rec := e.do(request{Method: "GET", Path: "/api/v1/codes?" + q.query, Key: e.key})
			if field, _ := errorOf(t, rec)["field"].(string); rec.Code != http.StatusBadRequest || field != q.field {
				t.Errorf("?%s: %d %s", q.query, rec.Code, rec.Body)
			}
		}
	})
}
