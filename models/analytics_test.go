package models_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/scanforge/scanforge/internal/id"
	"github.com/scanforge/scanforge/models"
)

// seedTime is the "now" of the analytics tests.
var seedTime = time.Date(2026, 11, 27, 15, 0, 0, 0, time.UTC)

type scanSpec struct {
	at                    time.Time
	source                string
	cc, country, region   string
	city, device, browser string
	os, reason            string // reason "" is a human
}

// seedSpecs are the scans of the code under test, over three UTC days.
func seedSpecs() []scanSpec {
	day := func(d, h int, min int) time.Time {
		return time.Date(2026, 11, 25+d, h, min, 0, 0, time.UTC)
	}
	var out []scanSpec
	add := func(n int, s scanSpec) {
		for i := 0; i < n; i++ {
			s := s
			s.at = s.at.Add(time.Duration(i) * time.Second)
			out = append(out, s)
		}
	}
	add(5, scanSpec{day(0, 9, 0), "qr", "DE", "Germany", "Berlin", "Berlin", "mobile", "Chrome", "Android", ""})
	add(3, scanSpec{day(0, 23, 59), "link", "DE", "Germany", "Bavaria", "Munich", "desktop", "Firefox", "Windows", ""})
	add(4, scanSpec{day(1, 0, 0), "qr", "US", "United States", "Georgia", "Atlanta", "mobile", "Safari", "iOS", ""})
	add(2, scanSpec{day(1, 12, 0), "qr", "GE", "Georgia", "Tbilisi", "Tbilisi", "tablet", "Safari", "iPadOS", ""})
	add(3, scanSpec{day(1, 13, 0), "link", "US", "United States", "", "", "bot", "", "", "link_preview"})
	add(2, scanSpec{day(2, 8, 0), "link", "", "", "", "", "bot", "curl", "", "http_library"})
	add(1, scanSpec{day(2, 9, 0), "qr", "", "", "", "", "unknown", "", "", "empty_user_agent"})
	add(6, scanSpec{day(2, 14, 0), "qr", "FR", "France", "Île-de-France", "Paris", "desktop", "Chrome", "macOS", ""})
	return out
}

// seedScans stores the specs as scans of code in ws, plus scans that every
// query must leave out: another code, another workspace, and scans outside
// the range (one a microsecond before it starts, one exactly at its end).
func seedScans(t *testing.T, s *models.Store, ws, code, otherWS, otherCode string) []models.Scan {
	t.Helper()
	mk := func(wsID, codeID string, sp scanSpec) models.Scan {
		return models.Scan{
			ID: id.New(id.Scan, sp.at), WorkspaceID: wsID, CodeID: codeID, Slug: "s", Timestamp: sp.at,
			Source: sp.source, DestinationURL: "https://example.com",
			CountryCode: sp.cc, Country: sp.country, Region: sp.region, City: sp.city,
			DeviceType: sp.device, Browser: sp.browser, OS: sp.os,
			IsBot: sp.reason != "", BotReason: sp.reason,
		}
	}
	var mine, all []models.Scan
	for _, sp := range seedSpecs() {
		mine = append(mine, mk(ws, code, sp))
	}
	all = append(all, mine...)
	noise := scanSpec{seedTime.Add(-time.Hour), "qr", "DE", "Germany", "Berlin", "Berlin", "mobile", "Chrome", "Android", ""}
	all = append(all, mk(ws, otherCode, noise), mk(otherWS, code, noise))
	before := noise
	before.at = rangeFrom.Add(-time.Microsecond)
	atEnd := noise
	atEnd.at = rangeTo
	all = append(all, mk(ws, code, before), mk(ws, code, atEnd))
	if err := insertScans(context.Background(), s, all); err != nil {
		t.Fatal(err)
	}
	return mine
}

var (
	rangeFrom = time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	rangeTo   = time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
)

