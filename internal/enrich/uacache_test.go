package enrich

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"testing"
)

// A cached User-Agent gives what parsing it gives, on every hit, and the
// rules that look at the request rather than the User-Agent still apply.
func TestEnrichFromTheUserAgentCache(t *testing.T) {
	e := New(nil)
	ip := netip.MustParseAddr("10.0.0.1")
	for _, c := range loadUserAgents(t) {
		for round := range 2 { // a miss, then a hit
			res := e.Enrich(Input{IP: ip, Method: http.MethodGet, UserAgent: c.ua})
			if res.Device != c.device || res.Bot != c.bot {
				t.Fatalf("user_agents.tsv:%d, round %d: Enrich = %+v, want %+v %+v", c.line, round, res, c.device, c.bot)
			}
		}
		if _, ok := e.uas.facts[strings.TrimSpace(c.ua)]; !ok && len(c.ua) <= uaCacheKeyBytes {
			t.Fatalf("user_agents.tsv:%d: not cached", c.line)
		}
	}

	const iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
	e.Enrich(Input{IP: ip, Method: http.MethodGet, UserAgent: iphone})
	if got := e.Enrich(Input{IP: ip, Method: http.MethodHead, UserAgent: iphone}).Bot; got.Reason != ReasonHeadRequest {
		t.Errorf("HEAD with a cached human User-Agent: %+v", got)
	}
	prefetch := http.Header{"Sec-Purpose": {"prefetch"}}
	if got := e.Enrich(Input{IP: ip, Method: http.MethodGet, UserAgent: iphone, Header: prefetch}).Bot; got.Reason != ReasonPrefetch {
		t.Errorf("prefetch with a cached human User-Agent: %+v", got)
	}
	if got := e.Enrich(Input{IP: ip, Method: http.MethodGet, UserAgent: iphone}).Bot; got.IsBot {
		t.Errorf("the request rules leaked into the cache: %+v", got)
	}
}

func TestEnricherWithoutCacheStillParses(t *testing.T) {
	var e Enricher // not made by New: no geo, no cache
	res := e.Enrich(Input{Method: http.MethodGet, UserAgent: "curl/8.5.0"})
	if res.Bot.Reason != ReasonHTTPLibrary || res.Device.Browser != "curl" {
		t.Fatalf("Enrich = %+v", res)
	}
}

func TestUserAgentCacheIsBounded(t *testing.T) {
	c := newUACache()
	rules := newBotRules()
	for i := range uaCacheEntries + 10 {
		c.get(fmt.Sprintf("agent/%d", i), rules)
		if n := len(c.facts); n > uaCacheEntries {
			t.Fatalf("%d entries after %d User-Agents", n, i+1)
		}
	}
	long := "Mozilla/5.0 " + strings.Repeat("x", uaCacheKeyBytes)
	if got := c.get(long, rules); got.device.Type == "" {
		t.Fatalf("long User-Agent not parsed: %+v", got)
	}
	if _, ok := c.facts[long]; ok {
		t.Fatal("a User-Agent over the key bound was cached")
	}
}

// BenchmarkEnrichUserAgent compares a User-Agent seen before (cache hit)
// with one that is new each time (parsed).
//
//	go test -run '^$' -bench EnrichUserAgent ./internal/enrich/
func BenchmarkEnrichUserAgent(b *testing.B) {
	const android = "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36"
	ip := netip.MustParseAddr("10.0.0.1")
	b.Run("cached", func(b *testing.B) {
		e := New(nil)
		for range b.N {
			e.Enrich(Input{IP: ip, Method: http.MethodGet, UserAgent: android})
		}
	})
	b.Run("new", func(b *testing.B) {
		e := New(nil)
		agents := make([]string, 1000)
		for i := range agents {
			agents[i] = fmt.Sprintf("%s Build/%d", android, i)
		}
		b.ResetTimer()
		for i := range b.N {
			if i%len(agents) == 0 {
				e.uas = newUACache() // every agent new again
			}
			e.Enrich(Input{IP: ip, Method: http.MethodGet, UserAgent: agents[i%len(agents)]})
		}
	})
}
