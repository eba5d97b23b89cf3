package config

import (
	"net/url"
	"strconv"
	"strings"
)

// Tracing is the OpenTelemetry export of traces (internal/tracing). The
// variables are OpenTelemetry's own: Load reads them to validate them and to
// show them at start, and the SDK reads them (and the other OTEL_ variables,
// such as OTEL_EXPORTER_OTLP_HEADERS) itself.
type Tracing struct {
	Endpoint       string // OTEL_EXPORTER_OTLP_ENDPOINT: the collector's base URL
	TracesEndpoint string // OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: the full URL of traces
	Protocol       string // OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf" or "grpc"
	TracesProtocol string // the protocol in effect for traces
	ServiceName    string
	Sampler        string // OTEL_TRACES_SAMPLER
	SamplerArg     string // OTEL_TRACES_SAMPLER_ARG, as set
	Disabled       bool   // OTEL_SDK_DISABLED
}

// Enabled tells whether traces are exported: an endpoint is set and the SDK
// is not disabled. Otherwise the process traces nothing at all.
func (t Tracing) Enabled() bool {
	return !t.Disabled && (t.Endpoint != "" || t.TracesEndpoint != "")
}

const (
	envOTLPEndpoint       = "OTEL_EXPORTER_OTLP_ENDPOINT"
	envOTLPTracesEndpoint = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	envOTLPProtocol       = "OTEL_EXPORTER_OTLP_PROTOCOL"
	envOTLPTracesProtocol = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
	envOTelServiceName    = "OTEL_SERVICE_NAME"
	envOTelSampler        = "OTEL_TRACES_SAMPLER"
	envOTelSamplerArg     = "OTEL_TRACES_SAMPLER_ARG"
	envOTelSDKDisabled    = "OTEL_SDK_DISABLED"

	defaultOTLPProtocol    = "http/protobuf"
	defaultOTelServiceName = "scanforge"
	defaultOTelSampler     = "parentbased_always_on"
	defaultOTelSDKDisabled = "false"
)

// samplers are the OTEL_TRACES_SAMPLER values the Go SDK implements.
var samplers = []string{"always_on", "always_off", "traceidratio", "parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio"}

// tracing reads the OpenTelemetry variables.
func (l *loader) tracing() Tracing {
	t := Tracing{
		Endpoint:       l.otlpEndpoint(envOTLPEndpoint),
		TracesEndpoint: l.otlpEndpoint(envOTLPTracesEndpoint),
		Protocol:       l.oneOf(envOTLPProtocol, defaultOTLPProtocol, "http/protobuf", "grpc"),
		ServiceName:    l.value(envOTelServiceName, defaultOTelServiceName),
		Sampler:        l.oneOf(envOTelSampler, defaultOTelSampler, samplers...),
		Disabled:       l.boolean(envOTelSDKDisabled, defaultOTelSDKDisabled),
	}
	t.TracesProtocol = l.oneOf(envOTLPTracesProtocol, t.Protocol, "http/protobuf", "grpc")
	t.SamplerArg = l.value(envOTelSamplerArg, "")
	if strings.HasSuffix(t.Sampler, "traceidratio") && t.SamplerArg != "" {
		if f, err := strconv.ParseFloat(t.SamplerArg, 64); err != nil || f < 0 || f > 1 {
			l.fail(envOTelSamplerArg, "expected a sampling ratio from 0 to 1, e.g. 0.25")
		}
	}
	return t
}

// otlpEndpoint reads an OTLP endpoint: an absolute http(s) URL (http means
// no TLS, also for grpc).
func (l *loader) otlpEndpoint(name string) string {
	v := l.value(name, "")
	if v == "" {
		return ""
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		l.failWith(name, redactURL(v), "expected an http or https URL, e.g. http://otel-collector:4318", err)
		return ""
	}
	return v
}

// redactURL hides a password in a URL meant for the startup log.
func redactURL(v string) string {
	if u, err := url.Parse(v); err == nil {
		return u.Redacted()
	}
	return v
}

// tracingVariables document the OpenTelemetry variables Load reads.
func tracingVariables() []Variable {
	modes := []Mode{ModeDev, ModeServe, ModeWorker}
	return []Variable{
		{
			Name: envOTLPEndpoint, Modes: modes,
			Description: "Base URL of an OpenTelemetry collector (e.g. `http://otel-collector:4318`, or `:4317` with `grpc`): " +
				"each scan's trace, from the redirect to the webhook POST, is exported there by OTLP. " +
				"Unset, with " + envOTLPTracesEndpoint + " unset too: no tracing at all. " +
				"The SDK's other variables (`OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_BSP_*`, …) apply as documented by OpenTelemetry.",
			effective: func(c Config) string { return redactURL(c.Tracing.Endpoint) },
		},
		{
			Name: envOTLPTracesEndpoint, Modes: modes,
			Description: "Full URL traces are sent to (e.g. `http://otel-collector:4318/v1/traces`), instead of " + envOTLPEndpoint + "'s.",
			effective:   func(c Config) string { return redactURL(c.Tracing.TracesEndpoint) },
		},
		{
			Name: envOTLPProtocol, Default: code(defaultOTLPProtocol), Modes: modes,
			Description: "OTLP transport: `http/protobuf` or `grpc`.",
			effective:   func(c Config) string { return c.Tracing.Protocol },
		},
		{
			Name: envOTLPTracesProtocol, Default: envOTLPProtocol + "'s", Modes: modes,
			Description: "OTLP transport of traces, `http/protobuf` or `grpc`, instead of " + envOTLPProtocol + "'s.",
			effective:   func(c Config) string { return c.Tracing.TracesProtocol },
		},
		{
			Name: envOTelServiceName, Default: code(defaultOTelServiceName), Modes: modes,
			Description: "`service.name` of the spans.",
			effective:   func(c Config) string { return c.Tracing.ServiceName },
		},
		{
			Name: envOTelSampler, Default: code(defaultOTelSampler), Modes: modes,
			Description: "Which traces are kept: " + strings.Join(codes(samplers), ", ") + ". " +
				"The redirect starts each trace, so `parentbased_traceidratio` with " + envOTelSamplerArg + " keeps that share of scans, whole.",
			effective: func(c Config) string { return c.Tracing.Sampler },
		},
		{
			Name: envOTelSamplerArg, Default: "`1` for the ratio samplers", Modes: modes,
			Description: "The ratio of the `traceidratio` samplers, 0–1.",
			effective:   func(c Config) string { return c.Tracing.SamplerArg },
		},
		{
			Name: envOTelSDKDisabled, Default: code(defaultOTelSDKDisabled), Modes: modes,
			Description: "`true` turns tracing off even with an endpoint set.",
			effective:   func(c Config) string { return strconv.FormatBool(c.Tracing.Disabled) },
		},
	}
}

func codes(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = code(n)
	}
	return out
}
