// Package config reads ScanForge's configuration from environment variables
// and validates it at start, so a mistake is reported once, up front, with
// the variable, the bad value and what is expected, instead of surfacing
// later as a confusing runtime failure.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Mode is the subcommand the configuration is loaded for. Each mode reads
// only the variables it uses, so a stray setting meant for another process
// cannot stop this one from starting.
type Mode string

const (
	ModeDev     Mode = "dev"     // everything in one process, embedded Temporal, SQLite
	ModeServe   Mode = "serve"   // API, redirects, scan recorder (and the outbox, SCANFORGE_OUTBOX_IN=serve)
	ModeWorker  Mode = "worker"  // Temporal worker of the delivery task queue (and the outbox, SCANFORGE_OUTBOX_IN=worker)
	ModeMigrate Mode = "migrate" // database migrations, then exit
)

// Where the outbox is drained in the production shape (Config.OutboxIn).
const (
	OutboxInServe  = "serve"
	OutboxInWorker = "worker"
)

// Modes lists every mode, in the order the documentation shows them.
func Modes() []Mode { return []Mode{ModeDev, ModeServe, ModeWorker, ModeMigrate} }

// Config is the validated configuration of one process. Fields a mode does
// not read keep their zero value.
type Config struct {
	Mode Mode

	DataDir   string // dev: holds app.db, temporal.db
	HTTPAddr  string // host:port the HTTP server listens on
	PublicURL string // absolute http(s) base URL, no trailing slash

	DatabaseURL string // postgres://…, postgresql://… or sqlite:PATH
	// SpoolDir holds the scans recorded while the database is unavailable
	// (internal/spool); "" runs without a spool.
	SpoolDir string

	// EncryptionKey encrypts endpoint secrets at rest (32 bytes). Required
	// for serve and worker; in dev, nil means "use the data directory's".
	EncryptionKey []byte
	// AdminToken authorizes the admin API (creating workspaces); "" turns
	// the admin API off.
	AdminToken string

	TemporalAddress   string // host:port of the Temporal frontend
	TemporalNamespace string
	// TemporalTLS and TemporalAPIKey secure serve's and worker's Temporal
	// connection; dev's embedded server is plain. The API key (Temporal
	// Cloud) goes out as "authorization: Bearer <key>" and implies TLS.
	TemporalTLS    TemporalTLS
	TemporalAPIKey string

	TemporalPort     int           // dev: embedded server's frontend port
	UIPort           int           // dev: Temporal Web UI port; 0 disables it
	HistoryRetention time.Duration // dev: namespace retention

	GeoIPDatabase  string         // optional GeoIP2/GeoLite2 City .mmdb; exists when set
	TrustedProxies []netip.Prefix // proxies whose X-Forwarded-For is believed

	DeliveryTimeout time.Duration // HTTP timeout of one webhook attempt
	RetryInitial    time.Duration // first wait after a failed attempt
	RetryMax        time.Duration // cap of one wait
	RetryHorizon    time.Duration // give up this long after the scan

	// Endpoint states (issue 19).
	ParkFor            time.Duration // longest a delivery waits for a paused or disabled endpoint
	DrainRate          int           // parked deliveries resumed per second after a resume
	BacklogAlert       int           // endpoint.paused_backlog above this many parked deliveries; 0: never
	BacklogCheck       time.Duration // how often serve counts parked deliveries
	AutoDisableAfter   time.Duration // disable an endpoint whose attempts all failed this long
	AutoDisableGiveUps int           // … or after this many deliveries in a row gave up; 0: never

	OutboxConcurrency int // parallel workflow starts
	// OutboxIn is the process that drains the outbox into deliveries in
	// the production shape: OutboxInServe or OutboxInWorker (dev runs both
	// in one process).
	OutboxIn      string
	WorkerPollers int    // task pollers per kind
	MetricsAddr   string // worker: host:port of /metrics, /healthz, /readyz

	// Where deliveries may go (internal/netguard) and API abuse limits.
	AllowPrivateNetworks bool           // loopback, RFC 1918, CGNAT, IPv6 ULA reachable; always true in dev
	AllowNetworks        []netip.Prefix // reachable whatever the guard's ranges say
	APIRateLimit         int            // management API requests per second per API key; 0: no limit
	APIRateBurst         int            // requests per API key allowed at once above the rate

	LogLevel  slog.Level
	LogFormat string // "text" or "json"

	Tracing Tracing // OpenTelemetry (dev, serve, worker)
}

