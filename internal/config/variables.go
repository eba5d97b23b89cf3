package config

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Variable documents one environment variable. Default and Description are
// Markdown; Default is "" when the variable has none.
type Variable struct {
	Name        string
	Default     string
	Modes       []Mode
	Description string

	// effective prints the setting as it is in effect in a Config, for
	// Redacted; secrets masked.
	effective func(Config) string
}

func (v Variable) usedIn(m Mode) bool { return slices.Contains(v.Modes, m) }

// Variables returns the table of every variable Load reads, in the order the
// documentation lists them. A test keeps it in step with Load.
func Variables() []Variable {
	all := Modes()
	dev := []Mode{ModeDev}
	devServe := []Mode{ModeDev, ModeServe}
	temporalModes := []Mode{ModeDev, ModeServe, ModeWorker}
	serveWorker := []Mode{ModeServe, ModeWorker}
	vars := []Variable{
		{
			Name: envDataDir, Default: code(defaultDataDir), Modes: dev,
			Description: "Directory of the dev-mode SQLite databases (`app.db`, `temporal.db`).",
			effective:   func(c Config) string { return c.DataDir },
		},
		{
			Name: envHTTPAddr, Default: code(defaultHTTPAddr), Modes: devServe,
			Description: "`host:port` the HTTP server (API and redirects) listens on; an empty host means every interface.",
			effective:   func(c Config) string { return c.HTTPAddr },
		},
		{
			Name: envPublicURL, Default: "`http://localhost:PORT`, PORT from " + envHTTPAddr, Modes: devServe,
			Description: "Absolute http(s) URL scanners reach ScanForge at; QR codes and short links are built on it. " +
				"A trailing slash is dropped; no query.",
			effective: func(c Config) string { return c.PublicURL },
		},
		{
			Name: envDatabaseURL, Default: "dev: `sqlite:<" + envDataDir + ">/app.db`; required otherwise", Modes: all,
			Description: "App database: `" + exampleDatabaseURL + "` (or `postgresql://…`), " +
				"or `sqlite:PATH` for a single node.",
			effective: func(c Config) string { return RedactDatabaseURL(c.DatabaseURL) },
		},
		{
			Name: envSpoolDir, Default: "dev: `<" + envDataDir + ">/spool`; serve: " + code(defaultServeSpoolDir), Modes: devServe,
			Description: "Directory on local disk where a replica keeps the scans it recorded while the app database was unavailable, " +
				"until it has moved them into the database. Created if missing; must be writable, and of this process alone. " +
				"Keep it on a persistent volume: scans not yet moved are lost with it.",
			effective: func(c Config) string { return c.SpoolDir },
		},
		{
			Name: envEncryptionKey, Default: "dev: generated into `<" + envDataDir + ">/encryption-key`; required otherwise", Modes: temporalModes,
			Description: "Base64 of 32 random bytes (`openssl rand -base64 32`): the AES-256-GCM key endpoint secrets are encrypted with " +
				"in the database. Keep it with your database backups: without it the secrets cannot be read.",
			effective: func(c Config) string { return maskUnlessEmpty(len(c.EncryptionKey) > 0) },
		},
		{
			Name: envAdminToken, Modes: devServe,
			Description: "Bearer token of the admin API (`POST /api/v1/admin/workspaces`), at least " +
				strconv.Itoa(minAdminTokenLength) + " characters. Unset: the admin API answers 404.",
			effective: func(c Config) string { return maskUnlessEmpty(c.AdminToken != "") },
		},
		{
			Name: envTemporalAddress, Default: code(defaultTemporalAddress), Modes: []Mode{ModeServe, ModeWorker},
			Description: "`host:port` of the Temporal frontend. Dev mode uses its embedded server instead (see " + envTemporalPort + ").",
			effective:   func(c Config) string { return c.TemporalAddress },
		},
		{
			Name: envTemporalNamespace, Default: code(defaultTemporalNamespace), Modes: temporalModes,
			Description: "Temporal namespace: 1–1000 letters, digits, `.`, `_` or `-`. Dev mode creates it on the embedded server.",
			effective:   func(c Config) string { return c.TemporalNamespace },
		},
		{
			Name: envTemporalTLS, Default: "`false`; `true` when any other `TEMPORAL_TLS_*` or " + envTemporalAPIKey + " is set", Modes: serveWorker,
			Description: "`true` connects to Temporal over TLS, verifying the server's certificate against the system's CAs " +
				"(or " + envTemporalTLSCA + "). `false` with another TLS variable or an API key set is an error. " +
				"Dev mode's embedded server is always plain.",
			effective: func(c Config) string { return strconv.FormatBool(c.TemporalTLS.Enabled) },
		},
		{
			Name: envTemporalTLSCA, Modes: serveWorker,
			Description: "PEM file of the CA certificates to trust for the Temporal server instead of the system's (self-hosted clusters). Implies TLS.",
			effective:   func(c Config) string { return c.TemporalTLS.CAFile },
		},
		{
			Name: envTemporalTLSServerName, Default: "the host of " + envTemporalAddress, Modes: serveWorker,
			Description: "Name to expect in the Temporal server's certificate (and send as SNI), when it differs from the host dialled. Implies TLS.",
			effective:   func(c Config) string { return c.TemporalTLS.ServerName },
		},
		{
			Name: envTemporalTLSCert, Modes: serveWorker,
			Description: "PEM client certificate for mTLS (Temporal Cloud's mTLS namespaces, or a cluster with `requireClientAuth`); " +
				"needs " + envTemporalTLSKey + ". Implies TLS.",
			effective: func(c Config) string { return c.TemporalTLS.CertFile },
		},
		{
			Name: envTemporalTLSKey, Modes: serveWorker,
			Description: "PEM private key of " + envTemporalTLSCert + " (unencrypted); set both or neither.",
			effective:   func(c Config) string { return c.TemporalTLS.KeyFile },
		},
		{
			Name: envTemporalAPIKey, Modes: serveWorker,
			Description: "Temporal Cloud API key, sent as `authorization: Bearer <key>` on every call. Implies TLS. Never logged.",
			effective:   func(c Config) string { return maskUnlessEmpty(c.TemporalAPIKey != "") },
		},
		{
			Name: envTemporalPort, Default: code(defaultTemporalPort), Modes: dev,
			Description: "gRPC frontend port (1–65535) of the embedded Temporal server, on " + devTemporalHost + ".",
			effective:   func(c Config) string { return strconv.Itoa(c.TemporalPort) },
		},
		{
			Name: envUIPort, Default: code(defaultUIPort), Modes: dev,
			Description: "Port of the embedded Temporal Web UI; `0` disables it.",
			effective:   func(c Config) string { return strconv.Itoa(c.UIPort) },
		},
		{
			Name: envHistoryRetention, Default: code(defaultHistoryRetention), Modes: dev,
			Description: "How long the embedded Temporal keeps closed workflow histories, i.e. the delivery log; at least `1h`.",
			effective:   func(c Config) string { return formatDuration(c.HistoryRetention) },
		},
		{
			Name: envGeoIPDatabase, Modes: devServe,
			Description: "Path of a MaxMind GeoIP2 or GeoLite2 City `.mmdb` file, which must exist. Unset: scans carry no location.",
			effective:   func(c Config) string { return c.GeoIPDatabase },
		},
		{
			Name: envTrustedProxies, Modes: devServe,
			Description: "Comma-separated IP addresses or CIDR prefixes of reverse proxies whose `X-Forwarded-For` is believed " +
				"(e.g. `10.0.0.0/8,127.0.0.1`). Unset: the TCP peer is the client.",
			effective: func(c Config) string { return joinPrefixes(c) },
		},
		{
			Name: envDeliveryTimeout, Default: code(defaultDeliveryTimeout), Modes: temporalModes,
			Description: "HTTP timeout of one webhook delivery attempt, `1s`–`5m`.",
			effective:   func(c Config) string { return formatDuration(c.DeliveryTimeout) },
		},
		{
			Name: envRetryInitial, Default: code(defaultRetryInitial), Modes: temporalModes,
			Description: "Wait after the first failed delivery attempt; it doubles with every attempt (with jitter).",
			effective:   func(c Config) string { return formatDuration(c.RetryInitial) },
		},
		{
			Name: envRetryMax, Default: code(defaultRetryMax), Modes: temporalModes,
			Description: "Longest wait between two attempts; at least " + envRetryInitial + ".",
			effective:   func(c Config) string { return formatDuration(c.RetryMax) },
		},
		{
			Name: envRetryHorizon, Default: code(defaultRetryHorizon), Modes: temporalModes,
			Description: "Give up a delivery this long after the scan; at least " + envRetryInitial + ".",
			effective:   func(c Config) string { return formatDuration(c.RetryHorizon) },
		},
		{
			Name: envParkFor, Default: code(defaultParkFor), Modes: temporalModes,
			Description: "Longest a delivery waits, parked, while its endpoint is paused or disabled; then it fails " +
				"(replayable). At least `1h`.",
			effective: func(c Config) string { return formatDuration(c.ParkFor) },
		},
		{
			Name: envDrainRate, Default: code(defaultDrainRate), Modes: devServe,
			Description: "Parked deliveries resumed per second, oldest first, after an endpoint is resumed or enabled, 1–1000.",
			effective:   func(c Config) string { return strconv.Itoa(c.DrainRate) },
		},
		{
			Name: envBacklogAlert, Default: code(defaultBacklogAlert), Modes: devServe,
			Description: "Send the workspace's operational endpoints `endpoint.paused_backlog` when more than this many " +
				"deliveries are parked for one paused or disabled endpoint; once per crossing. `0`: never.",
			effective: func(c Config) string { return strconv.Itoa(c.BacklogAlert) },
		},
		{
			Name: envBacklogCheck, Default: code(defaultBacklogCheck), Modes: devServe,
			Description: "How often serve counts each paused or disabled endpoint's parked deliveries (one Temporal " +
				"visibility count per endpoint, only in workspaces with an operational endpoint), `1s`–`24h`.",
			effective: func(c Config) string { return formatDuration(c.BacklogCheck) },
		},
		{
			Name: envAutoDisableAfter, Default: code(defaultAutoDisableAfter), Modes: temporalModes,
			Description: "Disable an endpoint (`auto_disabled`) whose delivery attempts have all failed for this long; " +
				"its deliveries then park. At least `1h`.",
			effective: func(c Config) string { return formatDuration(c.AutoDisableAfter) },
		},
		{
			Name: envAutoDisableGiveUps, Default: code(defaultDisableGiveUps), Modes: temporalModes,
			Description: "Disable an endpoint (`auto_disabled`) after this many deliveries in a row gave up; `0`: never.",
			effective:   func(c Config) string { return strconv.Itoa(c.AutoDisableGiveUps) },
		},
		{
			Name: envOutboxConcurrency, Default: code(defaultOutboxConcurrency), Modes: temporalModes,
			Description: "Delivery workflows started in parallel while draining recorded scans, 1–256.",
			effective:   func(c Config) string { return strconv.Itoa(c.OutboxConcurrency) },
		},
		{
			Name: envOutboxIn, Default: code(defaultOutboxIn), Modes: []Mode{ModeServe, ModeWorker},
			Description: "Which process turns recorded scans into delivery workflows: `worker` (woken by PostgreSQL's " +
				"`NOTIFY`; one worker at a time drains, the others stand by; its starts are eager, so a first attempt " +
				"costs no task queue round trip), `serve` (hands its own scans over in memory), or `auto`: `worker` " +
				"on PostgreSQL, `serve` on SQLite. Give serve and worker the same value.",
			effective: func(c Config) string { return c.OutboxIn },
		},
		{
			Name: envWorkerPollers, Default: code(defaultWorkerPollers), Modes: []Mode{ModeDev, ModeWorker},
			Description: "Temporal worker task pollers, for workflow tasks and for activity tasks each, 1–64.",
			effective:   func(c Config) string { return strconv.Itoa(c.WorkerPollers) },
		},
		{
			Name: envMetricsAddr, Default: code(defaultMetricsAddr), Modes: []Mode{ModeWorker},
			Description: "`host:port` of the worker's operations server: `/metrics`, `/healthz`, `/readyz`. " +
				"(`serve` and `dev` answer these on " + envHTTPAddr + ".)",
			effective: func(c Config) string { return c.MetricsAddr },
		},
		{
			Name: envAllowPrivate, Default: code(defaultAllowPrivate), Modes: []Mode{ModeServe, ModeWorker},
			Description: "`true` lets webhook deliveries reach loopback, private (RFC 1918), carrier-grade NAT (100.64.0.0/10) " +
				"and IPv6 unique-local addresses, for installs whose receivers live on the internal network. " +
				"Dev mode always does. Link-local (cloud metadata), multicast and reserved ranges stay closed.",
			effective: func(c Config) string { return strconv.FormatBool(c.AllowPrivateNetworks) },
		},
		{
			Name: envAllowNetworks, Modes: temporalModes,
			Description: "Comma-separated CIDR prefixes or IP addresses that webhook deliveries may reach although " +
				"the SSRF guard would refuse them (e.g. `10.20.0.0/16,fd00:1::/64`). Unset: no exceptions.",
			effective: func(c Config) string { return formatPrefixes(c.AllowNetworks) },
		},
		{
			Name: envAPIRateLimit, Default: code(defaultAPIRateLimit), Modes: devServe,
			Description: "Management API requests per second per API key, 0–100000; `0` turns the limit off. " +
				"Beyond it the API answers 429 with `Retry-After`.",
			effective: func(c Config) string { return strconv.Itoa(c.APIRateLimit) },
		},
		{
			Name: envAPIRateBurst, Default: code(defaultAPIRateBurst), Modes: devServe,
			Description: "Requests per API key allowed at once before the rate applies, 1–100000.",
			effective:   func(c Config) string { return strconv.Itoa(c.APIRateBurst) },
		},
		{
			Name: envLogLevel, Default: code(defaultLogLevel), Modes: all,
			Description: "`debug`, `info`, `warn` or `error`.",
			effective:   func(c Config) string { return strings.ToLower(c.LogLevel.String()) },
		},
		{
			Name: envLogFormat, Default: "`text` in dev, `json` otherwise", Modes: all,
			Description: "`text` or `json`.",
			effective:   func(c Config) string { return c.LogFormat },
		},
	}
	return append(vars, tracingVariables()...)
}

