package enrich

import (
	"net/http"
	"strings"

	"github.com/mileusna/useragent"
)

// DetectBot decides whether a request is automated rather than a person
// opening a link, and names the rule that fired (see the table in rules.go;
// rules are tried in that order). Reason is empty for humans. header may be nil.
func DetectBot(method string, header http.Header, ua string) Bot {
	ua = strings.TrimSpace(ua)
	if ua == "" {
		return Bot{IsBot: true, Reason: ReasonEmptyUserAgent}
	}
	return detectBot(method, header, uaBotReason(ua, useragent.Parse(ua)))
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

// uaBotReason applies the rules that look only at the User-Agent, in order,
// and returns the reason of the first that fires, or "".
func uaBotReason(ua string, parsed useragent.UserAgent) string {
	lower := strings.ToLower(ua)
	switch {
	case containsAny(lower, linkPreviewAgents):
		return ReasonLinkPreview
	case containsAny(lower, httpLibraryAgents):
		return ReasonHTTPLibrary
	case containsAny(lower, headlessBrowserAgents):
		return ReasonHeadlessBrowser
	case parsed.Bot,
		containsAny(lower, crawlerAgents),
		containsAny(lower, crawlerWords) && !containsAny(lower, crawlerWordExceptions):
		return ReasonUACrawler
	}
	return ""
}

func containsAny(s string, substrings []string) bool {
	for _, sub := range substrings {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
