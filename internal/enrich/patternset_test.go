package enrich

import (
	"regexp"
	"strings"
	"testing"
)

// A patternSet must agree with Go's regexp on every pattern, whether the
// pattern was expanded into literals or kept as a regexp.
func TestPatternSetAgreesWithRegexp(t *testing.T) {
	patterns := []string{
		`Googlebot\/`,                       // literal
		`[pP]ingdom`,                        // case pair
		`Ahrefs(Bot|SiteAudit)`,             // alternation
		`^curl`,                             // anchored
		`(^| )sentry\/`,                     // anchored or not
		`Y!J`,                               // short... but 3 bytes
		`ds`,                                // under 3 bytes
		`BlogTraffic\/\d\.\d+ Feed-Fetcher`, // regexp with a required literal
		`Current[\s\S]*RSS Reader`,
		`AdsBot-Google([^-]|$)`,
		`SSL Labs$`,
	}
	set := newPatternSet(strings.Join(patterns, "\n"), nil)
	if len(set.skipped) != 0 {
		t.Fatalf("skipped: %v", set.skipped)
	}
	if len(set.regexps) == 0 || len(set.prefixes) == 0 {
		t.Fatalf("want some patterns kept as regexps and some anchored: %+v", set)
	}
	agents := []string{
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
		"Googlebot 2.1",
		"Pingdom.com_bot_version_1.4", "pingdom", "PINGDOM",
		"AhrefsSiteAudit/6.1", "AhrefsBot/7.0", "Ahrefs",
		"curl/8.5.0", "libcurl curl/8",
		"sentry/23.1", "x sentry/1", "xsentry/1",
		"Y!J-BRW/1.0", "kids app", "BlogTraffic/1.42 Feed-Fetcher", "BlogTraffic/x Feed-Fetcher",
		"Current 1.2 RSS Reader", "RSS Reader Current",
		"AdsBot-Google", "AdsBot-Google (+http://www.google.com/adsbot.html)", "AdsBot-Google-Mobile",
		"Qualys SSL Labs", "SSL Labs scanner",
	}
	for _, ua := range agents {
		want := false
		for _, p := range patterns {
			if regexp.MustCompile(p).MatchString(ua) {
				want = true
			}
		}
		if got := set.match(ua); got != want {
			t.Errorf("match(%q) = %v, regexp says %v", ua, got, want)
		}
	}
}

func TestPatternSetSkipsWhatCannotWork(t *testing.T) {
	set := newPatternSet("# a comment\n\n(unclosed\na?\n.*\nfine\nexcluded\n", []string{"excluded"})
	if len(set.skipped) != 3 {
		t.Errorf("skipped %v, want the bad syntax and the two that match everything", set.skipped)
	}
	if !set.match("a fine agent") || set.match("excluded") || set.match("anything else") {
		t.Error("wrong matches")
	}
}

// The whole crawler list, compiled as a patternSet, agrees with the same
// patterns run one by one as regexps on every User-Agent of the corpus.
func TestCrawlerListAgreesWithRegexp(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every pattern on every corpus User-Agent")
	}
	set := newPatternSet(crawlerUserAgents, nil)
	var res []*regexp.Regexp
	for _, line := range strings.Split(crawlerUserAgents, "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			res = append(res, regexp.MustCompile(line))
		}
	}
	rows := append(loadCorpus(t, "bots_*.tsv"), loadCorpus(t, "humans_*.tsv")...)
	for _, row := range rows {
		want := false
		for _, re := range res {
			if re.MatchString(row.ua) {
				want = true
				break
			}
		}
		if got := set.match(row.ua); got != want {
			t.Errorf("%s: match = %v, regexps say %v: %q", row.where, got, want, row.ua)
		}
	}
}