// Load reads the configuration of mode through getenv (os.Getenv in
// production). Values are trimmed; an empty value counts as unset. Every
// problem is reported, one error per variable, joined with errors.Join; each
// is a *VarError. A password in DATABASE_URL never appears in an error.
func Load(mode Mode, getenv func(string) string) (Config, error) {
	if !mode.valid() {
		return Config{}, fmt.Errorf("unknown mode %q (expected dev, serve, worker or migrate)", mode)
	}
	l := &loader{getenv: getenv}
	c := Config{Mode: mode}
	is := func(modes ...Mode) bool { return slices.Contains(modes, mode) }

	var httpPort int
	if is(ModeDev, ModeServe) {
		var ok bool
		c.HTTPAddr, httpPort, ok = l.hostPort(envHTTPAddr, defaultHTTPAddr, false, "e.g. :8080 or 0.0.0.0:8080")
		defaultPublicURL := ""
		if ok {
			defaultPublicURL = "http://localhost:" + strconv.Itoa(httpPort)
		}
		c.PublicURL = l.publicURL(envPublicURL, defaultPublicURL)
	}

	if is(ModeDev) {
		c.DataDir = l.value(envDataDir, defaultDataDir)
		c.DatabaseURL = l.databaseURL(mode, "sqlite:"+filepath.Join(c.DataDir, "app.db"))

		var temporalOK, uiOK bool
		c.TemporalPort, temporalOK = l.intRange(envTemporalPort, defaultTemporalPort, 1, 65535, "")
		c.UIPort, uiOK = l.intRange(envUIPort, defaultUIPort, 0, 65535, "0 disables the UI")
		if temporalOK {
			c.TemporalAddress = devTemporalHost + ":" + strconv.Itoa(c.TemporalPort)
		}
		if temporalOK && uiOK && c.UIPort == c.TemporalPort {
			l.conflict(envUIPort, fmt.Sprintf("and %s are both %d; each needs its own port (UI port 0 disables the UI)", envTemporalPort, c.UIPort))
		}
		if temporalOK && httpPort == c.TemporalPort {
			l.conflict(envTemporalPort, fmt.Sprintf("and the port of %s are both %d; each needs its own port", envHTTPAddr, httpPort))
		}
		if uiOK && c.UIPort != 0 && httpPort == c.UIPort {
			l.conflict(envUIPort, fmt.Sprintf("and the port of %s are both %d; each needs its own port (UI port 0 disables the UI)", envHTTPAddr, httpPort))
		}
		c.HistoryRetention, _ = l.duration(envHistoryRetention, defaultHistoryRetention, time.Hour, 0)
	} else {
		c.DatabaseURL = l.databaseURL(mode, "")
	}

	if is(ModeDev) {
		c.SpoolDir = l.writableDir(envSpoolDir, filepath.Join(c.DataDir, "spool"))
	}
	if is(ModeServe) {
		c.SpoolDir = l.writableDir(envSpoolDir, defaultServeSpoolDir)
	}

	if is(ModeDev, ModeServe, ModeWorker) {
		c.EncryptionKey = l.encryptionKey(envEncryptionKey, mode != ModeDev)
	}
	if is(ModeDev, ModeServe) {
		c.AdminToken = l.secretToken(envAdminToken, minAdminTokenLength)
	}

	if is(ModeServe, ModeWorker) {
		c.TemporalAddress, _, _ = l.hostPort(envTemporalAddress, defaultTemporalAddress, true, "e.g. 127.0.0.1:7233 or temporal:7233")
	}
	if is(ModeDev, ModeServe, ModeWorker) {
		c.TemporalNamespace = l.namespace(envTemporalNamespace, defaultTemporalNamespace)
	}
	if is(ModeServe, ModeWorker) {
		c.TemporalTLS, c.TemporalAPIKey = l.temporalSecurity()
	}

	if is(ModeDev, ModeServe) {
		c.GeoIPDatabase = l.existingFile(envGeoIPDatabase)
		c.TrustedProxies = l.prefixes(envTrustedProxies)
	}

	if is(ModeDev, ModeServe, ModeWorker) {
		c.DeliveryTimeout, _ = l.duration(envDeliveryTimeout, defaultDeliveryTimeout, time.Second, 5*time.Minute)
	}

	if is(ModeServe, ModeWorker) {
		c.OutboxIn = l.oneOf(envOutboxIn, defaultOutboxIn, "auto", OutboxInServe, OutboxInWorker)
		if c.OutboxIn == "auto" {
			// The worker is woken by PostgreSQL's NOTIFY; on SQLite it
			// could only poll.
			c.OutboxIn = OutboxInServe
			if strings.HasPrefix(c.DatabaseURL, "postgres") {
				c.OutboxIn = OutboxInWorker
			}
		}
	}

	// The retry schedule travels in the workflow input, so every process
	// that starts deliveries reads it: the outbox's (serve or worker), and
	// serve's test events and replays.
	if is(ModeDev, ModeServe, ModeWorker) {
		var initialOK, maxOK, horizonOK bool
		c.RetryInitial, initialOK = l.duration(envRetryInitial, defaultRetryInitial, positive, 0)
		c.RetryMax, maxOK = l.duration(envRetryMax, defaultRetryMax, positive, 0)
		c.RetryHorizon, horizonOK = l.duration(envRetryHorizon, defaultRetryHorizon, positive, 0)
		if initialOK && maxOK && c.RetryMax < c.RetryInitial {
			l.fail(envRetryMax, fmt.Sprintf("must be at least %s (%s)", envRetryInitial, formatDuration(c.RetryInitial)))
		}
		if initialOK && horizonOK && c.RetryHorizon < c.RetryInitial {
			l.fail(envRetryHorizon, fmt.Sprintf("must be at least %s (%s)", envRetryInitial, formatDuration(c.RetryInitial)))
		}
		c.OutboxConcurrency, _ = l.intRange(envOutboxConcurrency, defaultOutboxConcurrency, 1, 256, "")
		// Parking travels in the workflow input too.
		c.ParkFor, _ = l.duration(envParkFor, defaultParkFor, time.Hour, 0)
	}
	if is(ModeDev, ModeServe) {
		// The drain runs in the process that serves the resume.
		c.DrainRate, _ = l.intRange(envDrainRate, defaultDrainRate, 1, 1000, "")
		c.BacklogAlert, _ = l.intRange(envBacklogAlert, defaultBacklogAlert, 0, 100000000, "0: never")
		c.BacklogCheck, _ = l.duration(envBacklogCheck, defaultBacklogCheck, time.Second, 24*time.Hour)
	}

	if is(ModeDev, ModeServe, ModeWorker) {
		c.AutoDisableAfter, _ = l.duration(envAutoDisableAfter, defaultAutoDisableAfter, time.Hour, 0)
		c.AutoDisableGiveUps, _ = l.intRange(envAutoDisableGiveUps, defaultDisableGiveUps, 0, 10000, "0: never")
	}

	if is(ModeDev, ModeWorker) {
		c.WorkerPollers, _ = l.intRange(envWorkerPollers, defaultWorkerPollers, 1, 64, "")
	}
	if is(ModeWorker) {
		c.MetricsAddr, _, _ = l.hostPort(envMetricsAddr, defaultMetricsAddr, false, "e.g. :9090 or 0.0.0.0:9090")
	}

	// The egress guard: the worker applies it when it dials, the API when an
	// endpoint is saved. Dev mode delivers to local receivers (its banner
	// says so); serve and worker open private networks only when told to.
	if is(ModeDev, ModeServe, ModeWorker) {
		c.AllowNetworks = l.prefixes(envAllowNetworks)
	}
	if mode == ModeDev {
		c.AllowPrivateNetworks = true
	}
	if is(ModeServe, ModeWorker) {
		c.AllowPrivateNetworks = l.boolean(envAllowPrivate, defaultAllowPrivate)
	}
	if is(ModeDev, ModeServe) {
		c.APIRateLimit, _ = l.intRange(envAPIRateLimit, defaultAPIRateLimit, 0, 100000, "0 turns the limit off")
		c.APIRateBurst, _ = l.intRange(envAPIRateBurst, defaultAPIRateBurst, 1, 100000, "")
	}

	if is(ModeDev, ModeServe, ModeWorker) {
		c.Tracing = l.tracing()
	}

	c.LogLevel = l.logLevel(envLogLevel, defaultLogLevel)
	defaultLogFormat := "json"
	if mode == ModeDev {
		defaultLogFormat = "text"
	}
	c.LogFormat = l.oneOf(envLogFormat, defaultLogFormat, "text", "json")

	if err := errors.Join(l.errs...); err != nil {
		return Config{}, err
	}
	return c, nil
}

