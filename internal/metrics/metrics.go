// Package metrics holds ScanForge's Prometheus metrics: one Registry per
// process, created by New and handed to the parts that observe something.
// Every method works on a nil *Registry and then does nothing, so a part
// built without metrics (tests, tools) needs no special case.
//
// Labels are bounded on purpose: HTTP metrics are labelled by route
// template (/api/v1/codes/:id), never by raw path, slug or ID, and delivery
// metrics carry no endpoint ID (endpoints are created through the API, so
// their number is unbounded); per-endpoint detail lives in the delivery log.
package metrics

import (
	"context"
	"database/sql"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/sdk/client"
)

// Namespace prefixes every ScanForge metric name.
const Namespace = "scanforge"

// Results of a workflow start by the outbox (label "result" of
// scanforge_workflow_starts_total).
const (
	StartStarted        = "started"
	StartAlreadyStarted = "already_started" // the deterministic ID made the start a no-op
	StartError          = "error"
)

// latencyBuckets suit both redirects (milliseconds) and webhook endpoints
// (up to the delivery timeout), in seconds.
var latencyBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// Registry is the set of metrics of one process.
type Registry struct {
	reg *prometheus.Registry

	httpRequests     *prometheus.CounterVec
	httpDuration     *prometheus.HistogramVec
	redirects        *prometheus.CounterVec
	redirectDuration *prometheus.HistogramVec
	scansRecorded    prometheus.Counter
	scanBatchSize    prometheus.Histogram
	workflowStarts   *prometheus.CounterVec
	attempts         *prometheus.CounterVec
	attemptDuration  *prometheus.HistogramVec

	temporal *sdkCollector

	// The series of requestSeries and redirectSeries, resolved once each:
	// WithLabelValues hashes every label and takes a lock on each call, a
	// cost every redirect paid four times.
	requestSeries  sync.Map // requestKey → series
	redirectSeries sync.Map // redirectKey → series

	mu      sync.Mutex
	watched map[string]prometheus.Collector // WatchOutbox, WatchDatabase: the latest call's
}

// New returns a Registry with ScanForge's metrics, the Go runtime's and the
// process's, and an empty collector for the Temporal SDK's (see Temporal).
func New() *Registry {
	r := &Registry{
		reg: prometheus.NewRegistry(),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "http_requests_total",
			Help: "HTTP requests answered, by route template, method and status.",
		}, []string{"route", "method", "status"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route template and method.",
			Buckets: latencyBuckets,
		}, []string{"route", "method"}),
		redirects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "redirects_total",
			Help: "Scans of /q/SLUG (source qr) and /l/SLUG (source link), by answer status: 302 redirected, 404 unknown or inactive code, 503 code lookup failed.",
		}, []string{"source", "status"}),
		redirectDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "redirect_duration_seconds",
			Help:    "Time to answer a redirect, including making its scan durable.",
			Buckets: latencyBuckets,
		}, []string{"source"}),
		scansRecorded: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Name: "scans_recorded_total",
			Help: "Scans committed to the database by the group-commit recorder.",
		}),
		scanBatchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "scan_batch_size",
			Help:    "Scans per committed insert of the recorder (group commit).",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256},
		}),
		workflowStarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "workflow_starts_total",
			Help: "Delivery workflow starts by the outbox, by result: started, already_started (idempotent no-op), error.",
		}, []string{"result"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "delivery_attempts_total",
			Help: "Webhook delivery attempts, by outcome: delivered, retry, failed, endpoint_disabled.",
		}, []string{"outcome"}),
		attemptDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "delivery_attempt_duration_seconds",
			Help:    "Time from sending a webhook to the endpoint's answer (or the error), by outcome.",
			Buckets: latencyBuckets,
		}, []string{"outcome"}),
		temporal: newSDKCollector(),
		watched:  map[string]prometheus.Collector{},
	}
	r.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		r.httpRequests, r.httpDuration, r.redirects, r.redirectDuration,
		r.scansRecorded, r.scanBatchSize, r.workflowStarts, r.attempts, r.attemptDuration,
		r.temporal,
	)
	return r
}

