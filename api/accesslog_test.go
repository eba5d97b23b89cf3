package api_test

import (
	"net/http"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/scanforge/scanforge/api"
	"github.com/scanforge/scanforge/internal/metrics"
)

func TestAccessLogHasRequestIDsAndNoSecrets(t *testing.T) {
	e := newEnv(t, "sqlite")
	e.createCode("spring", "https://example.com/spring")
	const secretQuery = "cursor-that-must-not-be-logged"
	rec := e.do(request{Method: "GET", Path: "/api/v1/codes?cursor=" + secretQuery, Key: e.key,
		Header: http.Header{"X-Request-Id": {"trace-42"}}})
	if rec.Header().Get("X-Request-Id") != "trace-42" {
		t.Fatalf("request id not echoed: %q", rec.Header().Get("X-Request-Id"))
	}
	e.do(request{Method: "GET", Path: "/q/spring"})

	logs := e.logs.String()
	var apiLine, redirectLine string
	for _, line := range strings.Split(logs, "\n") {
		switch {
		case strings.Contains(line, "msg=request") && strings.Contains(line, "request_id=trace-42"):
			apiLine = line
		case strings.Contains(line, "msg=request") && strings.Contains(line, "path=/q/spring"):
			redirectLine = line
		}
	}
	for _, want := range []string{"level=INFO", "method=GET", "path=/api/v1/codes", "route=/api/v1/codes", "status=400", "workspace_id=" + e.wsID} {
		if !strings.Contains(apiLine, want) {
			t.Errorf("API access log line lacks %q: %q", want, apiLine)
		}
	}
	for _, want := range []string{"level=DEBUG", "route=/q/:slug", "status=302", "request_id=req_"} {
		if !strings.Contains(redirectLine, want) {
			t.Errorf("redirect access log line lacks %q: %q", want, redirectLine)
		}
	}
	for _, secret := range []string{e.key, secretQuery, "Bearer"} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain %q:\n%s", secret, logs)
		}
	}
}

func TestRouterCountsRequestsAndRedirects(t *testing.T) {
	m := metrics.New()
	e := newEnv(t, "sqlite", func(o *api.Options) { o.Metrics = m })
	e.createCode("spring", "https://example.com/spring")
	for _, path := range []string{"/q/spring", "/q/spring", "/l/spring", "/q/unknown"} {
		e.do(request{Method: "GET", Path: path})
	}
	e.do(request{Method: "GET", Path: "/api/v1/codes", Key: e.key})

	families, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	count := func(name string, labels map[string]string) float64 {
		for _, f := range families {
			if f.GetName() != name {
				continue
			}
			for _, s := range f.GetMetric() {
				if matches(s, labels) {
					return s.GetCounter().GetValue() + float64(s.GetHistogram().GetSampleCount())
				}
			}
		}
		return 0
	}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"scanforge_redirects_total", map[string]string{"source": "qr", "status": "302"}, 2},
		{"scanforge_redirects_total", map[string]string{"source": "link", "status": "302"}, 1},
		{"scanforge_redirects_total", map[string]string{"source": "qr", "status": "404"}, 1},
		{"scanforge_redirect_duration_seconds", map[string]string{"source": "qr"}, 3},
		{"scanforge_http_requests_total", map[string]string{"route": "/api/v1/codes", "method": "GET", "status": "200"}, 1},
		{"scanforge_http_requests_total", map[string]string{"route": "/api/v1/codes", "method": "POST", "status": "201"}, 1},
	} {
		if got := count(c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
}

func matches(m *dto.Metric, labels map[string]string) bool {
	got := map[string]string{}
	for _, l := range m.GetLabel() {
		got[l.GetName()] = l.GetValue()
	}
	for k, v := range labels {
		if got[k] != v {
			return false
		}
	}
	return true
}
