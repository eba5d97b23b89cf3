package api_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/scanforge/scanforge/internal/id"
	"github.com/scanforge/scanforge/internal/outbox"
	"github.com/scanforge/scanforge/models"
)

// seedAPIScans stores scans of codeID in workspace A: four humans and two
// bots on 2025-03-01..03 (the test clock starts 2025-03-04), plus one in
// January, outside the default 30-day stats window.
func (e *env) seedAPIScans(codeID string) []models.Scan {
	e.t.Helper()
	type spec struct {
		at                        string
		source, cc, device, botBy string
		visitor                   string // the same visitor key each day, for the unique counts
	}
	specs := []spec{
		{"2025-01-15T10:00:00Z", "qr", "DE", "mobile", "", "a"},
		{"2025-03-01T08:00:00Z", "qr", "DE", "mobile", "", "a"},
		{"2025-03-01T09:00:00Z", "link", "US", "desktop", "", "a"},
		{"2025-03-02T10:00:00Z", "qr", "DE", "tablet", "", "a"},
		{"2025-03-02T11:00:00Z", "link", "", "bot", "link_preview", "b"},
		{"2025-03-03T12:00:00Z", "qr", "FR", "mobile", "", "c"},
		{"2025-03-03T13:00:00Z", "qr", "", "bot", "http_library", "c"},
	}
	var scans []models.Scan
	for _, s := range specs {
		at, err := time.Parse(time.RFC3339, s.at)
		if err != nil {
			e.t.Fatal(err)
		}
		scans = append(scans, models.Scan{
			ID: id.New(id.Scan, at), WorkspaceID: e.wsID, CodeID: codeID, Slug: "x", Timestamp: at,
			Source: s.source, DestinationURL: "https://example.com", CountryCode: s.cc, Country: map[string]string{"DE": "Germany", "US": "United States", "FR": "France"}[s.cc],
			DeviceType: s.device, IsBot: s.botBy != "", BotReason: s.botBy, UserAgent: "ua-" + s.at,
			VisitorKey: strings.Repeat(s.visitor, 32),
		})
	}
	if _, err := outbox.NewWriter(e.store).InsertScans(context.Background(), scans); err != nil {
		e.t.Fatal(err)
	}
	return scans
}

func TestScansList(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		e := newEnv(t, kind)
		code := e.createCode("analytics", "https://example.com/")
		codeID := code["id"].(string)
		scans := e.seedAPIScans(codeID)
		base := "/api/v1/codes/" + codeID + "/scans"

		ids := func(body map[string]any) []string {
			var out []string
			for _, item := range body["data"].([]any) {
				out = append(out, item.(map[string]any)["id"].(string))
			}
			return out
		}

		// Newest first, in pages of 2, following next_cursor to the end.
		var walked []string
		path := base + "?limit=2"
		for pages := 0; ; pages++ {
			body := e.call("GET", path, "", http.StatusOK)
			walked = append(walked, ids(body)...)
			next, _ := body["next_cursor"].(string)
			if next == "" {
				break
			}
			if pages > 10 {
				t.Fatal("pagination does not end")
			}
			path = base + "?limit=2&cursor=" + next
		}
		var want []string
		for i := len(scans) - 1; i >= 0; i-- {
			want = append(want, scans[i].ID)
		}
		if strings.Join(walked, ",") != strings.Join(want, ",") {
			t.Fatalf("walked %v\nwant   %v", walked, want)
		}

		// The answer has the event's shape.
		first := e.call("GET", base+"?limit=1", "", http.StatusOK)["data"].([]any)[0].(map[string]any)
		if first["id"] != scans[6].ID || first["timestamp"] != "2025-03-03T13:00:00Z" || first["source"] != "qr" ||
			first["user_agent"] != "ua-2025-03-03T13:00:00Z" {
			t.Fatalf("first scan = %v", first)
		}
		if bot := first["bot"].(map[string]any); bot["is_bot"] != true || bot["reason"] != "http_library" {
			t.Fatalf("bot = %v", bot)
		}
		if dev := first["device"].(map[string]any); dev["type"] != "bot" {
			t.Fatalf("device = %v", dev)
		}
		if _, ok := first["geo"].(map[string]any)["country_code"]; !ok {
			t.Fatalf("geo = %v", first["geo"])
		}
		if _, leaked := first["ip"]; leaked {
			t.Fatal("the scan answer shows the client IP")
		}

		filters := []struct {
			query string
			want  []int // indexes into scans, newest first
		}{
			{"bots=exclude", []int{5, 3, 2, 1, 0}},
			{"bots=only", []int{6, 4}},
			{"bots=include", []int{6, 5, 4, 3, 2, 1, 0}},
			{"source=link", []int{4, 2}},
			{"country=de", []int{3, 1, 0}},
			{"device_type=mobile", []int{5, 1, 0}},
			{"from=2025-03-02T00:00:00Z&to=2025-03-03T00:00:00Z", []int{4, 3}},
			{"from=" + url.QueryEscape("2025-03-02T01:00:00+01:00"), []int{6, 5, 4, 3}},
			{"to=2025-03-01T09:00:00Z", []int{1, 0}},
			{"country=DE&source=qr&bots=exclude&from=2025-02-01T00:00:00Z", []int{3, 1}},
		}
		for _, f := range filters {
			var want []string
			for _, i := range f.want {
				want = append(want, scans[i].ID)
			}
			got := ids(e.call("GET", base+"?"+f.query, "", http.StatusOK))
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("%s: got %v, want %v", f.query, got, want)
			}
		}

		if rec := e.do(request{Method: "GET", Path: base, Key: e.otherKey}); rec.Code != http.StatusNotFound {
			t.Errorf("other workspace: status %d", rec.Code)
		}
	})
}

