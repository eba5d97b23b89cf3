package config

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const testPostgresURL = "postgres://scanforge:hunter2@db:5432/scanforge?sslmode=disable"

// testEncryptionKey is base64 of the 32 bytes 0x00, 0x01, … 0x1f.
const testEncryptionKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

func testKeyBytes() []byte {
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i)
	}
	return key
}

// envOf turns a map into a getenv.
func envOf(m map[string]string) func(string) string {
	return func(name string) string { return m[name] }
}

// baseEnv is the least a mode needs to load.
func baseEnv(mode Mode) map[string]string {
	if mode == ModeDev {
		return map[string]string{}
	}
	return map[string]string{envDatabaseURL: testPostgresURL, envEncryptionKey: testEncryptionKey}
}

func with(m map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// varErrors unpacks Load's joined error.
func varErrors(t *testing.T, err error) []*VarError {
	t.Helper()
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("error %v (%T) is not a joined error", err, err)
	}
	var out []*VarError
	for _, e := range joined.Unwrap() {
		var ve *VarError
		if !errors.As(e, &ve) {
			t.Fatalf("error %v (%T) is not a *VarError", e, e)
		}
		out = append(out, ve)
	}
	return out
}

func TestLoadDefaults(t *testing.T) {
	tests := []struct {
		mode Mode
		want Config
	}{
		{ModeDev, Config{
			Mode:              ModeDev,
			DataDir:           "./.scanforge",
			HTTPAddr:          ":8080",
			PublicURL:         "http://localhost:8080",
			DatabaseURL:       "sqlite:.scanforge/app.db",
			SpoolDir:          ".scanforge/spool",
			TemporalAddress:   "127.0.0.1:7233",
			TemporalNamespace: "default",
			TemporalPort:      7233,
			UIPort:            8233,
			HistoryRetention:  7 * 24 * time.Hour,
			DeliveryTimeout:   15 * time.Second,
			RetryInitial:      10 * time.Second,
			RetryMax:          2 * time.Hour,
			RetryHorizon:      24 * time.Hour,

			ParkFor:            7 * 24 * time.Hour,
			DrainRate:          20,
			BacklogAlert:       1000,
			BacklogCheck:       time.Minute,
			AutoDisableAfter:   5 * 24 * time.Hour,
			AutoDisableGiveUps: 20,

			OutboxConcurrency: 16,
			WorkerPollers:     8,
			LogLevel:          slog.LevelInfo,
			LogFormat:         "text",
			// Dev mode delivers to local receivers.
			AllowPrivateNetworks: true,
			APIRateLimit:         20,
			APIRateBurst:         40,
			Tracing:              defaultTracing,
		}},
		{ModeServe, Config{
			Mode:              ModeServe,
			HTTPAddr:          ":8080",
			PublicURL:         "http://localhost:8080",
			DatabaseURL:       testPostgresURL,
			SpoolDir:          "./.scanforge/spool",
			EncryptionKey:     testKeyBytes(),
			TemporalAddress:   "127.0.0.1:7233",
			TemporalNamespace: "default",
			DeliveryTimeout:   15 * time.Second,
			RetryInitial:      10 * time.Second,
			RetryMax:          2 * time.Hour,
			RetryHorizon:      24 * time.Hour,

			ParkFor:            7 * 24 * time.Hour,
			DrainRate:          20,
			BacklogAlert:       1000,
			BacklogCheck:       time.Minute,
			AutoDisableAfter:   5 * 24 * time.Hour,
			AutoDisableGiveUps: 20,

			OutboxConcurrency: 16,
			OutboxIn:          OutboxInWorker,
			LogLevel:          slog.LevelInfo,
			LogFormat:         "json",
			APIRateLimit:      20,
			APIRateBurst:      40,
			Tracing:           defaultTracing,
		}},
		{ModeWorker, Config{
			Mode:               ModeWorker,
			DatabaseURL:        testPostgresURL,
			EncryptionKey:      testKeyBytes(),
			TemporalAddress:    "127.0.0.1:7233",
			TemporalNamespace:  "default",
			DeliveryTimeout:    15 * time.Second,
			RetryInitial:       10 * time.Second,
			RetryMax:           2 * time.Hour,
			RetryHorizon:       24 * time.Hour,
			ParkFor:            7 * 24 * time.Hour,
			AutoDisableAfter:   5 * 24 * time.Hour,
			AutoDisableGiveUps: 20,
			OutboxConcurrency:  16,
			OutboxIn:           OutboxInWorker,
			WorkerPollers:      8,
			MetricsAddr:        ":9090",
			LogLevel:           slog.LevelInfo,
			LogFormat:          "json",
			Tracing:            defaultTracing,
		}},
		{ModeMigrate, Config{
			Mode:        ModeMigrate,
			DatabaseURL: testPostgresURL,
			LogLevel:    slog.LevelInfo,
			LogFormat:   "json",
		}},
	}
	for _, tt := range tests {
		t.Run(string(tt.mode), func(t *testing.T) {
			got, err := Load(tt.mode, envOf(baseEnv(tt.mode)))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateComparable(netip.Prefix{})); diff != "" {
				t.Errorf("Load(%s) (-want +got):\n%s", tt.mode, diff)
			}
		})
	}
}