// expectedStats computes what ScanStats must answer from the scans in Go,
// independently of SQL.
func expectedStats(scans []models.Scan) models.ScanStats {
	want := models.ScanStats{ByDay: []models.DayCount{
		{Date: "2026-11-25"}, {Date: "2026-11-26"}, {Date: "2026-11-27"},
	}}
	type key struct{ k, cc, region, name string }
	counts := map[string]map[key]int64{}
	inc := func(dim string, k key) {
		if counts[dim] == nil {
			counts[dim] = map[key]int64{}
		}
		counts[dim][k]++
	}
	for _, sc := range scans {
		want.Total++
		if sc.IsBot {
			want.Bots++
			inc("bot_reason", key{k: sc.BotReason})
		} else {
			want.Humans++
		}
		for i := range want.ByDay {
			if want.ByDay[i].Date == sc.Timestamp.Format(time.DateOnly) {
				want.ByDay[i].Count++
			}
		}
		inc("country", key{k: sc.CountryCode, name: sc.Country})
		inc("region", key{k: sc.Region, cc: sc.CountryCode})
		inc("city", key{k: sc.City, cc: sc.CountryCode, region: sc.Region})
		inc("device_type", key{k: sc.DeviceType})
		inc("browser", key{k: sc.Browser})
		inc("os", key{k: sc.OS})
		inc("source", key{k: sc.Source})
	}
	buckets := func(dim string) []models.Bucket {
		out := []models.Bucket{}
		for k, n := range counts[dim] {
			out = append(out, models.Bucket{Key: k.k, Name: k.name, CountryCode: k.cc, Region: k.region, Count: n})
		}
		slices.SortFunc(out, func(a, b models.Bucket) int {
			return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Key, b.Key), cmp.Compare(a.CountryCode, b.CountryCode), cmp.Compare(a.Region, b.Region))
		})
		return out
	}
	want.ByCountry, want.ByRegion, want.ByCity = buckets("country"), buckets("region"), buckets("city")
	want.ByDeviceType, want.ByBrowser, want.ByOS = buckets("device_type"), buckets("browser"), buckets("os")
	want.BySource, want.ByBotReason = buckets("source"), buckets("bot_reason")
	return want
}

func TestScanStats(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		mine := seedScans(t, s, "ws_a", "code_a", "ws_b", "code_b")

		got, err := s.ScanStats(ctx, "ws_a", "code_a", models.ScanFilter{From: rangeFrom, To: rangeTo})
		if err != nil {
			t.Fatal(err)
		}
		want := expectedStats(mine)
		assertStats(t, got, want)

		// Hand-checked figures, in case the Go model above shares a mistake.
		if got.Total != 26 || got.Bots != 6 || got.Humans != 20 {
			t.Errorf("totals = %d/%d/%d, want 26 total, 6 bots, 20 humans", got.Total, got.Bots, got.Humans)
		}
		wantDays := []models.DayCount{{Date: "2026-11-25", Count: 8}, {Date: "2026-11-26", Count: 9}, {Date: "2026-11-27", Count: 9}}
		if diff := gocmp.Diff(wantDays, got.ByDay); diff != "" {
			t.Errorf("by_day (-want +got):\n%s", diff)
		}
		// "Georgia" the US state and Georgia the country stay apart.
		if len(got.ByCountry) == 0 || got.ByCountry[0] != (models.Bucket{Key: "DE", Name: "Germany", Count: 8}) {
			t.Errorf("by_country[0] = %+v, want DE/Germany 8", got.ByCountry)
		}

		// Filters narrow the same query.
		humans, err := s.ScanStats(ctx, "ws_a", "code_a", models.ScanFilter{From: rangeFrom, To: rangeTo, Bots: models.BotsExclude, Source: "qr"})
		if err != nil {
			t.Fatal(err)
		}
		var filtered []models.Scan
		for _, sc := range mine {
			if !sc.IsBot && sc.Source == "qr" {
				filtered = append(filtered, sc)
			}
		}
		assertStats(t, humans, expectedStats(filtered))

		// An empty range has zero totals, a zero for each day and empty lists.
		empty, err := s.ScanStats(ctx, "ws_a", "code_a", models.ScanFilter{From: rangeTo.AddDate(0, 0, 1), To: rangeTo.AddDate(0, 0, 3)})
		if err != nil {
			t.Fatal(err)
		}
		if empty.Total != 0 || len(empty.ByDay) != 2 || empty.ByDay[0].Count != 0 || len(empty.ByCountry) != 0 || empty.ByCountry == nil {
			t.Errorf("empty stats = %+v", empty)
		}
	})
}

