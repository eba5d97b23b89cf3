// Package tracing builds the process's OpenTelemetry tracing: one trace per
// scan, from the redirect through the recorder, the outbox and the Delivery
// workflow to the webhook POST, whose W3C traceparent header makes the
// receiver's handler a child of the scan. It is off — a no-op tracer
// provider, no Temporal interceptor, no header — unless an OTLP endpoint is
// configured. A *Tracing is passed to whoever traces; nil means off.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/interceptor"

	"github.com/scanforge/scanforge/internal/config"
)

// Tracer is the instrumentation scope of ScanForge's own spans.
const Tracer = "github.com/scanforge/scanforge"

// Tracing is a tracer provider and the propagator that carries its context
// between processes: W3C Trace Context (traceparent, tracestate), never
// baggage, which would go out to receivers.
type Tracing struct {
	provider   trace.TracerProvider
	tracer     trace.Tracer
	propagator propagation.TextMapPropagator
	enabled    bool
	shutdown   func(context.Context) error
}

// Off returns tracing that records nothing.
func Off() *Tracing {
	provider := noop.NewTracerProvider()
	return &Tracing{
		provider: provider, tracer: provider.Tracer(Tracer),
		propagator: propagation.TraceContext{},
		shutdown:   func(context.Context) error { return nil },
	}
}

// New returns the tracing cfg asks for: Off when no endpoint is set, else a
// provider exporting by OTLP in batches. The exporter, the sampler and the
// resource read the rest of the standard OTEL_ variables themselves. The
// SDK reports export failures through its one global error handler, which
// New points at logger.
func New(ctx context.Context, cfg config.Config, version string, logger *slog.Logger) (*Tracing, error) {
	if !cfg.Tracing.Enabled() {
		return Off(), nil
	}
	var exporter sdktrace.SpanExporter
	var err error
	if cfg.Tracing.TracesProtocol == "grpc" {
		exporter, err = otlptracegrpc.New(ctx)
	} else {
		exporter, err = otlptracehttp.New(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("tracing: OTLP exporter: %w", err)
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(
			attribute.String("service.name", cfg.Tracing.ServiceName),
			attribute.String("service.version", version),
			attribute.String("scanforge.process", string(cfg.Mode)),
		),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES
		resource.WithTelemetrySDK(),
	)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("tracing: resource: %w", err), exporter.Shutdown(ctx))
	}
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		logger.Warn("opentelemetry", "error", err)
	}))
	return newProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res)), nil
}

// WithSyncer returns tracing that hands every span to exporter as it ends
// (tests: an in-memory exporter), sampling every trace.
func WithSyncer(exporter sdktrace.SpanExporter) *Tracing {
	return newProvider(sdktrace.WithSyncer(exporter), sdktrace.WithSampler(sdktrace.AlwaysSample()))
}

func newProvider(opts ...sdktrace.TracerProviderOption) *Tracing {
	provider := sdktrace.NewTracerProvider(opts...)
	return &Tracing{
		provider: provider, tracer: provider.Tracer(Tracer),
		propagator: propagation.TraceContext{},
		enabled:    true,
		shutdown:   provider.Shutdown,
	}
}

// Enabled tells whether spans are recorded at all.
func (t *Tracing) Enabled() bool { return t != nil && t.enabled }

// noSpan is what Start returns when tracing is off: a span that records
// nothing (trace's own no-op span).
var noSpan = trace.SpanFromContext(context.Background())

// Start starts a span of kind, child of ctx's span. Off, it returns ctx
// and a no-op span without allocating: the redirect path starts two.
func (t *Tracing) Start(ctx context.Context, name string, kind trace.SpanKind) (context.Context, trace.Span) {
	if !t.Enabled() {
		return ctx, noSpan
	}
	return t.tracer.Start(ctx, name, trace.WithSpanKind(kind))
}

// End ends span, marking it failed with err when err is not nil.
func End(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// Shutdown exports the spans still buffered and stops the exporter.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.shutdown(ctx)
}

// TemporalInterceptors are the Temporal client's interceptors: Temporal's
// OpenTelemetry interceptor, which carries the trace in workflow and
// activity headers (local activities included), so that the Delivery
// workflow and its attempts are children of the dispatch span. None when
// off: the headers would carry nothing.
func (t *Tracing) TemporalInterceptors() ([]interceptor.ClientInterceptor, error) {
	if !t.Enabled() {
		return nil, nil
	}
	i, err := temporalotel.NewTracingInterceptor(temporalotel.TracerOptions{
		Tracer:            t.provider.Tracer("temporal-sdk-go"),
		TextMapPropagator: t.propagator,
		DisableBaggage:    true,
	})
	if err != nil {
		return nil, fmt.Errorf("tracing: temporal interceptor: %w", err)
	}
	return []interceptor.ClientInterceptor{i}, nil
}

// TraceParent returns the W3C traceparent of ctx's span, "" when ctx
// carries none (or tracing is off).
func (t *Tracing) TraceParent(ctx context.Context) string {
	if !t.Enabled() || !trace.SpanContextFromContext(ctx).IsValid() {
		return ""
	}
	c := traceParentCarrier{}
	t.propagator.Inject(ctx, &c)
	return c.value
}

// WithTraceParent returns ctx with the remote span of traceparent as its
// parent: a trace goes on from where it was written down. ctx is returned
// as is when traceparent is "" or invalid.
func (t *Tracing) WithTraceParent(ctx context.Context, traceparent string) context.Context {
	if !t.Enabled() || traceparent == "" {
		return ctx
	}
	return t.propagator.Extract(ctx, &traceParentCarrier{value: traceparent})
}

// Inject writes ctx's trace context into an outgoing request's headers
// (traceparent, and tracestate when there is one).
func (t *Tracing) Inject(ctx context.Context, h http.Header) {
	if t.Enabled() {
		t.propagator.Inject(ctx, propagation.HeaderCarrier(h))
	}
}

// traceParentCarrier holds the traceparent alone: the scan keeps no
// tracestate.
type traceParentCarrier struct{ value string }

const traceParentHeader = "traceparent"

func (c *traceParentCarrier) Get(key string) string {
	if key == traceParentHeader {
		return c.value
	}
	return ""
}

func (c *traceParentCarrier) Set(key, value string) {
	if key == traceParentHeader {
		c.value = value
	}
}

func (c *traceParentCarrier) Keys() []string { return []string{traceParentHeader} }