func TestScansAndStatsValidation(t *testing.T) {
	e := newEnv(t, "sqlite")
	code := e.createCode("validate", "https://example.com/")
	for _, route := range []string{"scans", "stats", "workspace stats"} {
		base := "/api/v1/codes/" + code["id"].(string) + "/" + route + "?"
		if route == "workspace stats" {
			base = "/api/v1/stats?"
		}
		tests := []struct{ query, field, message string }{
			{"from=yesterday", "from", "from must be an RFC 3339 time"},
			{"from=2025-03-01T00:00:00+01:00", "from", "must be sent as %2B"},
			{"to=2025-03-01", "to", "to must be an RFC 3339 time"},
			{"from=2025-03-02T00:00:00Z&to=2025-03-01T00:00:00Z", "to", "to must be later than from"},
			{"from=2025-03-02T00:00:00Z&to=2025-03-02T00:00:00Z", "to", "to must be later than from"},
			{"source=email", "source", "source must be qr or link"},
			{"country=DEU", "country", "ISO 3166-1 alpha-2"},
			{"country=1A", "country", "ISO 3166-1 alpha-2"},
			{"device_type=phone", "device_type", "device_type must be one of mobile, tablet, desktop, tv, console, bot, unknown"},
			{"bots=no", "bots", "bots must be include, exclude or only"},
			{"bot=exclude", "bot", `unknown query parameter "bot"`},
			{"source=qr&source=link", "source", "given more than once"},
		}
		if route == "scans" {
			tests = append(tests,
				struct{ query, field, message string }{"limit=0", "limit", "limit must be an integer from 1 to 100"},
				struct{ query, field, message string }{"cursor=bm9wZQ", "cursor", "cursor is not valid"},
				// Well-formed, but no scan of this code.
				struct{ query, field, message string }{"cursor=" + base64.RawURLEncoding.EncodeToString([]byte("scan_01jwnnsvg000qmjwgam9kz18fx")), "cursor", "cursor is not valid"})
		} else {
			tests = append(tests,
				struct{ query, field, message string }{"limit=5", "limit", `unknown query parameter "limit"`},
				struct{ query, field, message string }{"from=2024-01-01T00:00:00Z&to=2025-03-01T00:00:00Z", "from", "at most 366 days"},
				struct{ query, field, message string }{"from=2030-01-01T00:00:00Z", "from", "from must be in the past"})
		}
		for _, tt := range tests {
			t.Run(route+"?"+tt.query, func(t *testing.T) {
				rec := e.do(request{Method: "GET", Path: base + tt.query, Key: e.key})
				if rec.Code != http.StatusBadRequest {
					t.Fatalf("status %d, want 400: %s", rec.Code, rec.Body)
				}
				errObj := errorOf(t, rec)
				if errObj["field"] != tt.field {
					t.Errorf("field %v, want %q", errObj["field"], tt.field)
				}
				if msg, _ := errObj["message"].(string); !strings.Contains(msg, tt.message) {
					t.Errorf("message %q does not contain %q", msg, tt.message)
				}
			})
		}
	}
}

