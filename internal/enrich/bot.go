package enrich

import (
	_ "embed"
	"net/http"
	"strings"

	"github.com/mileusna/useragent"
)

// crawlerUserAgents is the pattern list of the crawler-user-agents project
// (MIT), refreshed by scripts/refresh-bot-data.
//
//go:embed botlist/crawler-user-agents.txt
var crawlerUserAgents string

// botRules are the User-Agent bot rules, built once by newBotRules from the
// lists in rules.go and botlist/.
type botRules struct {
	lists *literalIndex // the lowercase lists of rules.go, one bit each
	known *patternSet   // crawler-user-agents, less crawlerListExclusions
}

// Bits of the rules.go lists in botRules.lists.
const (
	inLinkPreviewAgents uint32 = 1 << iota
	inPreviewWords
	inHTTPLibraryAgents
	inHTTPLibraryWords
	inHeadlessBrowserAgents
	inCrawlerAgents
	inCrawlerWords
	inCrawlerWordExceptions
)

func newBotRules() *botRules {
	lists := newLiteralIndex()
	lists.add(inLinkPreviewAgents, linkPreviewAgents...)
	lists.add(inPreviewWords, previewWords...)
	lists.add(inHTTPLibraryAgents, httpLibraryAgents...)
	lists.add(inHTTPLibraryWords, httpLibraryWords...)
	lists.add(inHeadlessBrowserAgents, headlessBrowserAgents...)
	lists.add(inCrawlerAgents, crawlerAgents...)
	lists.add(inCrawlerWords, crawlerWords...)
	lists.add(inCrawlerWordExceptions, crawlerWordExceptions...)
	return &botRules{lists: lists, known: newPatternSet(crawlerUserAgents, crawlerListExclusions)}
}

// DetectBot decides whether a request is automated rather than a person
// opening a link, and names the rule that fired (see the table in rules.go;
// rules are tried in that order). Reason is empty for humans. header may be nil.
func (e *Enricher) DetectBot(method string, header http.Header, ua string) Bot {
	ua = strings.TrimSpace(ua)
	if ua == "" {
		return Bot{IsBot: true, Reason: ReasonEmptyUserAgent}
	}
	return detectBot(method, header, e.rules().uaReason(ua, useragent.Parse(ua)))
}

// detectBot does DetectBot's work given the verdict of the User-Agent
// rules on a non-empty User-Agent (uaReason, "" for none).
func detectBot(method string, header http.Header, uaReason string) Bot {
	if strings.EqualFold(method, http.MethodHead) {
		return Bot{IsBot: true, Reason: ReasonHeadRequest}
	}
	if isPrefetch(header) {
		return Bot{IsBot: true, Reason: ReasonPrefetch}
	}
	if uaReason != "" {
		return Bot{IsBot: true, Reason: uaReason}
	}
	return Bot{}
}

func isPrefetch(header http.Header) bool {
	for _, rule := range prefetchHeaders {
		for _, v := range header.Values(rule.Name) {
			if strings.Contains(strings.ToLower(v), rule.Value) {
				return true
			}
		}
	}
	return false
}

// uaReason applies the rules that look only at the User-Agent, in order,
// and returns the reason of the first that fires, or "".
func (r *botRules) uaReason(ua string, parsed useragent.UserAgent) string {
	lower := strings.ToLower(ua)
	in := r.lists.scan(lower)
	shaped := browserShaped(ua)
	switch {
	case in&inLinkPreviewAgents != 0,
		shaped && in&inPreviewWords != 0:
		return ReasonLinkPreview
	case in&inHTTPLibraryAgents != 0:
		return ReasonHTTPLibrary
	case in&inHeadlessBrowserAgents != 0:
		return ReasonHeadlessBrowser
	case parsed.Bot,
		in&inCrawlerAgents != 0,
		in&inCrawlerWords != 0 && in&inCrawlerWordExceptions == 0:
		return ReasonUACrawler
	case r.known.match(ua):
		return ReasonKnownBot
	case hasContact(lower):
		return ReasonUAContact
	case shaped || isDevicePlatform(ua):
		return ""
	case in&inHTTPLibraryWords != 0:
		return ReasonHTTPLibrary
	default:
		return ReasonNotABrowser
	}
}

// browserShaped reports whether ua has the shape every browser's and in-app
// browser's User-Agent has: "Mozilla/5.0 (platform) engine ..." with a
// rendering engine token, and no "compatible;" declaration other than
// Internet Explorer's or Konqueror's; or the start of a browser whose
// User-Agent has another shape (Opera's Presto, text-mode browsers).
func browserShaped(ua string) bool {
	for _, prefix := range otherBrowserPrefixes {
		if strings.HasPrefix(ua, prefix) {
			return true
		}
	}
	switch {
	case strings.HasPrefix(ua, "Mozilla/5.0 ("):
	case strings.HasPrefix(ua, "Mozilla/4.0 (compatible; MSIE "):
	default:
		return false
	}
	if i := strings.Index(ua, "compatible"); i >= 0 &&
		!strings.HasPrefix(ua[i:], "compatible; MSIE ") && !strings.HasPrefix(ua[i:], "compatible; Konqueror/") {
		return false
	}
	if strings.Contains(ua, "MSIE ") && !strings.Contains(ua, "Windows") {
		return false // Internet Explorer always named its Windows
	}
	return containsAny(ua, browserEngines)
}

// isDevicePlatform reports whether ua names a TV or console platform, whose
// own clients (Roku, Apple TV) do not use a browser's User-Agent.
func isDevicePlatform(ua string) bool {
	_, ok := matchPlatform(ua)
	return ok
}

// hasContact reports whether lower, a lowercased User-Agent, carries a URL,
// an e-mail address or a domain name: the contact operators put in their
// crawlers' User-Agents, and that browsers never send.
func hasContact(lower string) bool {
	if containsAny(lower, urlMarkers) {
		return true
	}
	for i := 0; i < len(lower); i++ {
		switch lower[i] {
		case '@':
			if i > 0 && isLabelByte(lower[i-1]) && domainAt(lower, i+1) {
				return true
			}
		case '.':
			if i > 0 && isLabelByte(lower[i-1]) && tldAt(lower, i+1) {
				return true
			}
		}
	}
	return false
}

// domainAt reports whether a host name with a known top-level domain starts
// at s[i] (as after the @ of an e-mail address).
func domainAt(s string, i int) bool {
	if i >= len(s) || s[i] < 'a' || s[i] > 'z' {
		return false
	}
	for j := i; j < len(s) && (isLabelByte(s[j]) || s[j] == '.'); j++ {
		if s[j] == '.' && tldAt(s, j+1) {
			return true
		}
	}
	return false
}

// tldAt reports whether s[i:] starts with a known top-level domain that
// ends the host name there.
func tldAt(s string, i int) bool {
	end := i
	for end < len(s) && s[end] >= 'a' && s[end] <= 'z' {
		end++
	}
	if end == i || (end < len(s) && (isLabelByte(s[end]) || s[end] == '.')) {
		return false
	}
	_, ok := topLevelDomains[s[i:end]]
	return ok
}

func isLabelByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '-' || b == '_'
}

func containsAny(s string, substrings []string) bool {
	for _, sub := range substrings {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
