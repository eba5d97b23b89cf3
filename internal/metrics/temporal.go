package metrics

import (
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
)

// The Temporal SDK reports metrics through client.MetricsHandler: counters,
// gauges and timers named at the call site, with tags that vary between
// call sites of the same name. (The SDK's own Prometheus bridge,
// go.temporal.io/sdk/contrib/tally, is a separate module this build does
// not have.) sdkCollector keeps every series it is handed and, at scrape
// time, writes each name as one metric family whose label set is the union
// of the tags seen for it (a missing tag is an empty label, which
// Prometheus treats as absent), so families stay consistent however the SDK
// tags them. Timers become histograms in seconds.

type sdkKind int

const (
	sdkCounter sdkKind = iota
	sdkGauge
	sdkTimer
)

// timerBuckets cover the SDK's latencies: RPCs, task execution, and long
// polls of up to a minute.
var timerBuckets = []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120}

type sdkCollector struct {
	mu       sync.Mutex
	kinds    map[string]sdkKind    // metric name → kind of its first use
	series   map[string]*sdkSeries // name + "\x00" + tag key → series
	families map[string][]*sdkSeries
}

type sdkSeries struct {
	tags  map[string]string
	value atomic.Uint64 // counter: count; gauge: float64 bits

	mu      sync.Mutex // timer only
	buckets []uint64   // per bucket, not cumulative
	count   uint64
	sum     float64
}

func newSDKCollector() *sdkCollector {
	return &sdkCollector{kinds: map[string]sdkKind{}, series: map[string]*sdkSeries{}, families: map[string][]*sdkSeries{}}
}

// get returns the series of name with tags, creating it; nil when name was
// first used as another kind (the SDK never does that; the metric is dropped
// rather than breaking the scrape).
func (c *sdkCollector) get(kind sdkKind, name, tagKey string, tags map[string]string) *sdkSeries {
	name = sanitizeName(name)
	key := name + "\x00" + tagKey
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.series[key]; ok {
		if c.kinds[name] != kind {
			return nil
		}
		return s
	}
	if k, ok := c.kinds[name]; ok && k != kind {
		return nil
	}
	c.kinds[name] = kind
	s := &sdkSeries{tags: tags}
	if kind == sdkTimer {
		s.buckets = make([]uint64, len(timerBuckets))
	}
	c.series[key] = s
	c.families[name] = append(c.families[name], s)
	return s
}

// Describe sends nothing: the families are only known at scrape time, which
// makes this an unchecked collector.
func (c *sdkCollector) Describe(chan<- *prometheus.Desc) {}

func (c *sdkCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	families := make(map[string][]*sdkSeries, len(c.families))
	for name, ss := range c.families {
		families[name] = slices.Clone(ss)
	}
	kinds := make(map[string]sdkKind, len(c.kinds))
	for name, k := range c.kinds {
		kinds[name] = k
	}
	c.mu.Unlock()

	for name, ss := range families {
		var labels []string
		for _, s := range ss {
			for k := range s.tags {
				if !slices.Contains(labels, k) {
					labels = append(labels, k)
				}
			}
		}
		slices.Sort(labels)
		desc := prometheus.NewDesc(name, "Temporal SDK metric "+name+".", labels, nil)
		for _, s := range ss {
			values := make([]string, len(labels))
			for i, l := range labels {
				values[i] = s.tags[l]
			}
			switch kinds[name] {
			case sdkCounter:
				ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, float64(s.value.Load()), values...)
			case sdkGauge:
				ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, math.Float64frombits(s.value.Load()), values...)
			case sdkTimer:
				s.mu.Lock()
				cumulative := make(map[float64]uint64, len(timerBuckets))
				var n uint64
				for i, upper := range timerBuckets {
					n += s.buckets[i]
					cumulative[upper] = n
				}
				count, sum := s.count, s.sum
				s.mu.Unlock()
				ch <- prometheus.MustNewConstHistogram(desc, count, sum, cumulative, values...)
			}
		}
	}
}

// sdkHandler is the client.MetricsHandler of one tag set.
type sdkHandler struct {
	c      *sdkCollector
	tags   map[string]string // sanitized names; never modified once built
	tagKey string
}

func (h sdkHandler) WithTags(tags map[string]string) client.MetricsHandler {
	merged := make(map[string]string, len(h.tags)+len(tags))
	for k, v := range h.tags {
		merged[k] = v
	}
	for k, v := range tags {
		merged[sanitizeName(k)] = strings.ToValidUTF8(v, "\uFFFD")
	}
	keys := make([]string, 0, len(merged))
	for k := range merged {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(merged[k])
		b.WriteByte(0xff) // not valid UTF-8: cannot occur in the text
	}
	return sdkHandler{c: h.c, tags: merged, tagKey: b.String()}
}

func (h sdkHandler) Counter(name string) client.MetricsCounter {
	s := h.c.get(sdkCounter, name, h.tagKey, h.tags)
	if s == nil {
		return client.MetricsNopHandler.Counter(name)
	}
	return counterFunc(func(d int64) {
		if d > 0 {
			s.value.Add(uint64(d))
		}
	})
}

func (h sdkHandler) Gauge(name string) client.MetricsGauge {
	s := h.c.get(sdkGauge, name, h.tagKey, h.tags)
	if s == nil {
		return client.MetricsNopHandler.Gauge(name)
	}
	return gaugeFunc(func(v float64) { s.value.Store(math.Float64bits(v)) })
}

func (h sdkHandler) Timer(name string) client.MetricsTimer {
	s := h.c.get(sdkTimer, name, h.tagKey, h.tags)
	if s == nil {
		return client.MetricsNopHandler.Timer(name)
	}
	return timerFunc(func(d time.Duration) {
		sec := d.Seconds()
		i, _ := slices.BinarySearch(timerBuckets, sec) // first bucket with upper bound ≥ sec
		s.mu.Lock()
		if i < len(s.buckets) {
			s.buckets[i]++
		}
		s.count++
		s.sum += sec
		s.mu.Unlock()
	})
}

type counterFunc func(int64)

func (f counterFunc) Inc(d int64) { f(d) }

type gaugeFunc func(float64)

func (f gaugeFunc) Update(v float64) { f(v) }

type timerFunc func(time.Duration)

func (f timerFunc) Record(d time.Duration) { f(d) }

// sanitizeName makes s a valid Prometheus metric or label name: letters,
// digits and underscores, not starting with a digit.
func sanitizeName(s string) string {
	valid := s != ""
	for i := 0; i < len(s) && valid; i++ {
		valid = isNameChar(s[i], i == 0)
	}
	if valid {
		return s
	}
	b := []byte(s)
	for i := range b {
		if !isNameChar(b[i], i == 0) {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "_"
	}
	return string(b)
}

func isNameChar(c byte, first bool) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || !first && c >= '0' && c <= '9'
}