func TestStats(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		e := newEnv(t, kind)
		code := e.createCode("stats", "https://example.com/")
		codeID := code["id"].(string)
		e.seedAPIScans(codeID)
		base := "/api/v1/codes/" + codeID + "/stats"

		// Default: the 30 days up to now (the test clock: 2025-03-04).
		def := e.call("GET", base, "", http.StatusOK)
		if def["code_id"] != codeID || def["total"] != 6.0 || def["humans"] != 4.0 || def["bots"] != 2.0 {
			t.Fatalf("default stats = %v", def)
		}
		from, _ := time.Parse(time.RFC3339, def["from"].(string))
		to, _ := time.Parse(time.RFC3339, def["to"].(string))
		if to.Sub(from) != 30*24*time.Hour || to.Format(time.DateOnly) != "2025-03-04" {
			t.Fatalf("default range %v .. %v", from, to)
		}
		if days := def["by_day"].([]any); len(days) != 31 || days[0].(map[string]any)["date"] != from.Format(time.DateOnly) {
			t.Fatalf("by_day has %d days from %v", len(days), days[0])
		}

		st := e.call("GET", base+"?from=2025-03-01T00:00:00Z&to=2025-03-04T00:00:00Z", "", http.StatusOK)
		check := func(name string, got any, want string) {
			t.Helper()
			if s := fmt.Sprint(got); s != want {
				t.Errorf("%s = %s\nwant %s", name, s, want)
			}
		}
		// Visitors: "a" twice on 03-01 counts once, and again on 03-02 (days
		// are not linked); "c" twice on 03-03 counts once, under its first scan.
		check("visitors", st["visitors"], "4")
		check("by_day", st["by_day"], "[map[count:2 date:2025-03-01 visitors:1] map[count:2 date:2025-03-02 visitors:2] map[count:2 date:2025-03-03 visitors:1]]")
		check("by_country", st["by_country"], "[map[count:2 key: visitors:1] map[count:2 key:DE name:Germany visitors:2] map[count:1 key:FR name:France visitors:1] map[count:1 key:US name:United States visitors:0]]")
		check("by_device_type", st["by_device_type"], "[map[count:2 key:bot visitors:1] map[count:2 key:mobile visitors:2] map[count:1 key:desktop visitors:0] map[count:1 key:tablet visitors:1]]")
		check("by_source", st["by_source"], "[map[count:4 key:qr visitors:3] map[count:2 key:link visitors:1]]")
		check("by_bot_reason", st["by_bot_reason"], "[map[count:1 key:http_library visitors:0] map[count:1 key:link_preview visitors:1]]")
		for _, k := range []string{"by_region", "by_city", "by_browser", "by_os"} {
			if _, ok := st[k].([]any); !ok {
				t.Errorf("%s is %T, want a list", k, st[k])
			}
		}

		humans := e.call("GET", base+"?from=2025-01-01T00:00:00Z&to=2025-03-04T00:00:00Z&bots=exclude&country=DE", "", http.StatusOK)
		if humans["total"] != 3.0 || humans["bots"] != 0.0 {
			t.Fatalf("filtered stats = %v", humans)
		}
		if rec := e.do(request{Method: "GET", Path: base, Key: e.otherKey}); rec.Code != http.StatusNotFound {
			t.Errorf("other workspace: status %d", rec.Code)
		}
	})
}

// GET /stats counts every scan of the caller's workspace, of every code
// (a deleted one's too: it keeps its scans), rolled up or not yet, and
// breaks them down by code; another workspace sees none of them.
func TestWorkspaceStats(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		e := newEnv(t, kind)
		first := e.createCode("first", "https://example.com/")["id"].(string)
		second := e.createCode("second", "https://example.com/")["id"].(string)
		e.seedAPIScans(first)
		if _, err := e.store.RollScans(context.Background()); err != nil { // the first code's scans from the rollups
			t.Fatal(err)
		}
		e.seedAPIScans(second) // the second's past the watermark
		e.call("DELETE", "/api/v1/codes/"+second, "", http.StatusNoContent)

		st := e.call("GET", "/api/v1/stats?from=2025-03-01T00:00:00Z&to=2025-03-04T00:00:00Z", "", http.StatusOK)
		check := func(name string, got any, want string) {
			t.Helper()
			if s := fmt.Sprint(got); s != want {
				t.Errorf("%s = %s\nwant %s", name, s, want)
			}
		}
		check("workspace_id", st["workspace_id"], e.wsID)
		check("totals", []any{st["total"], st["humans"], st["bots"], st["visitors"]}, "[12 8 4 8]")
		check("by_day", st["by_day"], "[map[count:4 date:2025-03-01 visitors:2] map[count:4 date:2025-03-02 visitors:4] map[count:4 date:2025-03-03 visitors:2]]")
		check("by_source", st["by_source"], "[map[count:8 key:qr visitors:6] map[count:4 key:link visitors:2]]")
		wantCodes := []string{first, second}
		if second < first {
			wantCodes = []string{second, first}
		}
		check("by_code", st["by_code"], fmt.Sprintf("[map[count:6 key:%s visitors:4] map[count:6 key:%s visitors:4]]", wantCodes[0], wantCodes[1]))
		if _, ok := st["code_id"]; ok {
			t.Errorf("workspace stats name a code: %v", st["code_id"])
		}

		humans := e.call("GET", "/api/v1/stats?from=2025-01-01T00:00:00Z&to=2025-03-04T00:00:00Z&bots=exclude&country=DE", "", http.StatusOK)
		check("humans in DE", []any{humans["total"], humans["bots"], len(humans["by_code"].([]any))}, "[6 0 2]")

		other := e.do(request{Method: "GET", Path: "/api/v1/stats?from=2025-01-01T00:00:00Z&to=2025-03-04T00:00:00Z", Key: e.otherKey})
		if other.Code != http.StatusOK || !strings.Contains(other.Body.String(), `"total":0,`) || !strings.Contains(other.Body.String(), `"by_code":[]`) {
			t.Errorf("other workspace: %d %s", other.Code, other.Body)
		}
	})
}
