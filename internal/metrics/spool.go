package metrics

import "github.com/prometheus/client_golang/prometheus"

// Spool is the state of a serve replica's local spool (internal/spool):
// totals since the process started, and what waits on disk now.
type Spool struct {
	Spooled     int64 // scans written to the spool because the database was unavailable
	Moved       int64 // spooled scans since stored in the database
	Quarantined int64 // spooled scans the database refused, set aside
	Backlog     int64 // scans on disk not yet moved
}

// WatchSpool reports the spool at every scrape, by calling state (atomic
// reads, no I/O).
func (r *Registry) WatchSpool(state func() Spool) {
	if r == nil {
		return
	}
	r.watch("spool", &spoolCollector{state: state})
}

var (
	spooledDesc = prometheus.NewDesc(Namespace+"_spool_scans_total",
		"Scans written to the local spool because the database was unavailable.", nil, nil)
	movedDesc = prometheus.NewDesc(Namespace+"_spool_moved_total",
		"Spooled scans moved into the database.", nil, nil)
	quarantinedDesc = prometheus.NewDesc(Namespace+"_spool_quarantined_total",
		"Spooled scans the database refused, set aside in the spool's quarantine file.", nil, nil)
	spoolBacklogDesc = prometheus.NewDesc(Namespace+"_spool_backlog",
		"Scans in the local spool not yet moved into the database.", nil, nil)
)

type spoolCollector struct {
	state func() Spool
}

func (c *spoolCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- spooledDesc
	ch <- movedDesc
	ch <- quarantinedDesc
	ch <- spoolBacklogDesc
}

func (c *spoolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.state()
	ch <- prometheus.MustNewConstMetric(spooledDesc, prometheus.CounterValue, float64(s.Spooled))
	ch <- prometheus.MustNewConstMetric(movedDesc, prometheus.CounterValue, float64(s.Moved))
	ch <- prometheus.MustNewConstMetric(quarantinedDesc, prometheus.CounterValue, float64(s.Quarantined))
	ch <- prometheus.MustNewConstMetric(spoolBacklogDesc, prometheus.GaugeValue, float64(s.Backlog))
}
