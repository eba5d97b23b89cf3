package config

// The environment variables Load reads and their defaults, as text in
// the form a user writes them.

// Variable names.
const (
	envDataDir           = "SCANFORGE_DATA_DIR"
	envHTTPAddr          = "SCANFORGE_HTTP_ADDR"
	envPublicURL         = "SCANFORGE_PUBLIC_URL"
	envDatabaseURL       = "DATABASE_URL"
	envSpoolDir          = "SCANFORGE_SPOOL_DIR"
	envEncryptionKey     = "SCANFORGE_ENCRYPTION_KEY"
	envAdminToken        = "SCANFORGE_ADMIN_TOKEN"
	envTemporalAddress   = "TEMPORAL_ADDRESS"
	envTemporalNamespace = "TEMPORAL_NAMESPACE"
	// The TLS and API key names are those of Temporal's own CLI.
	envTemporalTLS           = "TEMPORAL_TLS"
	envTemporalTLSCA         = "TEMPORAL_TLS_CA"
	envTemporalTLSServerName = "TEMPORAL_TLS_SERVER_NAME"
	envTemporalTLSCert       = "TEMPORAL_TLS_CERT"
	envTemporalTLSKey        = "TEMPORAL_TLS_KEY"
	envTemporalAPIKey        = "TEMPORAL_API_KEY"
	envTemporalPort          = "SCANFORGE_TEMPORAL_PORT"
	envUIPort                = "SCANFORGE_UI_PORT"
	envHistoryRetention      = "SCANFORGE_HISTORY_RETENTION"
	envGeoIPDatabase         = "SCANFORGE_GEOIP_DB"
	envTrustedProxies        = "SCANFORGE_TRUSTED_PROXIES"
	envDeliveryTimeout       = "SCANFORGE_DELIVERY_TIMEOUT"
	envRetryInitial          = "SCANFORGE_RETRY_INITIAL"
	envRetryMax              = "SCANFORGE_RETRY_MAX"
	envRetryHorizon          = "SCANFORGE_RETRY_HORIZON"
	envParkFor               = "SCANFORGE_PARK_FOR"
	envDrainRate             = "SCANFORGE_DRAIN_RATE"
	envBacklogAlert          = "SCANFORGE_PARKED_BACKLOG_ALERT"
	envBacklogCheck          = "SCANFORGE_PARKED_BACKLOG_CHECK"
	envAutoDisableAfter      = "SCANFORGE_AUTO_DISABLE_AFTER"
	envAutoDisableGiveUps    = "SCANFORGE_AUTO_DISABLE_GIVE_UPS"
	envOutboxConcurrency     = "SCANFORGE_OUTBOX_CONCURRENCY"
	envOutboxIn              = "SCANFORGE_OUTBOX_IN"
	envWorkerPollers         = "SCANFORGE_WORKER_POLLERS"
	envMetricsAddr           = "SCANFORGE_METRICS_ADDR"
	envAllowPrivate          = "SCANFORGE_ALLOW_PRIVATE_NETWORKS"
	envAllowNetworks         = "SCANFORGE_ALLOW_NETWORKS"
	envAPIRateLimit          = "SCANFORGE_API_RATE_LIMIT"
	envAPIRateBurst          = "SCANFORGE_API_RATE_BURST"
	envLogLevel              = "SCANFORGE_LOG_LEVEL"
	envLogFormat             = "SCANFORGE_LOG_FORMAT"
)

// Defaults, written as a user would write them: Load parses them with the
// same code as user values, and the reference table prints them as is.
const (
	defaultDataDir           = "./.scanforge"
	defaultServeSpoolDir     = "./.scanforge/spool"
	defaultHTTPAddr          = ":8080"
	defaultTemporalAddress   = "127.0.0.1:7233"
	defaultTemporalNamespace = "default"
	defaultTemporalPort      = "7233"
	defaultUIPort            = "8233"
	defaultHistoryRetention  = "7d"
	defaultDeliveryTimeout   = "15s"
	defaultRetryInitial      = "10s"
	defaultRetryMax          = "2h"
	defaultRetryHorizon      = "24h"
	defaultParkFor           = "7d"
	defaultDrainRate         = "20"
	defaultBacklogAlert      = "1000"
	defaultBacklogCheck      = "1m"
	defaultAutoDisableAfter  = "5d"
	defaultDisableGiveUps    = "20"
	defaultOutboxConcurrency = "16"
	defaultOutboxIn          = "auto"
	defaultWorkerPollers     = "8"
	defaultMetricsAddr       = ":9090"
	defaultAllowPrivate      = "false"
	defaultAPIRateLimit      = "20"
	defaultAPIRateBurst      = "40"
	defaultLogLevel          = "info"

	// minAdminTokenLength keeps guessable admin tokens out.
	minAdminTokenLength = 32
	// masked stands for a secret's value in the startup log.
	masked = "xxxxx"

	// devTemporalHost is where the embedded server's frontend listens.
	devTemporalHost = "127.0.0.1"
	// exampleDatabaseURL shows the accepted PostgreSQL form in messages.
	exampleDatabaseURL = "postgres://user:pass@host:5432/scanforge?sslmode=disable"
)