func assertStats(t *testing.T, got, want models.ScanStats) {
	t.Helper()
	if got.Total != want.Total || got.Humans != want.Humans || got.Bots != want.Bots {
		t.Errorf("totals = %d/%d/%d, want %d/%d/%d", got.Total, got.Humans, got.Bots, want.Total, want.Humans, want.Bots)
	}
	pairs := []struct {
		name      string
		got, want any
	}{
		{"by_day", got.ByDay, want.ByDay},
		{"by_country", got.ByCountry, want.ByCountry},
		{"by_region", got.ByRegion, want.ByRegion},
		{"by_city", got.ByCity, want.ByCity},
		{"by_device_type", got.ByDeviceType, want.ByDeviceType},
		{"by_browser", got.ByBrowser, want.ByBrowser},
		{"by_os", got.ByOS, want.ByOS},
		{"by_source", got.BySource, want.BySource},
		{"by_bot_reason", got.ByBotReason, want.ByBotReason},
	}
	for _, p := range pairs {
		if diff := gocmp.Diff(p.want, p.got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", p.name, diff)
		}
	}
}

func TestScanStatsTopN(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *models.Store) {
		var scans []models.Scan
		at := rangeFrom.Add(time.Hour)
		// 60 cities: city i has i+1 scans, so the top 50 are cities 59..10.
		for i := 0; i < 60; i++ {
			for j := 0; j <= i; j++ {
				at = at.Add(time.Millisecond)
				scans = append(scans, models.Scan{
					ID: id.New(id.Scan, at), WorkspaceID: "ws", CodeID: "code", Slug: "s", Timestamp: at,
					Source: "qr", DestinationURL: "https://example.com", City: fmt.Sprintf("city-%02d", i),
				})
			}
		}
		if err := insertScans(context.Background(), s, scans); err != nil {
			t.Fatal(err)
		}
		st, err := s.ScanStats(context.Background(), "ws", "code", models.ScanFilter{From: rangeFrom, To: rangeTo})
		if err != nil {
			t.Fatal(err)
		}
		if len(st.ByCity) != models.StatsTopN {
			t.Fatalf("by_city has %d entries, want %d", len(st.ByCity), models.StatsTopN)
		}
		if first, last := st.ByCity[0], st.ByCity[49]; first.Key != "city-59" || first.Count != 60 || last.Key != "city-10" || last.Count != 11 {
			t.Fatalf("by_city runs from %+v to %+v", first, last)
		}
		if st.Total != 60*61/2 {
			t.Fatalf("total = %d", st.Total)
		}
	})
}