// Reference renders the variables as a Markdown table for the README.
func Reference() string {
	var b strings.Builder
	b.WriteString("| Variable | Default | Modes | Description |\n")
	b.WriteString("|---|---|---|---|\n")
	for _, v := range Variables() {
		modes := make([]string, len(v.Modes))
		for i, m := range v.Modes {
			modes[i] = string(m)
		}
		def := v.Default
		if def == "" {
			def = "—"
		}
		b.WriteString("| " + code(v.Name) + " | " + cell(def) + " | " + strings.Join(modes, ", ") + " | " + cell(v.Description) + " |\n")
	}
	b.WriteString("\nDurations are Go durations (`15s`, `1h30m`) or whole days (`7d`). " +
		"Values are trimmed; an empty value counts as unset.\n")
	return b.String()
}

func code(s string) string { return "`" + s + "`" }

// maskUnlessEmpty shows that a secret is set without showing it.
func maskUnlessEmpty(set bool) string {
	if set {
		return masked
	}
	return ""
}

// cell escapes the pipes that would otherwise split a table cell (GitHub
// Markdown needs the escape inside code spans too).
func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func formatPrefixes(prefixes []netip.Prefix) string {
	parts := make([]string, len(prefixes))
	for i, p := range prefixes {
		parts[i] = p.String()
	}
	return strings.Join(parts, ",")
}

func joinPrefixes(c Config) string {
	parts := make([]string, len(c.TrustedProxies))
	for i, p := range c.TrustedProxies {
		parts[i] = p.String()
	}
	return strings.Join(parts, ",")
}