func TestLoadGoodValues(t *testing.T) {
	geoFile := filepath.Join(t.TempDir(), "GeoLite2-City.mmdb")
	if err := os.WriteFile(geoFile, []byte("not parsed here"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		mode  Mode
		env   []string // name, value pairs
		field func(Config) any
		want  any
	}{
		{ModeDev, []string{envDataDir, "/var/lib/scanforge"}, func(c Config) any { return c.DataDir }, "/var/lib/scanforge"},
		{ModeDev, []string{envDataDir, "/var/lib/scanforge"}, func(c Config) any { return c.DatabaseURL }, "sqlite:/var/lib/scanforge/app.db"},
		{ModeDev, []string{envHTTPAddr, "  0.0.0.0:9000\n"}, func(c Config) any { return c.HTTPAddr }, "0.0.0.0:9000"},
		{ModeServe, []string{envHTTPAddr, "[::1]:8081"}, func(c Config) any { return c.PublicURL }, "http://localhost:8081"},
		{ModeServe, []string{envPublicURL, "https://scan.example.com/"}, func(c Config) any { return c.PublicURL }, "https://scan.example.com"},
		{ModeServe, []string{envPublicURL, "http://example.com:8000/sf//"}, func(c Config) any { return c.PublicURL }, "http://example.com:8000/sf"},
		{ModeDev, []string{envDatabaseURL, testPostgresURL}, func(c Config) any { return c.DatabaseURL }, testPostgresURL},
		{ModeServe, []string{envDatabaseURL, "postgresql://u@db/sf"}, func(c Config) any { return c.DatabaseURL }, "postgresql://u@db/sf"},
		{ModeWorker, []string{envDatabaseURL, "postgres:///sf?host=/run/postgresql"}, func(c Config) any { return c.DatabaseURL }, "postgres:///sf?host=/run/postgresql"},
		{ModeMigrate, []string{envDatabaseURL, "sqlite:/data/app.db"}, func(c Config) any { return c.DatabaseURL }, "sqlite:/data/app.db"},
		{ModeServe, []string{envTemporalAddress, "temporal:7233"}, func(c Config) any { return c.TemporalAddress }, "temporal:7233"},
		{ModeWorker, []string{envTemporalNamespace, "scan-forge_prod.1"}, func(c Config) any { return c.TemporalNamespace }, "scan-forge_prod.1"},
		{ModeDev, []string{envTemporalNamespace, strings.Repeat("n", 1000)}, func(c Config) any { return len(c.TemporalNamespace) }, 1000},
		{ModeDev, []string{envTemporalPort, "17233"}, func(c Config) any { return c.TemporalPort }, 17233},
		{ModeDev, []string{envTemporalPort, "17233"}, func(c Config) any { return c.TemporalAddress }, "127.0.0.1:17233"},
		{ModeDev, []string{envUIPort, "0"}, func(c Config) any { return c.UIPort }, 0},
		{ModeDev, []string{envUIPort, "65535"}, func(c Config) any { return c.UIPort }, 65535},
		{ModeDev, []string{envHistoryRetention, "30d"}, func(c Config) any { return c.HistoryRetention }, 30 * 24 * time.Hour},
		{ModeDev, []string{envHistoryRetention, "168h"}, func(c Config) any { return c.HistoryRetention }, 168 * time.Hour},
		{ModeDev, []string{envHistoryRetention, "1h"}, func(c Config) any { return c.HistoryRetention }, time.Hour},
		{ModeServe, []string{envGeoIPDatabase, geoFile}, func(c Config) any { return c.GeoIPDatabase }, geoFile},
		{ModeServe, []string{envTrustedProxies, "10.0.0.0/8, 127.0.0.1,::1"}, func(c Config) any { return c.TrustedProxies },
			[]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")}},
		{ModeWorker, []string{envDeliveryTimeout, "1s"}, func(c Config) any { return c.DeliveryTimeout }, time.Second},
		{ModeServe, []string{envDeliveryTimeout, "5m"}, func(c Config) any { return c.DeliveryTimeout }, 5 * time.Minute},
		{ModeServe, []string{envRetryInitial, "1s"}, func(c Config) any { return c.RetryInitial }, time.Second},
		{ModeServe, []string{envRetryInitial, "2h", envRetryMax, "2h"}, func(c Config) any { return c.RetryMax }, 2 * time.Hour},
		{ModeServe, []string{envRetryHorizon, "7d"}, func(c Config) any { return c.RetryHorizon }, 7 * 24 * time.Hour},
		{ModeServe, []string{envOutboxConcurrency, "1"}, func(c Config) any { return c.OutboxConcurrency }, 1},
		{ModeDev, []string{envOutboxConcurrency, "256"}, func(c Config) any { return c.OutboxConcurrency }, 256},
		{ModeWorker, []string{envWorkerPollers, "64"}, func(c Config) any { return c.WorkerPollers }, 64},
		{ModeWorker, []string{envMetricsAddr, "127.0.0.1:9191"}, func(c Config) any { return c.MetricsAddr }, "127.0.0.1:9191"},
		{ModeMigrate, []string{envLogLevel, "DEBUG"}, func(c Config) any { return c.LogLevel }, slog.LevelDebug},
		{ModeWorker, []string{envLogLevel, "warn"}, func(c Config) any { return c.LogLevel }, slog.LevelWarn},
		{ModeServe, []string{envLogLevel, "error"}, func(c Config) any { return c.LogLevel }, slog.LevelError},
		{ModeDev, []string{envLogFormat, "json"}, func(c Config) any { return c.LogFormat }, "json"},
		{ModeDev, []string{envEncryptionKey, testEncryptionKey}, func(c Config) any { return c.EncryptionKey }, testKeyBytes()},
		{ModeWorker, []string{envEncryptionKey, " AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n"}, func(c Config) any { return c.EncryptionKey }, testKeyBytes()},
		{ModeServe, []string{envAdminToken, strings.Repeat("t", 32)}, func(c Config) any { return c.AdminToken }, strings.Repeat("t", 32)},
		{ModeDev, []string{envAdminToken, " " + strings.Repeat("t", 40)}, func(c Config) any { return c.AdminToken }, strings.Repeat("t", 40)},
		{ModeServe, []string{envLogFormat, "Text"}, func(c Config) any { return c.LogFormat }, "text"},
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

func TestLoadBadValues(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.mmdb")
	tests := []struct {
		mode Mode
		env  []string
		name string // the variable the error is about
		want string // the whole message
	}{
		{ModeServe, []string{envHTTPAddr, "8080"}, envHTTPAddr,
			`SCANFORGE_HTTP_ADDR="8080": not host:port (e.g. :8080 or 0.0.0.0:8080)`},
		{ModeDev, []string{envHTTPAddr, ":http"}, envHTTPAddr,
			`SCANFORGE_HTTP_ADDR=":http": the port must be a number between 1 and 65535 (e.g. :8080 or 0.0.0.0:8080)`},
		{ModeServe, []string{envHTTPAddr, ":70000"}, envHTTPAddr,
			`SCANFORGE_HTTP_ADDR=":70000": the port must be a number between 1 and 65535 (e.g. :8080 or 0.0.0.0:8080)`},
		{ModeServe, []string{envPublicURL, "scan.example.com"}, envPublicURL,
			`SCANFORGE_PUBLIC_URL="scan.example.com": not an absolute http(s) URL; expected an absolute http(s) URL such as https://scan.example.com`},
		{ModeServe, []string{envPublicURL, "ftp://scan.example.com"}, envPublicURL,
			`SCANFORGE_PUBLIC_URL="ftp://scan.example.com": not an absolute http(s) URL; expected an absolute http(s) URL such as https://scan.example.com`},
		{ModeDev, []string{envPublicURL, "https://scan.example.com/?x=1"}, envPublicURL,
			`SCANFORGE_PUBLIC_URL="https://scan.example.com/?x=1": must not have a query; expected an absolute http(s) URL such as https://scan.example.com`},
		{ModeDev, []string{envPublicURL, "https://scan.example.com/#top"}, envPublicURL,
			`SCANFORGE_PUBLIC_URL="https://scan.example.com/#top": must not have a fragment; expected an absolute http(s) URL such as https://scan.example.com`},
		{ModeDev, []string{envPublicURL, "https://me@scan.example.com"}, envPublicURL,
			`SCANFORGE_PUBLIC_URL="https://me@scan.example.com": must not contain a user name or password; expected an absolute http(s) URL such as https://scan.example.com`},
		{ModeServe, []string{envDatabaseURL, "  "}, envDatabaseURL,
			`DATABASE_URL is required for "serve" (e.g. postgres://user:pass@host:5432/scanforge?sslmode=disable)`},
		{ModeWorker, []string{envDatabaseURL, ""}, envDatabaseURL,
			`DATABASE_URL is required for "worker" (e.g. postgres://user:pass@host:5432/scanforge?sslmode=disable)`},
		{ModeMigrate, []string{envDatabaseURL, ""}, envDatabaseURL,
			`DATABASE_URL is required for "migrate" (e.g. postgres://user:pass@host:5432/scanforge?sslmode=disable)`},
		{ModeServe, []string{envDatabaseURL, "mysql://root:hunter2@db/sf"}, envDatabaseURL,
			`DATABASE_URL="mysql://root:xxxxx@db/sf": unsupported database URL; expected postgres://… or postgresql://… (e.g. postgres://user:pass@host:5432/scanforge?sslmode=disable), or sqlite:PATH for a single node`},
		{ModeServe, []string{envDatabaseURL, "postgres://u:hunter2@db:port/sf"}, envDatabaseURL,
			`DATABASE_URL="postgres://u:xxxxx@db:port/sf": not a valid URL; percent-encode special characters in the user name, password and parameters (e.g. postgres://user:pass@host:5432/scanforge?sslmode=disable)`},
		{ModeDev, []string{envDatabaseURL, "sqlite:"}, envDatabaseURL,
			`DATABASE_URL="sqlite:": the SQLite file path is missing (e.g. sqlite:./.scanforge/app.db)`},
		{ModeServe, []string{envTemporalAddress, ":7233"}, envTemporalAddress,
			`TEMPORAL_ADDRESS=":7233": the host is missing (e.g. 127.0.0.1:7233 or temporal:7233)`},
		{ModeWorker, []string{envTemporalAddress, "temporal"}, envTemporalAddress,
			`TEMPORAL_ADDRESS="temporal": not host:port (e.g. 127.0.0.1:7233 or temporal:7233)`},
		{ModeWorker, []string{envTemporalNamespace, "my namespace"}, envTemporalNamespace,
			`TEMPORAL_NAMESPACE="my namespace": must be 1–1000 characters of letters, digits, '.', '_' and '-' (e.g. default)`},
		{ModeDev, []string{envTemporalNamespace, strings.Repeat("n", 1001)}, envTemporalNamespace,
			`TEMPORAL_NAMESPACE="` + strings.Repeat("n", 1001) + `": must be 1–1000 characters of letters, digits, '.', '_' and '-' (e.g. default)`},
		{ModeDev, []string{envTemporalPort, "0"}, envTemporalPort,
			`SCANFORGE_TEMPORAL_PORT="0": must be between 1 and 65535`},
		{ModeDev, []string{envTemporalPort, "seven"}, envTemporalPort,
			`SCANFORGE_TEMPORAL_PORT="seven": not a whole number (expected 1–65535)`},
		{ModeDev, []string{envUIPort, "-1"}, envUIPort,
			`SCANFORGE_UI_PORT="-1": must be between 0 and 65535 (0 disables the UI)`},
		{ModeDev, []string{envUIPort, "7233"}, envUIPort,
			`SCANFORGE_UI_PORT and SCANFORGE_TEMPORAL_PORT are both 7233; each needs its own port (UI port 0 disables the UI)`},
		{ModeDev, []string{envHTTPAddr, ":8233"}, envUIPort,
			`SCANFORGE_UI_PORT and the port of SCANFORGE_HTTP_ADDR are both 8233; each needs its own port (UI port 0 disables the UI)`},
		{ModeDev, []string{envTemporalPort, "8080"}, envTemporalPort,
			`SCANFORGE_TEMPORAL_PORT and the port of SCANFORGE_HTTP_ADDR are both 8080; each needs its own port`},
		{ModeDev, []string{envHistoryRetention, "30m"}, envHistoryRetention,
			`SCANFORGE_HISTORY_RETENTION="30m": must be at least 1h`},
		{ModeDev, []string{envHistoryRetention, "a week"}, envHistoryRetention,
			`SCANFORGE_HISTORY_RETENTION="a week": not a duration (examples: 15s, 1m, 2h, 7d)`},
		{ModeDev, []string{envHistoryRetention, "1.5d"}, envHistoryRetention,
			`SCANFORGE_HISTORY_RETENTION="1.5d": not a duration (examples: 15s, 1m, 2h, 7d)`},
		{ModeDev, []string{envHistoryRetention, "999999999d"}, envHistoryRetention,
			`SCANFORGE_HISTORY_RETENTION="999999999d": not a duration (examples: 15s, 1m, 2h, 7d)`},
		{ModeServe, []string{envGeoIPDatabase, missing}, envGeoIPDatabase,
			`SCANFORGE_GEOIP_DB="` + missing + `": no such file (expected a GeoIP2 or GeoLite2 City .mmdb file)`},
		{ModeDev, []string{envGeoIPDatabase, dir}, envGeoIPDatabase,
			`SCANFORGE_GEOIP_DB="` + dir + `": is a directory (expected a GeoIP2 or GeoLite2 City .mmdb file)`},
		{ModeServe, []string{envTrustedProxies, "10.0.0.0/8, unknown"}, envTrustedProxies,
			`SCANFORGE_TRUSTED_PROXIES="10.0.0.0/8, unknown": clientip: invalid trusted proxy entry "unknown": ParseAddr("unknown"): unable to parse IP; expected comma-separated IP addresses or CIDR prefixes (e.g. 10.0.0.0/8,127.0.0.1)`},
		{ModeServe, []string{envDeliveryTimeout, "abc"}, envDeliveryTimeout,
			`SCANFORGE_DELIVERY_TIMEOUT="abc": not a duration (examples: 15s, 1m, 2h, 7d)`},
		{ModeWorker, []string{envDeliveryTimeout, "500ms"}, envDeliveryTimeout,
			`SCANFORGE_DELIVERY_TIMEOUT="500ms": must be between 1s and 5m`},
		{ModeDev, []string{envDeliveryTimeout, "301s"}, envDeliveryTimeout,
			`SCANFORGE_DELIVERY_TIMEOUT="301s": must be between 1s and 5m`},
		{ModeServe, []string{envRetryInitial, "0s"}, envRetryInitial,
			`SCANFORGE_RETRY_INITIAL="0s": must be positive`},
		{ModeServe, []string{envRetryInitial, "-10s"}, envRetryInitial,
			`SCANFORGE_RETRY_INITIAL="-10s": must be positive`},
		{ModeServe, []string{envRetryMax, "5s"}, envRetryMax,
			`SCANFORGE_RETRY_MAX="5s": must be at least SCANFORGE_RETRY_INITIAL (10s)`},
		{ModeServe, []string{envRetryInitial, "3h"}, envRetryMax,
			`SCANFORGE_RETRY_MAX (default 2h) must be at least SCANFORGE_RETRY_INITIAL (3h)`},
		{ModeDev, []string{envRetryHorizon, "5s"}, envRetryHorizon,
			`SCANFORGE_RETRY_HORIZON="5s": must be at least SCANFORGE_RETRY_INITIAL (10s)`},
		{ModeDev, []string{envRetryHorizon, "forever"}, envRetryHorizon,
			`SCANFORGE_RETRY_HORIZON="forever": not a duration (examples: 15s, 1m, 2h, 7d)`},
		{ModeServe, []string{envOutboxConcurrency, "0"}, envOutboxConcurrency,
			`SCANFORGE_OUTBOX_CONCURRENCY="0": must be between 1 and 256`},
		{ModeServe, []string{envOutboxConcurrency, "2.5"}, envOutboxConcurrency,
			`SCANFORGE_OUTBOX_CONCURRENCY="2.5": not a whole number (expected 1–256)`},
		{ModeWorker, []string{envWorkerPollers, "65"}, envWorkerPollers,
			`SCANFORGE_WORKER_POLLERS="65": must be between 1 and 64`},
		{ModeMigrate, []string{envLogLevel, "verbose"}, envLogLevel,
			`SCANFORGE_LOG_LEVEL="verbose": expected debug, info, warn or error`},
		{ModeMigrate, []string{envLogFormat, "logfmt"}, envLogFormat,
			`SCANFORGE_LOG_FORMAT="logfmt": expected text or json`},
		{ModeServe, []string{envEncryptionKey, ""}, envEncryptionKey,
			"SCANFORGE_ENCRYPTION_KEY is required: it encrypts endpoint secrets at rest; expected base64 of 32 random bytes, e.g. from `openssl rand -base64 32`"},
		{ModeWorker, []string{envEncryptionKey, "not-a-key!"}, envEncryptionKey,
			"SCANFORGE_ENCRYPTION_KEY is not a valid key (key is not base64); expected base64 of 32 random bytes, e.g. from `openssl rand -base64 32`"},
		{ModeDev, []string{envEncryptionKey, "c2hvcnQta2V5"}, envEncryptionKey,
			"SCANFORGE_ENCRYPTION_KEY is not a valid key (key decodes to 9 bytes, want 32); expected base64 of 32 random bytes, e.g. from `openssl rand -base64 32`"},
		{ModeServe, []string{envAdminToken, "letmein"}, envAdminToken,
			"SCANFORGE_ADMIN_TOKEN is too short: use at least 32 random characters (e.g. `openssl rand -hex 32`)"},
	}
	for _, tt := range tests {
		t.Run(string(tt.mode)+"/"+strings.Join(tt.env, "="), func(t *testing.T) {
			c, err := Load(tt.mode, envOf(with(baseEnv(tt.mode), tt.env...)))
			if err == nil {
				t.Fatalf("Load succeeded: %+v", c)
			}
			if !reflect.DeepEqual(c, Config{}) {
				t.Errorf("Load returned a config with its error: %+v", c)
			}
			errs := varErrors(t, err)
			if len(errs) != 1 {
				t.Fatalf("got %d errors, want 1:\n%v", len(errs), err)
			}
			if errs[0].Name != tt.name {
				t.Errorf("error is about %s, want %s", errs[0].Name, tt.name)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("message\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

// The spool directory must be a writable directory or one that can be
// created; checking it leaves nothing behind.
func TestLoadSpoolDir(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		value, want string // want: the message, "" when valid
	}{
		{dir, ""},
		{filepath.Join(dir, "a", "b", "spool"), ""},
		{file, `SCANFORGE_SPOOL_DIR="` + file + `": is not a directory`},
		{filepath.Join(file, "spool"), `SCANFORGE_SPOOL_DIR="` + filepath.Join(file, "spool") + `": cannot be created: ` + file + ` is not a directory`},
	} {
		for _, mode := range []Mode{ModeDev, ModeServe} {
			c, err := Load(mode, envOf(with(baseEnv(mode), envSpoolDir, tt.value)))
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("%s %s: %v", mode, tt.value, err)
			case tt.want == "" && c.SpoolDir != tt.value:
				t.Errorf("%s: SpoolDir = %q, want %q", mode, c.SpoolDir, tt.value)
			case tt.want != "" && (err == nil || err.Error() != tt.want):
				t.Errorf("%s %s: error %v, want %s", mode, tt.value, err, tt.want)
			}
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("checking left %d entries in the parent directory, want only the file", len(entries))
	}
	if os.Geteuid() != 0 { // root writes anywhere
		readOnly := filepath.Join(dir, "ro")
		if err := os.Mkdir(readOnly, 0o500); err != nil {
			t.Fatal(err)
		}
		_, err := Load(ModeServe, envOf(with(baseEnv(ModeServe), envSpoolDir, filepath.Join(readOnly, "spool"))))
		if want := `SCANFORGE_SPOOL_DIR="` + filepath.Join(readOnly, "spool") + `": cannot be created: ` + readOnly + ` is not writable by this process`; err == nil || err.Error() != want {
			t.Errorf("read-only parent: %v, want %s", err, want)
		}
	}
}

func TestLoadReportsEveryProblem(t *testing.T) {
	env := map[string]string{
		envEncryptionKey:   testEncryptionKey,
		envDatabaseURL:     "mysql://root:hunter2@db/sf",
		envHTTPAddr:        "8080",
		envDeliveryTimeout: "abc",
		envWorkerPollers:   "0",
		envLogLevel:        "loud",
		envUIPort:          "not read in serve mode",
	}
	_, err := Load(ModeServe, envOf(env))
	if err == nil {
		t.Fatal("Load succeeded")
	}
	var names []string
	for _, e := range varErrors(t, err) {
		names = append(names, e.Name)
	}
	// SCANFORGE_WORKER_POLLERS and SCANFORGE_UI_PORT are not serve's business.
	want := []string{envHTTPAddr, envDatabaseURL, envDeliveryTimeout, envLogLevel}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("errors about %v, want %v\n%v", names, want, err)
	}
	if lines := strings.Split(err.Error(), "\n"); len(lines) != len(want) {
		t.Errorf("message has %d lines, want one per variable:\n%v", len(lines), err)
	}
}

func TestLoadUnknownMode(t *testing.T) {
	for _, mode := range []Mode{"", "server", "DEV"} {
		_, err := Load(mode, envOf(nil))
		want := `unknown mode "` + string(mode) + `" (expected dev, serve, worker or migrate)`
		if err == nil || err.Error() != want {
			t.Errorf("Load(%q) error = %v, want %s", mode, err, want)
		}
	}
}

func TestDatabasePasswordNeverInErrors(t *testing.T) {
	for _, url := range []string{
		"mysql://root:hunter2@db/sf",
		"postgres://u:hunter2@db:port/sf",
		"postgres://u:hunter2%zz@db/sf",
		"postgres://u:hunter2/x@db/sf?sslmode=disable",
		"postgres://u:p@ss:hunter2@db/sf%",
		"postgres://db/sf?sslmode=disable&password=hunter2%",
		"host=db user=u password=hunter2 dbname=sf",
		"host=db password='hunter2 x' dbname=sf",
		"mysql:root:hunter2@tcp(db)/sf",
		"u:hunter2@db/sf",
	} {
		_, err := Load(ModeServe, envOf(map[string]string{envDatabaseURL: url}))
		if err == nil {
			t.Errorf("Load accepted DATABASE_URL %q", url)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error leaks the password: %v", err)
		}
	}
}

func TestRedactDatabaseURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{testPostgresURL, "postgres://scanforge:xxxxx@db:5432/scanforge?sslmode=disable"},
		{"postgres://scanforge@db/sf", "postgres://scanforge@db/sf"},
		{"postgres://db/sf?sslmode=disable&password=hunter2", "postgres://db/sf?sslmode=disable&password=xxxxx"},
		{"postgres://db/sf?PassWord=hunter2&sslpassword=x", "postgres://db/sf?PassWord=xxxxx&sslpassword=xxxxx"},
		{"host=db password='hunter 2' dbname=sf", "host=db password=xxxxx dbname=sf"},
		{"postgres://u:hunter2@db:port/sf", "postgres://u:xxxxx@db:port/sf"},
		{"mysql:root:hunter2@tcp(db)/sf", "mysql:xxxxx@tcp(db)/sf"},
		{"sqlite:/data/app.db", "sqlite:/data/app.db"},
		{"sqlite:./a:b@c.db", "sqlite:./a:b@c.db"},
	}
	for _, tt := range tests {
		if got := RedactDatabaseURL(tt.in); got != tt.want {
			t.Errorf("RedactDatabaseURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRedacted(t *testing.T) {
	env := with(baseEnv(ModeServe), envTrustedProxies, "10.0.0.0/8,::1", envRetryHorizon, "36h")
	c, err := Load(ModeServe, envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	got := c.Redacted()
	want := map[string]string{
		"mode":                   "serve",
		envHTTPAddr:              ":8080",
		envPublicURL:             "http://localhost:8080",
		envDatabaseURL:           "postgres://scanforge:xxxxx@db:5432/scanforge?sslmode=disable",
		envEncryptionKey:         "xxxxx",
		envAdminToken:            "",
		envTemporalAddress:       "127.0.0.1:7233",
		envTemporalNamespace:     "default",
		envTemporalTLS:           "false",
		envTemporalTLSCA:         "",
		envTemporalTLSServerName: "",
		envTemporalTLSCert:       "",
		envTemporalTLSKey:        "",
		envTemporalAPIKey:        "",
		envGeoIPDatabase:         "",
		envSpoolDir:              "./.scanforge/spool",
		envTrustedProxies:        "10.0.0.0/8,::1/128",
		envDeliveryTimeout:       "15s",
		envRetryInitial:          "10s",
		envRetryMax:              "2h",
		envRetryHorizon:          "36h",
		envParkFor:               "7d",
		envDrainRate:             "20",
		envBacklogAlert:          "1000",
		envBacklogCheck:          "1m",
		envAutoDisableAfter:      "5d",
		envAutoDisableGiveUps:    "20",
		envOutboxConcurrency:     "16",
		envOutboxIn:              "worker",
		envAllowPrivate:          "false",
		envAllowNetworks:         "",
		envAPIRateLimit:          "20",
		envAPIRateBurst:          "40",
		envLogLevel:              "info",
		envLogFormat:             "json",
		envOTLPEndpoint:          "",
		envOTLPTracesEndpoint:    "",
		envOTLPProtocol:          "http/protobuf",
		envOTLPTracesProtocol:    "http/protobuf",
		envOTelServiceName:       "scanforge",
		envOTelSampler:           "parentbased_always_on",
		envOTelSamplerArg:        "",
		envOTelSDKDisabled:       "false",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Redacted()\n got %v\nwant %v", got, want)
	}

	dev, err := Load(ModeDev, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if r := dev.Redacted(); r[envHistoryRetention] != "7d" || r[envUIPort] != "8233" || r[envDatabaseURL] != "sqlite:.scanforge/app.db" {
		t.Errorf("dev Redacted() = %v", r)
	}
}

func TestLogValueMasksPassword(t *testing.T) {
	c, err := Load(ModeWorker, envOf(baseEnv(ModeWorker)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("starting", "config", c)
	out := buf.String()
	if strings.Contains(out, "hunter2") {
		t.Errorf("log leaks the password: %s", out)
	}
	for _, want := range []string{"config.mode=worker", `config.DATABASE_URL="postgres://scanforge:xxxxx@db:5432/`, "config.SCANFORGE_WORKER_POLLERS=8"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q: %s", want, out)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	tests := map[time.Duration]string{
		15 * time.Second:              "15s",
		5 * time.Minute:               "5m",
		2 * time.Hour:                 "2h",
		90 * time.Minute:              "1h30m",
		time.Hour + time.Second:       "1h0m1s",
		7 * 24 * time.Hour:            "7d",
		36 * time.Hour:                "36h",
		1500 * time.Millisecond:       "1.5s",
		0:                             "0s",
		24*time.Hour + 30*time.Minute: "24h30m",
	}
	for d, want := range tests {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
		if back, ok := parseDuration(want); !ok || back != d {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", want, back, ok, d)
		}
	}
}

func TestModesAreKnown(t *testing.T) {
	for _, v := range Variables() {
		if len(v.Modes) == 0 {
			t.Errorf("%s has no mode", v.Name)
		}
		for _, m := range v.Modes {
			if !slices.Contains(Modes(), m) {
				t.Errorf("%s lists unknown mode %q", v.Name, m)
			}
		}
	}
}

// TestSecretsNeverShown: neither the encryption key nor the admin token
// appears in an error, in Redacted or in the startup log.
func TestSecretsNeverShown(t *testing.T) {
	adminToken := strings.Repeat("s3cr3t", 8)
	c, err := Load(ModeServe, envOf(with(baseEnv(ModeServe), envAdminToken, adminToken)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("starting", "config", c)
	shown := buf.String() + fmt.Sprint(c.Redacted())
	for _, secret := range []string{testEncryptionKey, strings.TrimRight(testEncryptionKey, "="), adminToken} {
		if strings.Contains(shown, secret) {
			t.Errorf("%q shown: %s", secret, shown)
		}
	}
	if r := c.Redacted(); r[envEncryptionKey] != "xxxxx" || r[envAdminToken] != "xxxxx" {
		t.Errorf("Redacted does not say the secrets are set: %v", r)
	}

	for _, bad := range [][2]string{
		{envEncryptionKey, "hunter2-is-not-a-key"},
		{envEncryptionKey, "aHVudGVyMi1pcy10b28tc2hvcnQ="},
		{envAdminToken, "hunter2-too-short"},
	} {
		_, err := Load(ModeServe, envOf(with(baseEnv(ModeServe), bad[0], bad[1])))
		if err == nil {
			t.Errorf("Load accepted %v", bad)
			continue
		}
		if strings.Contains(err.Error(), bad[1]) || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error shows the value: %v", err)
		}
	}
}
