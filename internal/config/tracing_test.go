package config

import (
	"strings"
	"testing"
)

// defaultTracing is the tracing configuration with no OTEL_ variable set:
// off.
var defaultTracing = Tracing{Protocol: "http/protobuf", TracesProtocol: "http/protobuf", ServiceName: "scanforge", Sampler: "parentbased_always_on"}

func TestTracingIsOnlyOnWithAnEndpoint(t *testing.T) {
	for _, tc := range []struct {
		env     map[string]string
		enabled bool
	}{
		{nil, false},
		{map[string]string{envOTelServiceName: "qr"}, false},
		{map[string]string{envOTLPEndpoint: "http://collector:4318"}, true},
		{map[string]string{envOTLPTracesEndpoint: "https://collector.example/v1/traces"}, true},
		{map[string]string{envOTLPEndpoint: "http://collector:4318", envOTelSDKDisabled: "true"}, false},
	} {
		for _, mode := range []Mode{ModeDev, ModeServe, ModeWorker} {
			c, err := Load(mode, envOf(with(baseEnv(mode), flatten(tc.env)...)))
			if err != nil {
				t.Fatalf("%s %v: %v", mode, tc.env, err)
			}
			if c.Tracing.Enabled() != tc.enabled {
				t.Errorf("%s %v: tracing enabled %v, want %v", mode, tc.env, c.Tracing.Enabled(), tc.enabled)
			}
		}
	}
}

func TestTracingProtocolOfTracesFollowsTheGeneralOne(t *testing.T) {
	c, err := Load(ModeWorker, envOf(with(baseEnv(ModeWorker), envOTLPProtocol, "grpc")))
	if err != nil {
		t.Fatal(err)
	}
	if c.Tracing.TracesProtocol != "grpc" {
		t.Errorf("traces protocol %q, want grpc", c.Tracing.TracesProtocol)
	}
	c, err = Load(ModeWorker, envOf(with(baseEnv(ModeWorker), envOTLPProtocol, "grpc", envOTLPTracesProtocol, "http/protobuf")))
	if err != nil {
		t.Fatal(err)
	}
	if c.Tracing.TracesProtocol != "http/protobuf" {
		t.Errorf("traces protocol %q, want http/protobuf", c.Tracing.TracesProtocol)
	}
}

func TestTracingRejectsWhatTheSDKWouldIgnore(t *testing.T) {
	for _, tc := range []struct{ name, value, says string }{
		{envOTLPEndpoint, "collector:4318", "http or https URL"},
		{envOTLPTracesEndpoint, "ftp://collector/v1/traces", "http or https URL"},
		{envOTLPProtocol, "http/json", "http/protobuf or grpc"},
		{envOTelSampler, "sometimes", "parentbased_traceidratio"},
		{envOTelSDKDisabled, "maybe", "true or false"},
	} {
		_, err := Load(ModeServe, envOf(with(baseEnv(ModeServe), tc.name, tc.value)))
		if err == nil || !strings.Contains(err.Error(), tc.name) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s=%q: error %v, want one naming it and saying %q", tc.name, tc.value, err, tc.says)
		}
	}
	_, err := Load(ModeServe, envOf(with(baseEnv(ModeServe), envOTelSampler, "parentbased_traceidratio", envOTelSamplerArg, "1.5")))
	if err == nil || !strings.Contains(err.Error(), envOTelSamplerArg) {
		t.Errorf("a ratio of 1.5: error %v", err)
	}
	// A password in an endpoint never reaches the error (nor the log).
	_, err = Load(ModeServe, envOf(with(baseEnv(ModeServe), envOTLPEndpoint, "gopher://u:hunter2@c:4318")))
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error %v shows the password", err)
	}
}

func flatten(m map[string]string) []string {
	var kv []string
	for k, v := range m {
		kv = append(kv, k, v)
	}
	return kv
}
