package enrich

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/mileusna/useragent"
)

// The labelled corpus in testdata/botcorpus (sources in its README): files
// named bots_*.tsv hold automated clients, humans_*.tsv people's browsers,
// one "category<TAB>user agent" a line.
const (
	minRecall         = 0.99  // of all bots
	minCategoryRecall = 0.95  // of each bot category
	maxFalsePositives = 0.005 // of each human category
	// minHoldoutRecall is what the rules reach without the crawler list on
	// the half of its examples whose patterns were never looked at while
	// writing the generic rules.
	minHoldoutRecall = 0.97
)

type corpusRow struct {
	where    string // file:line
	category string
	ua       string
}

func loadCorpus(t *testing.T, glob string) []corpusRow {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata/botcorpus", glob))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus files %s: %v", glob, err)
	}
	var rows []corpusRow
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		scanner := bufio.NewScanner(f)
		for line := 1; scanner.Scan(); line++ {
			text := scanner.Text()
			if text == "" || strings.HasPrefix(text, "#") {
				continue
			}
			category, ua, ok := strings.Cut(text, "\t")
			if !ok || strings.TrimSpace(ua) == "" {
				t.Fatalf("%s:%d: want category<TAB>user agent", name, line)
			}
			rows = append(rows, corpusRow{fmt.Sprintf("%s:%d", filepath.Base(name), line), category, ua})
		}
		f.Close()
		if err := scanner.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return rows
}

// tally counts, per category, the rows the rules called bots.
type tally struct {
	total, bots map[string]int
	misses      map[string][]string // rows whose verdict was wrong, by category
}

func judge(r *botRules, rows []corpusRow, wantBot bool) tally {
	t := tally{total: map[string]int{}, bots: map[string]int{}, misses: map[string][]string{}}
	for _, row := range rows {
		ua := strings.TrimSpace(row.ua)
		reason := r.uaReason(ua, useragent.Parse(ua))
		t.total[row.category]++
		if reason != "" {
			t.bots[row.category]++
		}
		if (reason != "") != wantBot {
			t.misses[row.category] = append(t.misses[row.category], fmt.Sprintf("%s %s %q", row.where, reason, row.ua))
		}
	}
	return t
}

func (t tally) sum() (bots, total int) {
	for c, n := range t.total {
		total += n
		bots += t.bots[c]
	}
	return bots, total
}

func (t tally) categories() []string {
	var cs []string
	for c := range t.total {
		cs = append(cs, c)
	}
	sort.Strings(cs)
	return cs
}

// TestBotCorpus measures recall per bot category and false positives per
// human category (go test -run BotCorpus -v prints the table).
func TestBotCorpus(t *testing.T) {
	r := newBotRules()
	bots := judge(r, loadCorpus(t, "bots_*.tsv"), true)
	humans := judge(r, loadCorpus(t, "humans_*.tsv"), false)

	for _, c := range bots.categories() {
		recall := float64(bots.bots[c]) / float64(bots.total[c])
		t.Logf("bot   %-18s %5d  recall %6.2f %%", c, bots.total[c], 100*recall)
		if recall < minCategoryRecall {
			t.Errorf("%s: recall %.2f %% < %.0f %%; misses:\n%s", c, 100*recall, 100*minCategoryRecall, strings.Join(bots.misses[c], "\n"))
		}
	}
	caught, total := bots.sum()
	recall := float64(caught) / float64(total)
	t.Logf("bot   %-18s %5d  recall %6.2f %%", "ALL", total, 100*recall)
	if recall < minRecall {
		var all []string
		for _, c := range bots.categories() {
			all = append(all, bots.misses[c]...)
		}
		t.Errorf("recall %.2f %% < %.0f %%; misses:\n%s", 100*recall, 100*minRecall, strings.Join(all, "\n"))
	}

	for _, c := range humans.categories() {
		fp := float64(humans.bots[c]) / float64(humans.total[c])
		t.Logf("human %-18s %5d  false positives %5.2f %%", c, humans.total[c], 100*fp)
		if fp > maxFalsePositives {
			t.Errorf("%s: false positives %.2f %% > %.1f %%:\n%s", c, 100*fp, 100*maxFalsePositives, strings.Join(humans.misses[c], "\n"))
		}
	}
	flagged, total := humans.sum()
	t.Logf("human %-18s %5d  false positives %5.2f %%", "ALL", total, 100*float64(flagged)/float64(total))
}

// TestBotCorpusHoldout checks that the generic rules generalise: without the
// crawler list, on examples the rules were not written from.
func TestBotCorpusHoldout(t *testing.T) {
	generic := newBotRules()
	generic.known = newPatternSet("", nil)
	bots := judge(generic, loadCorpus(t, "bots_cua_holdout.tsv"), true)
	caught, total := bots.sum()
	recall := float64(caught) / float64(total)
	t.Logf("generic rules on the held-out half: %d/%d, recall %.2f %%", caught, total, 100*recall)
	if recall < minHoldoutRecall {
		var all []string
		for _, c := range bots.categories() {
			all = append(all, bots.misses[c]...)
		}
		t.Errorf("held-out recall %.2f %% < %.0f %%; misses:\n%s", 100*recall, 100*minHoldoutRecall, strings.Join(all, "\n"))
	}
	humans := judge(generic, loadCorpus(t, "humans_*.tsv"), false)
	if flagged, _ := humans.sum(); flagged != 0 {
		t.Errorf("generic rules flag %d browsers", flagged)
	}
}

// TestCrawlerListUsable guards a refresh of botlist/: every pattern compiles
// and none matches a browser of the corpus (those go to crawlerListExclusions).
func TestCrawlerListUsable(t *testing.T) {
	set := newPatternSet(crawlerUserAgents, crawlerListExclusions)
	if len(set.skipped) != 0 {
		t.Errorf("unusable patterns in botlist/crawler-user-agents.txt:\n%s", strings.Join(set.skipped, "\n"))
	}
	for _, row := range loadCorpus(t, "humans_*.tsv") {
		if set.match(row.ua) {
			t.Errorf("%s: a crawler-user-agents pattern matches a browser: %q", row.where, row.ua)
		}
	}
}
