package tracing_test

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/scanforge/scanforge/internal/config"
	"github.com/scanforge/scanforge/internal/tracing"
)

// Off, nothing is traced and nothing goes out, and starting a span costs no
// allocation: the redirect path starts two.
func TestOffTracesNothing(t *testing.T) {
	for name, tr := range map[string]*tracing.Tracing{"Off": tracing.Off(), "nil": nil} {
		ctx := context.Background()
		got, span := tr.Start(ctx, "redirect", trace.SpanKindServer)
		if got != ctx || span.IsRecording() || tr.Enabled() {
			t.Errorf("%s: Start changed the context or records", name)
		}
		if tp := tr.TraceParent(got); tp != "" {
			t.Errorf("%s: traceparent %q", name, tp)
		}
		h := http.Header{}
		tr.Inject(got, h)
		if len(h) != 0 {
			t.Errorf("%s: injected %v", name, h)
		}
		if interceptors, err := tr.TemporalInterceptors(); interceptors != nil || err != nil {
			t.Errorf("%s: interceptors %v, %v", name, interceptors, err)
		}
		allocs := testing.AllocsPerRun(100, func() {
			_, span := tr.Start(ctx, "redirect", trace.SpanKindServer)
			tracing.End(span, nil)
			_ = tr.TraceParent(ctx)
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per span", name, allocs)
		}
	}
}

// A traceparent written down continues the trace it came from.
func TestTraceParentRoundTrip(t *testing.T) {
	spans := tracetest.NewInMemoryExporter()
	tr := tracing.WithSyncer(spans)
	ctx, span := tr.Start(context.Background(), "record scan", trace.SpanKindInternal)
	tp := tr.TraceParent(ctx)
	span.End()
	want := span.SpanContext()
	if !strings.HasPrefix(tp, "00-"+want.TraceID().String()+"-"+want.SpanID().String()+"-") {
		t.Fatalf("traceparent %q of span %v", tp, want)
	}
	_, child := tr.Start(tr.WithTraceParent(context.Background(), tp), "dispatch", trace.SpanKindProducer)
	child.End()
	stubs := spans.GetSpans()
	if len(stubs) != 2 || stubs[1].Parent.SpanID() != want.SpanID() || stubs[1].SpanContext.TraceID() != want.TraceID() {
		t.Fatalf("spans %+v", stubs)
	}
	if got := tr.WithTraceParent(context.Background(), "garbage"); trace.SpanContextFromContext(got).IsValid() {
		t.Fatal("an invalid traceparent gave a parent")
	}
	h := http.Header{}
	tr.Inject(ctx, h)
	if h.Get("traceparent") != tp {
		t.Fatalf("injected %v, want traceparent %q", h, tp)
	}
}

// With no endpoint New is Off; with one it exports by the configured
// protocol and gives Temporal its interceptor.
func TestNewFollowsTheConfiguration(t *testing.T) {
	ctx := context.Background()
	logger := slog.New(slog.DiscardHandler)
	tr, err := tracing.New(ctx, config.Config{Mode: config.ModeServe}, "test", logger)
	if err != nil || tr.Enabled() {
		t.Fatalf("without an endpoint: enabled %v, %v", tr.Enabled(), err)
	}
	for _, protocol := range []string{"http/protobuf", "grpc"} {
		cfg := config.Config{Mode: config.ModeServe, Tracing: config.Tracing{
			Endpoint: "http://127.0.0.1:4318", TracesProtocol: protocol, ServiceName: "scanforge",
		}}
		tr, err := tracing.New(ctx, cfg, "test", logger)
		if err != nil || !tr.Enabled() {
			t.Fatalf("%s: enabled %v, %v", protocol, tr.Enabled(), err)
		}
		if interceptors, err := tr.TemporalInterceptors(); len(interceptors) != 1 || err != nil {
			t.Fatalf("%s: interceptors %v, %v", protocol, interceptors, err)
		}
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if err := tr.Shutdown(sctx); err != nil {
			t.Errorf("%s: shutdown with nothing to export: %v", protocol, err)
		}
		cancel()
	}
}
