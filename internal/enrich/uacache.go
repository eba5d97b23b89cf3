package enrich

import (
	"sync"

	"github.com/mileusna/useragent"
)

// uaFacts is what a User-Agent says by itself: the device, and the reason
// of the first User-Agent bot rule that fires ("" for none).
type uaFacts struct {
	device    Device
	botReason string
}

// Bounds of the User-Agent cache: a flood of made-up User-Agents costs at
// most this much memory, and the parsing it would have cost anyway.
const (
	uaCacheEntries  = 4096
	uaCacheKeyBytes = 512 // longer User-Agents are parsed every time
)

// uaCache remembers the facts of recent User-Agents. Parsing one is most
// of what enrichment costs, and the phones that scan codes send few
// distinct ones (browsers have frozen most of theirs).
type uaCache struct {
	mu    sync.RWMutex
	facts map[string]uaFacts
}

func newUACache() *uaCache {
	return &uaCache{facts: make(map[string]uaFacts)}
}

// get returns the facts of ua, a trimmed, non-empty User-Agent, from the
// cache or parsed with rules. A nil cache (an Enricher not made by New)
// parses every time.
func (c *uaCache) get(ua string, rules *botRules) uaFacts {
	if c == nil || len(ua) > uaCacheKeyBytes {
		return rules.parseUA(ua)
	}
	c.mu.RLock()
	f, ok := c.facts[ua]
	c.mu.RUnlock()
	if ok {
		return f
	}
	f = rules.parseUA(ua)
	c.mu.Lock()
	if len(c.facts) >= uaCacheEntries {
		clear(c.facts) // crude, but a full cache is rare and refills from traffic
	}
	c.facts[ua] = f
	c.mu.Unlock()
	return f
}

func (r *botRules) parseUA(ua string) uaFacts {
	parsed := useragent.Parse(ua)
	reason := r.uaReason(ua, parsed)
	return uaFacts{device: parseDevice(ua, parsed, reason != ""), botReason: reason}
}