func TestListScans(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		mine := seedScans(t, s, "ws_a", "code_a", "ws_b", "code_b")
		newestFirst := slices.Clone(mine)
		slices.SortFunc(newestFirst, func(a, b models.Scan) int { return cmp.Compare(b.ID, a.ID) })

		ids := func(scans []models.Scan) []string {
			out := []string{}
			for _, sc := range scans {
				out = append(out, sc.ID)
			}
			return out
		}
		list := func(f models.ScanFilter, p models.Page) []models.Scan {
			t.Helper()
			got, err := s.ListScans(ctx, "ws_a", "code_a", f, p)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		inRange := models.ScanFilter{From: rangeFrom, To: rangeTo}

		// Pages of 10 walk the whole range newest first, without gaps.
		var walked []models.Scan
		for after := ""; ; {
			page := list(inRange, models.Page{After: after, Limit: 10})
			walked = append(walked, page...)
			if len(page) < 10 {
				break
			}
			after = page[len(page)-1].ID
		}
		if !slices.Equal(ids(walked), ids(newestFirst)) {
			t.Fatalf("walked %v\nwant   %v", ids(walked), ids(newestFirst))
		}
		if got := list(models.ScanFilter{}, models.Page{}); len(got) != len(mine)+2 {
			t.Fatalf("unbounded list has %d scans, want %d (with the two outside the range)", len(got), len(mine)+2)
		}
		if got := list(models.ScanFilter{}, models.Page{}); got[0].Timestamp.Equal(rangeTo) == false {
			t.Fatalf("newest scan is at %v, want %v", got[0].Timestamp, rangeTo)
		}

		filters := []struct {
			name string
			f    models.ScanFilter
			keep func(models.Scan) bool
		}{
			{"humans", models.ScanFilter{Bots: models.BotsExclude}, func(sc models.Scan) bool { return !sc.IsBot }},
			{"bots", models.ScanFilter{Bots: models.BotsOnly}, func(sc models.Scan) bool { return sc.IsBot }},
			{"link", models.ScanFilter{Source: "link"}, func(sc models.Scan) bool { return sc.Source == "link" }},
			{"country", models.ScanFilter{CountryCode: "US"}, func(sc models.Scan) bool { return sc.CountryCode == "US" }},
			{"device", models.ScanFilter{DeviceType: "desktop"}, func(sc models.Scan) bool { return sc.DeviceType == "desktop" }},
			{"day", models.ScanFilter{From: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)},
				func(sc models.Scan) bool { return sc.Timestamp.Day() == 26 }},
			{"combined", models.ScanFilter{From: rangeFrom, To: rangeTo, Source: "qr", CountryCode: "DE", DeviceType: "mobile", Bots: models.BotsExclude},
				func(sc models.Scan) bool {
					return sc.Source == "qr" && sc.CountryCode == "DE" && sc.DeviceType == "mobile"
				}},
		}
		for _, tt := range filters {
			f := tt.f
			if f.From.IsZero() {
				f.From, f.To = rangeFrom, rangeTo
			}
			want := []models.Scan{}
			for _, sc := range newestFirst {
				if tt.keep(sc) {
					want = append(want, sc)
				}
			}
			if got := list(f, models.Page{}); !slices.Equal(ids(got), ids(want)) {
				t.Errorf("%s: got %v\nwant %v", tt.name, ids(got), ids(want))
			}
		}

		// Scans at the same microsecond come in ID order, and a page boundary
		// between them loses or repeats none.
		tie := time.Date(2026, 11, 26, 18, 0, 0, 0, time.UTC)
		twins := []models.Scan{
			{ID: "scan_tie_a", WorkspaceID: "ws_a", CodeID: "code_a", Slug: "s", Timestamp: tie, Source: "qr", DestinationURL: "https://example.com"},
			{ID: "scan_tie_b", WorkspaceID: "ws_a", CodeID: "code_a", Slug: "s", Timestamp: tie, Source: "qr", DestinationURL: "https://example.com"},
			{ID: "scan_tie_c", WorkspaceID: "ws_a", CodeID: "code_a", Slug: "s", Timestamp: tie, Source: "qr", DestinationURL: "https://example.com"},
		}
		if err := insertScans(ctx, s, twins); err != nil {
			t.Fatal(err)
		}
		window := models.ScanFilter{From: tie, To: tie.Add(time.Microsecond)}
		var tied []string
		for after := ""; ; {
			page := list(window, models.Page{After: after, Limit: 1})
			if len(page) == 0 {
				break
			}
			tied = append(tied, page[0].ID)
			after = page[0].ID
		}
		if want := []string{"scan_tie_c", "scan_tie_b", "scan_tie_a"}; !slices.Equal(tied, want) {
			t.Fatalf("tied scans walked as %v, want %v", tied, want)
		}
		if _, err := s.ListScans(ctx, "ws_a", "code_a", inRange, models.Page{After: "scan_nope"}); !errors.Is(err, models.ErrInvalid) {
			t.Fatalf("unknown cursor: %v, want ErrInvalid", err)
		}

		// Another workspace sees only its own scan filed under the same code ID.
		if got, err := s.ListScans(ctx, "ws_b", "code_a", inRange, models.Page{}); err != nil || len(got) != 1 || got[0].WorkspaceID != "ws_b" {
			t.Fatalf("other workspace: %+v, %v", got, err)
		}
	})
}
