package config

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

func TestLoadEgressAndRateLimit(t *testing.T) {
	tests := []struct {
		mode  Mode
		env   []string
		field func(Config) any
		want  any
	}{
		{ModeDev, nil, func(c Config) any { return c.AllowPrivateNetworks }, true},
		{ModeServe, nil, func(c Config) any { return c.AllowPrivateNetworks }, false},
		{ModeWorker, nil, func(c Config) any { return c.AllowPrivateNetworks }, false},
		{ModeWorker, []string{envAllowPrivate, "true"}, func(c Config) any { return c.AllowPrivateNetworks }, true},
		{ModeServe, []string{envAllowPrivate, "TRUE"}, func(c Config) any { return c.AllowPrivateNetworks }, true},
		{ModeServe, []string{envAllowPrivate, "0"}, func(c Config) any { return c.AllowPrivateNetworks }, false},
		{ModeWorker, []string{envAllowNetworks, "10.20.0.0/16, 169.254.169.254,fd00:1::/64"}, func(c Config) any { return c.AllowNetworks },
			[]netip.Prefix{netip.MustParsePrefix("10.20.0.0/16"), netip.MustParsePrefix("169.254.169.254/32"), netip.MustParsePrefix("fd00:1::/64")}},
		{ModeDev, []string{envAllowNetworks, "192.168.7.0/24"}, func(c Config) any { return c.AllowNetworks },
			[]netip.Prefix{netip.MustParsePrefix("192.168.7.0/24")}},
		{ModeServe, nil, func(c Config) any { return []int{c.APIRateLimit, c.APIRateBurst} }, []int{20, 40}},
		{ModeDev, []string{envAPIRateLimit, "0"}, func(c Config) any { return c.APIRateLimit }, 0},
		{ModeServe, []string{envAPIRateLimit, "500", envAPIRateBurst, "1000"}, func(c Config) any { return []int{c.APIRateLimit, c.APIRateBurst} }, []int{500, 1000}},
	}
	for _, tt := range tests {
		t.Run(string(tt.mode)+"/"+strings.Join(tt.env, "="), func(t *testing.T) {
			c, err := Load(tt.mode, envOf(with(baseEnv(tt.mode), tt.env...)))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if got := tt.field(c); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLoadEgressAndRateLimitBadValues(t *testing.T) {
	tests := []struct {
		mode Mode
		env  []string
		want string
	}{
		{ModeServe, []string{envAllowPrivate, "yes"}, `SCANFORGE_ALLOW_PRIVATE_NETWORKS="yes": expected true or false`},
		{ModeWorker, []string{envAllowNetworks, "10.0.0.0/33"},
			`SCANFORGE_ALLOW_NETWORKS="10.0.0.0/33": `},
		{ModeServe, []string{envAPIRateLimit, "-1"}, `SCANFORGE_API_RATE_LIMIT="-1": must be between 0 and 100000 (0 turns the limit off)`},
		{ModeDev, []string{envAPIRateLimit, "fast"}, `SCANFORGE_API_RATE_LIMIT="fast": not a whole number (expected 0–100000)`},
		{ModeServe, []string{envAPIRateBurst, "0"}, `SCANFORGE_API_RATE_BURST="0": must be between 1 and 100000`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.env, "="), func(t *testing.T) {
			_, err := Load(tt.mode, envOf(with(baseEnv(tt.mode), tt.env...)))
			if err == nil {
				t.Fatal("Load succeeded")
			}
			errs := varErrors(t, err)
			if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), tt.want) {
				t.Errorf("errors %v, want one starting %q", errs, tt.want)
			}
		})
	}
}
