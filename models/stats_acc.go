package models

// The adding up of stats rows, from the scans or the rollups, into
// ScanStats.

import (
	"cmp"
	"maps"
	"slices"
	"time"
)

// tally is a number of scans and how many of them were unique.
type tally struct{ scans, visitors int64 }

// statsAcc adds up the counts that make ScanStats.
type statsAcc struct {
	total, bots                                                tally
	perDay                                                     map[string]tally
	countryName                                                map[string]string
	country, region, city, device, browser, os, source, reason counter
	code                                                       counter // nil: not broken down by code
}

// newStatsAcc returns an empty statsAcc; byCode: with the breakdown by code.
func newStatsAcc(byCode bool) *statsAcc {
	a := &statsAcc{
		perDay: map[string]tally{}, countryName: map[string]string{},
		country: counter{}, region: counter{}, city: counter{}, device: counter{},
		browser: counter{}, os: counter{}, source: counter{}, reason: counter{},
	}
	if byCode {
		a.code = counter{}
	}
	return a
}

func (a *statsAcc) addDay(day string, isBot bool, t tally) {
	if t == (tally{}) {
		return
	}
	a.total.scans, a.total.visitors = a.total.scans+t.scans, a.total.visitors+t.visitors
	if isBot {
		a.bots.scans += t.scans
	}
	d := a.perDay[day]
	a.perDay[day] = tally{d.scans + t.scans, d.visitors + t.visitors}
}

func (a *statsAcc) addGeo(countryCode, region, city, name string, t tally) {
	if t == (tally{}) {
		return
	}
	a.country.add(Bucket{Key: countryCode}, t)
	a.countryName[countryCode] = max(a.countryName[countryCode], name)
	a.region.add(Bucket{Key: region, CountryCode: countryCode}, t)
	a.city.add(Bucket{Key: city, CountryCode: countryCode, Region: region}, t)
}

func (a *statsAcc) result(from, to time.Time) ScanStats {
	st := ScanStats{Total: a.total.scans, Bots: a.bots.scans, Humans: a.total.scans - a.bots.scans, Visitors: a.total.visitors}
	st.ByDay = fillDays(from, to, a.perDay)
	st.ByCountry = a.country.top()
	for i, b := range st.ByCountry {
		st.ByCountry[i].Name = a.countryName[b.Key]
	}
	st.ByRegion, st.ByCity = a.region.top(), a.city.top()
	st.ByDeviceType, st.ByBrowser, st.ByOS = a.device.top(), a.browser.top(), a.os.top()
	st.BySource, st.ByBotReason = a.source.top(), a.reason.top()
	if a.code != nil {
		st.ByCode = a.code.top()
	}
	return st
}

// counter adds up scans and visitors per bucket (counts zero in the key).
type counter map[Bucket]tally

func (c counter) add(b Bucket, t tally) {
	if t == (tally{}) {
		return
	}
	n := c[b]
	n = tally{n.scans + t.scans, n.visitors + t.visitors}
	if n == (tally{}) { // all taken away again: as if never seen
		delete(c, b)
		return
	}
	c[b] = n
}

// top returns the StatsTopN biggest buckets, by count descending, then by
// key, country code and region; never nil.
func (c counter) top() []Bucket {
	out := make([]Bucket, 0, len(c))
	for b, n := range c {
		b.Count, b.Visitors = n.scans, n.visitors
		out = append(out, b)
	}
	slices.SortFunc(out, func(a, b Bucket) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Key, b.Key),
			cmp.Compare(a.CountryCode, b.CountryCode), cmp.Compare(a.Region, b.Region))
	})
	return out[:min(len(out), StatsTopN)]
}

// fillDays lists every UTC day from from to to (exclusive) with its counts
// in perDay, zero when absent. Without a complete range it lists just the
// days in perDay, in order.
func fillDays(from, to time.Time, perDay map[string]tally) []DayCount {
	out := []DayCount{}
	if from.IsZero() || to.IsZero() || !from.Before(to) {
		for _, d := range slices.Sorted(maps.Keys(perDay)) {
			out = append(out, DayCount{Date: d, Count: perDay[d].scans, Visitors: perDay[d].visitors})
		}
		return out
	}
	from, last := from.UTC(), to.UTC().Add(-time.Nanosecond)
	day := startOfDay(from)
	for ; !day.After(last); day = day.AddDate(0, 0, 1) {
		d := day.Format(time.DateOnly)
		out = append(out, DayCount{Date: d, Count: perDay[d].scans, Visitors: perDay[d].visitors})
	}
	return out
}
