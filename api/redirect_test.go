package api_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/scanforge/scanforge/api"
	"github.com/scanforge/scanforge/internal/enrich"
	"github.com/scanforge/scanforge/models"
)

func TestRedirectRecordsScans(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		e := newEnv(t, kind)
		lat, lon := 51.5, -0.12
		e.enricher.result = enrich.Result{
			Geo:    enrich.Geo{Country: "United Kingdom", CountryCode: "GB", Region: "England", City: "London", Latitude: &lat, Longitude: &lon, Timezone: "Europe/London"},
			Device: enrich.Device{Type: "mobile", Browser: "Safari", BrowserVersion: "17.0", OS: "iOS", OSVersion: "17.1"},
			Bot:    enrich.Bot{IsBot: true, Reason: "head_request"},
		}
		code := e.createCode("menu", "https://example.com/menu?x=1")
		codeID := code["id"].(string)

		const ua = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X)"
		cases := []struct {
			method, path, source string
		}{
			{"GET", "/q/menu", "qr"},
			{"HEAD", "/q/menu", "qr"},
			{"GET", "/l/menu", "link"},
			{"HEAD", "/l/menu", "link"},
		}
		for i, tc := range cases {
			rec := e.do(request{Method: tc.method, Path: tc.path, RemoteAddr: "198.51.100.7:40000", Header: http.Header{
				"User-Agent": {ua}, "Referer": {"https://news.example/post"},
			}})
			if rec.Code != http.StatusFound || rec.Header().Get("Location") != "https://example.com/menu?x=1" {
				t.Fatalf("%s %s: %d Location %q", tc.method, tc.path, rec.Code, rec.Header().Get("Location"))
			}
			if rec.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q", rec.Header().Get("Cache-Control"))
			}
			in := e.enricher.lastInput()
			if in.IP != netip.MustParseAddr("198.51.100.7") || in.Method != tc.method || in.UserAgent != ua || in.Header.Get("Referer") == "" {
				t.Errorf("enricher input = %+v", in)
			}
			scans := e.scans()
			if len(scans) != i+1 {
				t.Fatalf("%d scans after %d redirects", len(scans), i+1)
			}
			s := scans[i]
			// The request's fields, then the enrichment's; ID, Timestamp
			// and DispatchedAt are checked below.
			want := models.Scan{
				WorkspaceID: e.wsID, CodeID: codeID, Slug: "menu", CodeName: "Code menu", Source: tc.source,
				DestinationURL: "https://example.com/menu?x=1", UserAgent: ua, Referrer: "https://news.example/post",
				Country: "United Kingdom", CountryCode: "GB", Region: "England", City: "London",
				Latitude: &lat, Longitude: &lon, Timezone: "Europe/London",
				DeviceType: "mobile", Browser: "Safari", BrowserVersion: "17.0", OS: "iOS", OSVersion: "17.1",
				IsBot: true, BotReason: "head_request",
				VisitorKey: testVisitors(t).Key(s.Timestamp, netip.MustParseAddr("198.51.100.7"), ua, codeID),
			}
			if diff := cmp.Diff(want, s, cmpopts.IgnoreFields(models.Scan{}, "ID", "Timestamp", "DispatchedAt", "IsUnique")); diff != "" {
				t.Errorf("scan %d (-want +got):\n%s", i, diff)
			}
			if !strings.HasPrefix(s.ID, "scan_") {
				t.Errorf("scan %d: ID %q", i, s.ID)
			}
			if s.Timestamp.IsZero() || s.Timestamp.Nanosecond()%1000 != 0 {
				t.Errorf("timestamp %v", s.Timestamp)
			}
			// One client: its first scan of the code today is its unique one.
			if s.IsUnique != (i == 0) {
				t.Errorf("scan %d unique = %v", i, s.IsUnique)
			}
			if s.DispatchedAt == nil { // the code has no endpoint
				t.Errorf("a scan no endpoint takes waits in the outbox")
			}
		}

		// Changing the destination changes where the next scan goes.
		e.call("PATCH", "/api/v1/codes/"+codeID, `{"destination_url":"http://example.org/new"}`, http.StatusOK)
		rec := e.do(request{Method: "GET", Path: "/q/menu"})
		if rec.Code != http.StatusFound || rec.Header().Get("Location") != "http://example.org/new" {
			t.Fatalf("after update: %d %q", rec.Code, rec.Header().Get("Location"))
		}
		scans := e.scans()
		if got := scans[len(scans)-1]; got.DestinationURL != "http://example.org/new" {
			t.Fatalf("scan destination %q", got.DestinationURL)
		}

		// Unknown, inactive and deleted codes: the HTML 404 page, no scan.
		e.call("POST", "/api/v1/codes", `{"slug":"off","destination_url":"https://x.test","active":false}`, http.StatusCreated)
		gone := e.createCode("gone", "https://x.test")["id"].(string)
		e.call("DELETE", "/api/v1/codes/"+gone, "", http.StatusNoContent)
		before := len(e.scans())
		for _, path := range []string{"/q/nope", "/l/nope", "/q/off", "/l/off", "/q/gone", "/q/bad%20slug", "/q/" + strings.Repeat("a", 65), "/q/a%00"} {
			for _, method := range []string{"GET", "HEAD"} {
				rec := e.do(request{Method: method, Path: path})
				if rec.Code != http.StatusNotFound || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
					t.Errorf("%s %s: %d %q", method, path, rec.Code, rec.Header().Get("Content-Type"))
				}
				if method == "GET" && !strings.Contains(rec.Body.String(), "This code is not active") {
					t.Errorf("%s %s: body %q", method, path, rec.Body)
				}
			}
		}
		// Deactivating a live code stops its redirect.
		e.call("POST", "/api/v1/codes/"+codeID+"/deactivate", "", http.StatusOK)
		if rec := e.do(request{Method: "GET", Path: "/q/menu"}); rec.Code != http.StatusNotFound {
			t.Fatalf("deactivated code: %d", rec.Code)
		}
		if n := len(e.scans()); n != before {
			t.Fatalf("%d scans recorded for non-redirects", n-before)
		}
	})
}