func (m Mode) valid() bool { return slices.Contains(Modes(), m) }

// VarError is one variable's problem. Value is the offending value as set
// (passwords masked), or "" when the variable is unset or the problem is a
// clash with another variable.
type VarError struct {
	Name    string
	Value   string
	Problem string
	Err     error // underlying parse error, if any
}

func (e *VarError) Error() string {
	if e.Value == "" {
		return e.Name + " " + e.Problem
	}
	return fmt.Sprintf("%s=%q: %s", e.Name, e.Value, e.Problem)
}

func (e *VarError) Unwrap() error { return e.Err }

// Redacted returns the effective settings of c's mode keyed by variable
// name, plus "mode", for the startup log. The database password is masked.
func (c Config) Redacted() map[string]string {
	out := map[string]string{"mode": string(c.Mode)}
	for _, v := range Variables() {
		if v.usedIn(c.Mode) {
			out[v.Name] = v.effective(c)
		}
	}
	return out
}

// LogValue makes slog print c redacted, so logging a Config can never leak
// the database password.
func (c Config) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("mode", string(c.Mode))}
	for _, v := range Variables() {
		if v.usedIn(c.Mode) {
			attrs = append(attrs, slog.String(v.Name, v.effective(c)))
		}
	}
	return slog.GroupValue(attrs...)
}

// formatDuration prints whole days as "7d" and trims Go's zero units
// ("2h0m0s" → "2h"), matching how the variables are written.
func formatDuration(d time.Duration) string {
	const day = 24 * time.Hour
	if d > 0 && d%day == 0 {
		return strconv.FormatInt(int64(d/day), 10) + "d"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
