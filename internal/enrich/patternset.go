package enrich

import (
	"bufio"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
)

// literalIndex finds which of many literal strings occur in a string in one
// pass over it: literals are looked up by their first three bytes at every
// position, instead of searching for each literal in turn. Each literal
// carries the bit of the list it came from; scan returns the union of the bits
// of the literals it finds.
type literalIndex struct {
	byTrigram map[uint32][]indexEntry // literals of 3+ bytes, by their first 3 bytes
	short     []indexEntry            // literals under 3 bytes
}

type indexEntry struct {
	text string
	bits uint32
}

func newLiteralIndex() *literalIndex {
	return &literalIndex{byTrigram: make(map[uint32][]indexEntry)}
}

// add indexes every literal of list under bit.
func (x *literalIndex) add(bit uint32, list ...string) {
	for _, lit := range list {
		if len(lit) < 3 {
			x.short = append(x.short, indexEntry{lit, bit})
			continue
		}
		key := trigram(lit, 0)
		x.byTrigram[key] = append(x.byTrigram[key], indexEntry{lit, bit})
	}
}

func trigram(s string, i int) uint32 {
	return uint32(s[i])<<16 | uint32(s[i+1])<<8 | uint32(s[i+2])
}

// scan returns the bits of the lists that have a literal in s.
func (x *literalIndex) scan(s string) uint32 {
	var found uint32
	for i := 0; i+3 <= len(s); i++ {
		for _, e := range x.byTrigram[trigram(s, i)] {
			if found&e.bits != e.bits && strings.HasPrefix(s[i:], e.text) {
				found |= e.bits
			}
		}
	}
	for _, e := range x.short {
		if found&e.bits != e.bits && strings.Contains(s, e.text) {
			found |= e.bits
		}
	}
	return found
}

// patternSet matches a User-Agent against a list of regular expressions
// (the crawler-user-agents list, case-sensitive as its authors wrote them),
// in about the time of a single scan of the User-Agent: most patterns are a
// handful of literals ("Googlebot\/", "[pP]ingdom", "Ahrefs(Bot|SiteAudit)"),
// which are expanded into a literalIndex; only the rest run as regexps.
type patternSet struct {
	literals *literalIndex
	prefixes []string      // literals anchored at the start (^...)
	regexps  []prefiltered // patterns that are not a small set of literals
	skipped  []string      // patterns that could not be used (bad syntax, match everything)
}

// prefiltered is a regexp that can only match if the UA contains need (""
// when no literal is required).
type prefiltered struct {
	re   *regexp.Regexp
	need string
}

// maxExpansions bounds how many literals one pattern may expand into
// before it is run as a regexp instead.
const maxExpansions = 32

// newPatternSet compiles the patterns in list (one a line; blank lines and
// lines starting with # are ignored), leaving out those in exclude (exact
// pattern text).
func newPatternSet(list string, exclude []string) *patternSet {
	s := &patternSet{literals: newLiteralIndex()}
	excluded := make(map[string]bool, len(exclude))
	for _, e := range exclude {
		excluded[e] = true
	}
	scanner := bufio.NewScanner(strings.NewReader(list))
	for scanner.Scan() {
		p := strings.TrimSpace(scanner.Text())
		if p == "" || strings.HasPrefix(p, "#") || excluded[p] {
			continue
		}
		if err := s.add(p); err != nil {
			s.skipped = append(s.skipped, fmt.Sprintf("%s: %v", p, err))
		}
	}
	return s
}

func (s *patternSet) add(pattern string) error {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return err
	}
	re = re.Simplify()
	if alts, ok := expand(re); ok {
		for _, a := range alts {
			if a.text == "" {
				return fmt.Errorf("matches every User-Agent")
			}
		}
		for _, a := range alts {
			s.addLiteral(a)
		}
		return nil
	}
	compiled, err := regexp.Compile(pattern)
	if err != nil {
		return err
	}
	if compiled.MatchString("") {
		return fmt.Errorf("matches every User-Agent")
	}
	s.regexps = append(s.regexps, prefiltered{re: compiled, need: requiredLiteral(re)})
	return nil
}