func TestRedirectClientIP(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		e := newEnv(t, kind, func(o *api.Options) {
			o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
		})
		codeID := e.createCode("ip", "https://example.com")["id"].(string)
		cases := []struct {
			name, remote, xff, want string
		}{
			{"direct client", "203.0.113.5:1234", "", "203.0.113.5"},
			{"untrusted peer's X-Forwarded-For is ignored", "203.0.113.5:1234", "1.2.3.4", "203.0.113.5"},
			{"trusted proxy", "10.1.2.3:5555", "198.51.100.9", "198.51.100.9"},
			{"trusted proxy, forged left entries", "10.1.2.3:5555", "6.6.6.6, 198.51.100.9, 10.9.9.9", "198.51.100.9"},
			{"IPv6 client", "[2001:db8::1]:443", "", "2001:db8::1"},
		}
		for _, tc := range cases {
			r := request{Method: "GET", Path: "/q/ip", RemoteAddr: tc.remote}
			if tc.xff != "" {
				r.Header = http.Header{"X-Forwarded-For": {tc.xff}}
			}
			if rec := e.do(r); rec.Code != http.StatusFound {
				t.Fatalf("%s: %d", tc.name, rec.Code)
			}
			if got := e.enricher.lastInput().IP; got != netip.MustParseAddr(tc.want) {
				t.Errorf("%s: IP %v, want %s", tc.name, got, tc.want)
			}
			// The IP is not stored: the scan keeps the visitor key it makes.
			sc := e.scans()[len(e.scans())-1]
			if want := testVisitors(t).Key(sc.Timestamp, netip.MustParseAddr(tc.want), sc.UserAgent, codeID); sc.VisitorKey != want {
				t.Errorf("%s: visitor key %q, want %q", tc.name, sc.VisitorKey, want)
			}
			if row := fmt.Sprintf("%+v", sc); strings.Contains(row, tc.want) {
				t.Errorf("%s: the stored scan holds the IP: %s", tc.name, row)
			}
		}
	})
}