// Handler serves the metrics in the Prometheus text format. A collector
// that fails (the outbox query, say) drops its own metrics, not the scrape.
func (r *Registry) Handler() http.Handler {
	if r == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Gatherer exposes the registry, e.g. for tests.
func (r *Registry) Gatherer() prometheus.Gatherer {
	if r == nil {
		return prometheus.NewRegistry()
	}
	return r.reg
}

// ObserveRequest counts one answered HTTP request. route is the route
// template ("" when no route matched).
func (r *Registry) ObserveRequest(route, method string, status int, d time.Duration) {
	if r == nil {
		return
	}
	if route == "" {
		route = "unmatched"
	}
	key := requestKey{route, knownMethod(method), status}
	s, ok := r.requestSeries.Load(key)
	if !ok {
		s, _ = r.requestSeries.LoadOrStore(key, series{
			count:    r.httpRequests.WithLabelValues(key.route, key.method, strconv.Itoa(status)),
			duration: r.httpDuration.WithLabelValues(key.route, key.method),
		})
	}
	s.(series).observe(d)
}

// ObserveRedirect counts one answered scan of source (qr or link).
func (r *Registry) ObserveRedirect(source string, status int, d time.Duration) {
	if r == nil {
		return
	}
	key := redirectKey{source, status}
	s, ok := r.redirectSeries.Load(key)
	if !ok {
		s, _ = r.redirectSeries.LoadOrStore(key, series{
			count:    r.redirects.WithLabelValues(source, strconv.Itoa(status)),
			duration: r.redirectDuration.WithLabelValues(source),
		})
	}
	s.(series).observe(d)
}

type requestKey struct {
	route, method string
	status        int
}

type redirectKey struct {
	source string
	status int
}

// series is a counter and a duration histogram of one set of labels.
type series struct {
	count    prometheus.Counter
	duration prometheus.Observer
}

func (s series) observe(d time.Duration) {
	s.count.Inc()
	s.duration.Observe(d.Seconds())
}

// knownMethod is method if it is one of HTTP's, else "OTHER": a client
// picks the method, and a label it could set freely would let it create
// series without end.
func knownMethod(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "OTHER"
}

// ScansRecorded counts a committed batch of n scans.
func (r *Registry) ScansRecorded(n int) {
	if r == nil || n <= 0 {
		return
	}
	r.scansRecorded.Add(float64(n))
	r.scanBatchSize.Observe(float64(n))
}

// WorkflowStart counts one delivery workflow start with result (Start*).
func (r *Registry) WorkflowStart(result string) {
	if r == nil {
		return
	}
	r.workflowStarts.WithLabelValues(result).Inc()
}

// DeliveryAttempt counts one delivery attempt. sent tells whether a request
// went out (false when the endpoint was gone or disabled), and then d is the
// time the endpoint took.
func (r *Registry) DeliveryAttempt(outcome string, sent bool, d time.Duration) {
	if r == nil {
		return
	}
	r.attempts.WithLabelValues(outcome).Inc()
	if sent {
		r.attemptDuration.WithLabelValues(outcome).Observe(d.Seconds())
	}
}

// Backlog is the state of the outbox: scans whose deliveries have not been
// started yet.
type Backlog struct {
	Pending int64
	Oldest  time.Time // timestamp of the oldest pending scan; zero when none
}

// WatchOutbox reports the outbox backlog at every scrape, by calling query
// (a count and a min over an indexed column: cheap). Every serve replica
// reports the same, shared backlog: aggregate with max, not sum.
func (r *Registry) WatchOutbox(query func(ctx context.Context) (Backlog, error), now func() time.Time) {
	if r == nil {
		return
	}
	r.watch("outbox", &outboxCollector{query: query, now: now})
}

// WatchDatabase reports the connection pool statistics of the app
// database (go_sql_* metrics, db_name="app").
func (r *Registry) WatchDatabase(db *sql.DB) {
	if r == nil || db == nil {
		return
	}
	r.watch("database", collectors.NewDBStatsCollector(db, "app"))
}

// watch registers c under name, replacing what an earlier call registered
// (an app restarted in the same process watches its new store).
func (r *Registry) watch(name string, c prometheus.Collector) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.watched[name]; ok {
		r.reg.Unregister(old)
	}
	r.reg.MustRegister(c)
	r.watched[name] = c
}

// Temporal returns the handler to give the Temporal client
// (client.Options.MetricsHandler): the SDK's own metrics (temporal_*) and
// those workflows emit through workflow.GetMetricsHandler then appear in
// this registry.
func (r *Registry) Temporal() client.MetricsHandler {
	if r == nil {
		return client.MetricsNopHandler
	}
	return sdkHandler{c: r.temporal}
}

var (
	backlogDesc = prometheus.NewDesc(Namespace+"_outbox_backlog",
		"Scans recorded whose delivery workflows have not been started yet.", nil, nil)
	oldestDesc = prometheus.NewDesc(Namespace+"_outbox_oldest_age_seconds",
		"Age of the oldest scan waiting in the outbox; 0 when it is empty.", nil, nil)
)

// outboxTimeout bounds the backlog query of one scrape.
const outboxTimeout = 2 * time.Second

type outboxCollector struct {
	query func(ctx context.Context) (Backlog, error)
	now   func() time.Time
}

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- backlogDesc
	ch <- oldestDesc
}

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), outboxTimeout)
	defer cancel()
	b, err := c.query(ctx)
	if err != nil {
		// The scrape still answers; the gauges are absent, which alerts on
		// absent() or on the readiness probe notice.
		ch <- prometheus.NewInvalidMetric(backlogDesc, err)
		return
	}
	age := 0.0
	if b.Pending > 0 && !b.Oldest.IsZero() {
		age = max(c.now().Sub(b.Oldest).Seconds(), 0)
	}
	ch <- prometheus.MustNewConstMetric(backlogDesc, prometheus.GaugeValue, float64(b.Pending))
	ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, age)
}
