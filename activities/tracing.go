package activities

import (
	"errors"
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/scanforge/scanforge/internal/tracing"
)

// startPostSpan describes the POST of a delivery on its span. The URL is
// left out: a chat webhook's URL is its secret (the host is not).
func startPostSpan(span trace.Span, req *http.Request, endpointID string, attempt int) {
	if !span.IsRecording() {
		return
	}
	span.SetAttributes(
		attribute.String("http.request.method", req.Method),
		attribute.String("url.scheme", req.URL.Scheme),
		attribute.String("server.address", req.URL.Hostname()),
		attribute.String("scanforge.endpoint.id", endpointID),
		attribute.Int("scanforge.attempt", attempt),
	)
}

// endPostSpan records the attempt's answer and ends the span: failed when
// there was no answer or one of 400 and above, as OpenTelemetry's HTTP
// conventions have it for a client.
func endPostSpan(span trace.Span, res *AttemptResult) {
	if !span.IsRecording() {
		span.End()
		return
	}
	span.SetAttributes(attribute.String("scanforge.outcome", string(res.Outcome)))
	var err error
	if res.StatusCode != 0 {
		span.SetAttributes(attribute.Int("http.response.status_code", res.StatusCode))
	}
	if res.StatusCode == 0 || res.StatusCode >= 400 {
		msg := res.Error
		if msg == "" {
			msg = http.StatusText(res.StatusCode)
		}
		err = errors.New(msg)
	}
	tracing.End(span, err)
}