// TestRedirectOddRequests sends headers that no column could hold as is:
// the scan is still recorded, cleaned and cut.
func TestRedirectOddRequests(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		e := newEnv(t, kind)
		e.enricher.result = enrich.Result{Device: enrich.Device{BrowserVersion: strings.Repeat("9", 300)}}
		e.createCode("odd", "https://example.com")
		ua := "Mozilla/5.0 \xff\xfe" + strings.Repeat("é", 1000) // invalid UTF-8, then 2000 bytes
		rec := e.do(request{Method: "GET", Path: "/q/odd", Header: http.Header{
			"User-Agent": {ua}, "Referer": {"https://r.test/" + strings.Repeat("r", 3000) + "\x00"},
		}})
		if rec.Code != http.StatusFound {
			t.Fatalf("status %d", rec.Code)
		}
		if logs := e.logs.String(); strings.Contains(logs, "scan not recorded") {
			t.Fatalf("scan lost: %s", logs)
		}
		scans := e.scans()
		if len(scans) != 1 {
			t.Fatalf("%d scans", len(scans))
		}
		s := scans[0]
		if len(s.UserAgent) > 1024 || !strings.HasPrefix(s.UserAgent, "Mozilla/5.0 ") || strings.Contains(s.UserAgent, "\xff") {
			t.Errorf("user agent %d bytes: %q", len(s.UserAgent), s.UserAgent[:40])
		}
		if len(s.Referrer) > 2048 || len(s.BrowserVersion) > 64 || strings.Contains(s.Referrer, "\x00") {
			t.Errorf("referrer %d bytes, browser version %d bytes", len(s.Referrer), len(s.BrowserVersion))
		}
	})
}

func TestRedirectSurvivesRecorderFailure(t *testing.T) {
	e := newEnv(t, "sqlite", func(o *api.Options) { o.Recorder = failingRecorder{} })
	e.createCode("fire", "https://example.com/safe")
	rec := e.do(request{Method: "GET", Path: "/q/fire", Header: http.Header{"X-Request-Id": {"lost-scan-1"}}})
	if rec.Code != http.StatusFound || rec.Header().Get("Location") != "https://example.com/safe" {
		t.Fatalf("status %d Location %q", rec.Code, rec.Header().Get("Location"))
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "level=ERROR") || !strings.Contains(logs, "scan not recorded") ||
		!strings.Contains(logs, "database is on fire") || !strings.Contains(logs, "lost-scan-1") {
		t.Fatalf("logs: %s", logs)
	}
}

func TestRedirectRefusesNonHTTPDestinations(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		e := newEnv(t, kind)
		id := e.createCode("evil", "https://example.com")["id"].(string)
		// Only a database edit can store such a URL; the redirect must still refuse it.
		for _, dest := range []string{"javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,hi", "//example.com", "ftp://x.test",
			"https://", "https://trusted.example@evil.test/", "https://x.test/\nSet-Cookie: a=b"} {
			if err := e.store.DB().Exec("UPDATE codes SET destination_url = ? WHERE id = ?", dest, id).Error; err != nil {
				t.Fatal(err)
			}
			if rec := e.do(request{Method: "GET", Path: "/q/evil"}); rec.Code != http.StatusNotFound || rec.Header().Get("Location") != "" {
				t.Errorf("%s: %d Location %q", dest, rec.Code, rec.Header().Get("Location"))
			}
		}
	})
}

// TestOverRealHTTP runs the whole flow through a real listener: create a
// code with the API, scan it with an HTTP client that does not follow
// redirects.
func TestOverRealHTTP(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		e := newEnv(t, kind)
		srv := httptest.NewServer(e.router)
		defer srv.Close()
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/codes", strings.NewReader(`{"slug":"live","destination_url":"https://example.com/live"}`))
		req.Header.Set("Authorization", "Bearer "+e.key)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("create: %d", resp.StatusCode)
		}
		for _, method := range []string{"GET", "HEAD"} {
			req, _ := http.NewRequest(method, srv.URL+"/l/live", nil)
			req.Header.Set("User-Agent", "real-client/1.0")
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "https://example.com/live" {
				t.Fatalf("%s: %d %q", method, resp.StatusCode, resp.Header.Get("Location"))
			}
		}
		scans := e.scans()
		if len(scans) != 2 || e.enricher.lastInput().IP != netip.MustParseAddr("127.0.0.1") || scans[0].UserAgent != "real-client/1.0" || scans[1].Source != "link" {
			t.Fatalf("scans = %+v", scans)
		}
	})
}
