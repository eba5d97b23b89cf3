package metrics_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/scanforge/scanforge/internal/metrics"
)

// scrape fetches the registry's /metrics answer and parses it with
// Prometheus's own text parser.
func scrape(t *testing.T, r *metrics.Registry) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(r.Handler())
	defer srv.Close()
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(res.Body)
		t.Fatalf("scrape: status %d: %s", res.StatusCode, body)
	}
	var parser expfmt.TextParser
	families, err := parser.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("scrape is not valid Prometheus text: %v", err)
	}
	return families
}

// value returns the counter, gauge or histogram count of the series of
// family name whose labels include want.
func value(t *testing.T, families map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	t.Helper()
	mf, ok := families[name]
	if !ok {
		t.Fatalf("no metric family %s", name)
	}
	for _, m := range mf.GetMetric() {
		if !hasLabels(m, want) {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		case m.Untyped != nil:
			return m.GetUntyped().GetValue()
		}
	}
	t.Fatalf("no series of %s with labels %v", name, want)
	return 0
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	got := map[string]string{}
	for _, l := range m.GetLabel() {
		got[l.GetName()] = l.GetValue()
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

func TestObservationsMoveTheirMetrics(t *testing.T) {
	r := metrics.New()
	r.ObserveRedirect("qr", 302, 3*time.Millisecond)
	r.ObserveRedirect("qr", 302, 4*time.Millisecond)
	r.ObserveRedirect("link", 404, time.Millisecond)
	r.ObserveRequest("/api/v1/codes", "POST", 201, 10*time.Millisecond)
	r.ObserveRequest("", "GET", 404, time.Millisecond)
	// Methods are the client's choice: any but HTTP's own share one label.
	r.ObserveRequest("", "BREW", 404, time.Millisecond)
	r.ObserveRequest("", "WHEN", 404, time.Millisecond)
	r.ScansRecorded(3)
	r.ScansRecorded(0) // an empty batch is not a batch
	r.WorkflowStart(metrics.StartStarted)
	r.WorkflowStart(metrics.StartAlreadyStarted)
	r.DeliveryAttempt("delivered", true, 120*time.Millisecond)
	r.DeliveryAttempt("endpoint_disabled", false, 0)

	f := scrape(t, r)
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"scanforge_redirects_total", map[string]string{"source": "qr", "status": "302"}, 2},
		{"scanforge_redirects_total", map[string]string{"source": "link", "status": "404"}, 1},
		{"scanforge_redirect_duration_seconds", map[string]string{"source": "qr"}, 2},
		{"scanforge_http_requests_total", map[string]string{"route": "/api/v1/codes", "method": "POST", "status": "201"}, 1},
		{"scanforge_http_requests_total", map[string]string{"route": "unmatched", "method": "GET", "status": "404"}, 1},
		{"scanforge_http_requests_total", map[string]string{"route": "unmatched", "method": "OTHER", "status": "404"}, 2},
		{"scanforge_scans_recorded_total", nil, 3},
		{"scanforge_scan_batch_size", nil, 1},
		{"scanforge_workflow_starts_total", map[string]string{"result": "started"}, 1},
		{"scanforge_workflow_starts_total", map[string]string{"result": "already_started"}, 1},
		{"scanforge_delivery_attempts_total", map[string]string{"outcome": "delivered"}, 1},
		{"scanforge_delivery_attempts_total", map[string]string{"outcome": "endpoint_disabled"}, 1},
		{"scanforge_delivery_attempt_duration_seconds", map[string]string{"outcome": "delivered"}, 1},
	} {
		if got := value(t, f, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	// No request went out to a disabled endpoint: no latency sample.
	for _, m := range f["scanforge_delivery_attempt_duration_seconds"].GetMetric() {
		if hasLabels(m, map[string]string{"outcome": "endpoint_disabled"}) {
			t.Errorf("latency recorded for an attempt that sent nothing")
		}
	}
	if _, ok := f["go_goroutines"]; !ok {
		t.Errorf("Go runtime metrics missing")
	}
}

func TestNilRegistryDoesNothing(t *testing.T) {
	var r *metrics.Registry
	r.ObserveRedirect("qr", 302, time.Millisecond)
	r.ObserveRequest("/x", "GET", 200, time.Millisecond)
	r.ScansRecorded(1)
	r.WorkflowStart(metrics.StartError)
	r.DeliveryAttempt("retry", true, time.Second)
	r.WatchOutbox(nil, nil)
	r.WatchDatabase(nil)
	r.Temporal().WithTags(map[string]string{"a": "b"}).Counter("c").Inc(1)
	rec := httptest.NewRecorder()
	r.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusNotFound {
		t.Fatalf("nil registry serves metrics: %d", rec.Code)
	}
}

func TestOutboxBacklogIsQueriedAtScrape(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	backlog := metrics.Backlog{}
	var fail error
	r := metrics.New()
	r.WatchOutbox(func(context.Context) (metrics.Backlog, error) { return backlog, fail }, func() time.Time { return now })

	f := scrape(t, r)
	if got := value(t, f, "scanforge_outbox_backlog", nil); got != 0 {
		t.Errorf("empty backlog = %v", got)
	}
	if got := value(t, f, "scanforge_outbox_oldest_age_seconds", nil); got != 0 {
		t.Errorf("age of an empty outbox = %v", got)
	}

	backlog = metrics.Backlog{Pending: 7, Oldest: now.Add(-90 * time.Second)}
	f = scrape(t, r)
	if got := value(t, f, "scanforge_outbox_backlog", nil); got != 7 {
		t.Errorf("backlog = %v, want 7", got)
	}
	if got := value(t, f, "scanforge_outbox_oldest_age_seconds", nil); got != 90 {
		t.Errorf("oldest age = %v, want 90", got)
	}

	// A failing query drops the outbox gauges, not the scrape.
	fail = errors.New("database down")
	f = scrape(t, r)
	if _, ok := f["scanforge_outbox_backlog"]; ok {
		t.Errorf("backlog reported although the query failed")
	}
	if _, ok := f["scanforge_scans_recorded_total"]; !ok {
		t.Errorf("a failing outbox query dropped other metrics")
	}
}

func TestTemporalHandlerBridgesSDKMetrics(t *testing.T) {
	r := metrics.New()
	h := r.Temporal()
	wf := h.WithTags(map[string]string{"namespace": "default", "workflow_type": "Delivery"})
	wf.Counter("temporal_workflow_completed").Inc(1)
	wf.Counter("temporal_workflow_completed").Inc(2)
	// Same name, another tag set: one family with the union of the labels.
	h.WithTags(map[string]string{"namespace": "default", "task_queue": "q"}).Counter("temporal_workflow_completed").Inc(1)
	wf.Gauge("temporal_num_pollers").Update(4)
	wf.Gauge("temporal_num_pollers").Update(2)
	wf.Timer("temporal_request_latency").Record(30 * time.Millisecond)
	wf.Timer("temporal_request_latency").Record(10 * time.Minute) // beyond the last bucket
	// WithTags overrides an existing tag; odd names become valid ones.
	wf.WithTags(map[string]string{"workflow_type": "Other", "odd-tag": "x"}).Counter("scanforge.custom").Inc(5)
	// A name reused as another kind is dropped instead of breaking the scrape.
	wf.Gauge("temporal_workflow_completed").Update(99)

	f := scrape(t, r)
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"temporal_workflow_completed", map[string]string{"workflow_type": "Delivery", "task_queue": ""}, 3},
		{"temporal_workflow_completed", map[string]string{"task_queue": "q", "workflow_type": ""}, 1},
		{"temporal_num_pollers", map[string]string{"namespace": "default"}, 2},
		{"temporal_request_latency", nil, 2},
		{"scanforge_custom", map[string]string{"workflow_type": "Other", "odd_tag": "x"}, 5},
	} {
		if got := value(t, f, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if got := f["temporal_workflow_completed"].GetType(); got != dto.MetricType_COUNTER {
		t.Errorf("temporal_workflow_completed is a %v", got)
	}
	hist := f["temporal_request_latency"].GetMetric()[0].GetHistogram()
	if hist.GetSampleSum() < 600 {
		t.Errorf("histogram sum %v: the 10 min sample is missing", hist.GetSampleSum())
	}
	found := false
	for _, b := range hist.GetBucket() {
		if b.GetUpperBound() == 0.05 {
			found = true
			if b.GetCumulativeCount() != 1 {
				t.Errorf("bucket le=0.05 holds %d samples, want 1", b.GetCumulativeCount())
			}
		}
	}
	if !found {
		t.Errorf("no bucket le=0.05 in %v", hist)
	}
}

func TestWatchingAgainReplacesTheOutboxQuery(t *testing.T) {
	r := metrics.New()
	now := func() time.Time { return time.Unix(0, 0) }
	r.WatchOutbox(func(context.Context) (metrics.Backlog, error) { return metrics.Backlog{Pending: 1}, nil }, now)
	r.WatchOutbox(func(context.Context) (metrics.Backlog, error) { return metrics.Backlog{Pending: 2}, nil }, now)
	if got := value(t, scrape(t, r), "scanforge_outbox_backlog", nil); got != 2 {
		t.Fatalf("backlog = %v, want the second query's 2", got)
	}
}
