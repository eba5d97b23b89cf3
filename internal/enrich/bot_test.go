package enrich

import (
	"net/http"
	"strings"
	"testing"
)

const chromeUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"

// TestDetectBotRequestRules covers the rules that look at more than the UA
// (testdata/user_agents.tsv covers the UA rules) and the order of all rules.
func TestDetectBotRequestRules(t *testing.T) {
	tests := []struct {
		name   string
		method string
		header http.Header
		ua     string
		want   Bot
	}{
		{"human GET", http.MethodGet, nil, chromeUA, Bot{}},
		{"human POST", http.MethodPost, http.Header{"Accept": {"text/html"}}, chromeUA, Bot{}},
		{"empty method is GET", "", nil, chromeUA, Bot{}},
		{"empty UA", http.MethodGet, nil, "", Bot{true, ReasonEmptyUserAgent}},
		{"blank UA", http.MethodGet, nil, " \t ", Bot{true, ReasonEmptyUserAgent}},
		{"empty UA wins over HEAD", http.MethodHead, nil, "", Bot{true, ReasonEmptyUserAgent}},
		{"HEAD", http.MethodHead, nil, chromeUA, Bot{true, ReasonHeadRequest}},
		{"lowercase head", "head", nil, chromeUA, Bot{true, ReasonHeadRequest}},
		{"HEAD wins over prefetch", http.MethodHead, http.Header{"Sec-Purpose": {"prefetch"}}, chromeUA, Bot{true, ReasonHeadRequest}},
		{"Sec-Purpose prefetch", http.MethodGet, http.Header{"Sec-Purpose": {"prefetch"}}, chromeUA, Bot{true, ReasonPrefetch}},
		{"Sec-Purpose prerender", http.MethodGet, http.Header{"Sec-Purpose": {"prefetch;prerender"}}, chromeUA, Bot{true, ReasonPrefetch}},
		{"Purpose prefetch", http.MethodGet, http.Header{"Purpose": {"prefetch"}}, chromeUA, Bot{true, ReasonPrefetch}},
		{"X-Moz prefetch", http.MethodGet, http.Header{"X-Moz": {"prefetch"}}, chromeUA, Bot{true, ReasonPrefetch}},
		{"prefetch value case-insensitive", http.MethodGet, http.Header{"Purpose": {"Prefetch"}}, chromeUA, Bot{true, ReasonPrefetch}},
		{"other Sec-Purpose", http.MethodGet, http.Header{"Sec-Purpose": {"something-else"}}, chromeUA, Bot{}},
		{"prefetch wins over crawler", http.MethodGet, http.Header{"Purpose": {"prefetch"}}, "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", Bot{true, ReasonPrefetch}},
		{"link preview wins over http library", http.MethodGet, nil, "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)", Bot{true, ReasonLinkPreview}},
		{"http library wins over crawler", http.MethodGet, nil, "Scrapy/2.11.1 (+https://scrapy.org)", Bot{true, ReasonHTTPLibrary}},
		{"headless wins over crawler", http.MethodGet, nil, "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.6367.60 Safari/537.36", Bot{true, ReasonHeadlessBrowser}},
		{"crawler word is case-insensitive", http.MethodGet, nil, "SomeNewCRAWLER/1.0", Bot{true, ReasonUACrawler}},
		{"crawler word exception", http.MethodGet, nil, "Mozilla/5.0 (Linux; Android 10; CUBOT_X30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36", Bot{}},
	}
	e := New(nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := e.DetectBot(tt.method, tt.header, tt.ua); got != tt.want {
				t.Errorf("DetectBot(%q, %v, %q) = %+v, want %+v", tt.method, tt.header, tt.ua, got, tt.want)
			}
		})
	}
}

// TestUARulesReasons pins each User-Agent rule's reason, and the edges of
// the generic rules (corpus-wide rates are TestBotCorpus's job).
func TestUARulesReasons(t *testing.T) {
	tests := []struct{ ua, want string }{
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 LinkPreviewFetcher/2.3", ReasonLinkPreview},
		{"GuzzleHttp/7", ReasonHTTPLibrary},
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/117.0.0.0 Safari/537.36 GTmetrix", ReasonKnownBot},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15 contact: ops@cards.example.org", ReasonUAContact},
		{"Mozilla/5.0 (compatible; Fetchy; acme.io)", ReasonUAContact},
		{"MyCompanyFetcher/2.4", ReasonUACrawler},
		{"Acme HTTP Client", ReasonHTTPLibrary},
		{"acme-sync", ReasonNotABrowser},
		{"Mozilla/5.0 (compatible; StatusKitten)", ReasonNotABrowser},
		{"Mozilla/5.0 (compatible; MSIE 5.0)", ReasonNotABrowser},
		{"Mozilla/5.0 (X11; Linux x86_64)", ReasonNotABrowser},
		// People: an "@" that is no e-mail, a reverse-DNS app id, IE, a TV's own client.
		{"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36 (Ecosia android@120.0.6099.144)", ""},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 YJApp-IOS jp.co.yahoo.ipn.appli/4.47.2", ""},
		{"Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.1; Trident/6.0)", ""},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0.0.0", ""},
		{"Roku/DVP-12.5 (12.5.0.4178-51)", ""},
		{"Mozilla/5.0 (Linux; Android 13; SM-A536B Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.144 Mobile Safari/537.36 QRScanner/2.4.1", ""},
	}
	e := New(nil)
	for _, tt := range tests {
		if got := e.DetectBot(http.MethodGet, nil, tt.ua); got.Reason != tt.want {
			t.Errorf("DetectBot(%q) = %+v, want reason %q", tt.ua, got, tt.want)
		}
	}
}

// TestRuleListsLowercase guards the matching contract of rules.go: UA lists
// are compared with the lowercased User-Agent, so an entry with an upper-case
// letter would never match.
func TestRuleListsLowercase(t *testing.T) {
	lists := map[string][]string{
		"linkPreviewAgents":     linkPreviewAgents,
		"previewWords":          previewWords,
		"httpLibraryAgents":     httpLibraryAgents,
		"httpLibraryWords":      httpLibraryWords,
		"headlessBrowserAgents": headlessBrowserAgents,
		"crawlerWords":          crawlerWords,
		"crawlerWordExceptions": crawlerWordExceptions,
		"crawlerAgents":         crawlerAgents,
	}
	for name, list := range lists {
		for _, entry := range list {
			if entry == "" || entry != strings.ToLower(entry) {
				t.Errorf("%s entry %q must be non-empty lowercase", name, entry)
			}
		}
	}
	for _, rule := range prefetchHeaders {
		if rule.Value != strings.ToLower(rule.Value) {
			t.Errorf("prefetchHeaders value %q must be lowercase", rule.Value)
		}
	}
}

func FuzzDetectBotAndParseDevice(f *testing.F) {
	f.Add("GET", chromeUA)
	f.Add("HEAD", "curl/8.5.0")
	f.Add("GET", "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0)")
	f.Add("GET", "Mozilla/5.0 (Linux; Android")
	f.Add("GET", "((;;[[]]//:http://")
	e := New(nil)
	f.Fuzz(func(t *testing.T, method, ua string) {
		bot := e.DetectBot(method, nil, ua)
		if bot.IsBot != (bot.Reason != "") {
			t.Errorf("inconsistent verdict %+v", bot)
		}
		if d := e.ParseDevice(ua); d.Type == "" {
			t.Errorf("empty device type for %q", ua)
		}
	})
}