func (s *patternSet) addLiteral(a alternative) {
	if a.anchored {
		s.prefixes = append(s.prefixes, a.text)
		return
	}
	s.literals.add(1, a.text)
}

// match reports whether ua matches any pattern.
func (s *patternSet) match(ua string) bool {
	if s.literals.scan(ua) != 0 {
		return true
	}
	for _, p := range s.prefixes {
		if strings.HasPrefix(ua, p) {
			return true
		}
	}
	for _, p := range s.regexps {
		if (p.need == "" || strings.Contains(ua, p.need)) && p.re.MatchString(ua) {
			return true
		}
	}
	return false
}

// alternative is one literal a pattern matches, anchored when it
// must be at the start of the User-Agent.
type alternative struct {
	text     string
	anchored bool
}

// expand lists the literals a simplified regexp matches, if it matches a
// small finite set of them (literals, case pairs like [wW], alternations,
// optional parts, a leading ^). ok is false otherwise.
func expand(re *syntax.Regexp) (alts []alternative, ok bool) {
	switch re.Op {
	case syntax.OpEmptyMatch:
		return []alternative{{}}, true
	case syntax.OpBeginText, syntax.OpBeginLine:
		return []alternative{{anchored: true}}, true
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return nil, false
		}
		return []alternative{{text: string(re.Rune)}}, true
	case syntax.OpCharClass:
		chars, ok := classChars(re.Rune)
		if !ok {
			return nil, false
		}
		for _, c := range chars {
			alts = append(alts, alternative{text: c})
		}
		return alts, true
	case syntax.OpCapture:
		return expand(re.Sub[0])
	case syntax.OpQuest:
		sub, ok := expand(re.Sub[0])
		return append([]alternative{{}}, sub...), ok
	case syntax.OpAlternate:
		for _, sub := range re.Sub {
			more, ok := expand(sub)
			if !ok || len(alts)+len(more) > maxExpansions {
				return nil, false
			}
			alts = append(alts, more...)
		}
		return alts, true
	case syntax.OpConcat:
		alts = []alternative{{}}
		for _, sub := range re.Sub {
			more, ok := expand(sub)
			if !ok || len(alts)*len(more) > maxExpansions {
				return nil, false
			}
			var next []alternative
			for _, a := range alts {
				for _, b := range more {
					if b.anchored && a.text != "" {
						continue // ^ after text never matches
					}
					next = append(next, alternative{text: a.text + b.text, anchored: a.anchored || b.anchored})
				}
			}
			alts = next
		}
		return alts, true
	}
	return nil, false
}

// classChars lists the characters of a small character class given as rune
// ranges (lo, hi pairs), such as [wW].
func classChars(ranges []rune) ([]string, bool) {
	var chars []string
	for i := 0; i+1 < len(ranges); i += 2 {
		if ranges[i+1]-ranges[i] >= 4 {
			return nil, false
		}
		for r := ranges[i]; r <= ranges[i+1]; r++ {
			chars = append(chars, string(r))
		}
	}
	return chars, len(chars) > 0 && len(chars) <= 4
}

// requiredLiteral returns the longest literal that any match of a
// simplified regexp must contain, or "".
func requiredLiteral(re *syntax.Regexp) string {
	if re.Op == syntax.OpCapture {
		return requiredLiteral(re.Sub[0])
	}
	if re.Op != syntax.OpConcat {
		if alts, ok := expand(re); ok && len(alts) == 1 {
			return alts[0].text
		}
		return ""
	}
	best := ""
	for _, sub := range re.Sub {
		if lit := requiredLiteral(sub); len(lit) > len(best) {
			best = lit
		}
	}
	return best
}
