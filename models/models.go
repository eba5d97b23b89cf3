package models

// The domain types and their GORM mapping; the schema itself is made by the
// SQL migrations under migrations/ (migrate.go).

import (
	"time"

	"github.com/scanforge/scanforge/internal/destination"
)

// Workspace owns codes, endpoints and API keys. Every API call is scoped to one.
type Workspace struct {
	ID        string    `gorm:"primaryKey;size:40" json:"id"`
	Name      string    `gorm:"size:200;not null" json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// APIKey authenticates management API calls for one workspace. Only the
// SHA-256 hash of the key is stored; Prefix is shown to tell keys apart.
type APIKey struct {
	ID          string     `gorm:"primaryKey;size:40" json:"id"`
	WorkspaceID string     `gorm:"size:40;not null;index" json:"workspace_id"`
	Name        string     `gorm:"size:200" json:"name"`
	Prefix      string     `gorm:"size:20;not null" json:"prefix"`
	Hash        string     `gorm:"size:64;not null;uniqueIndex" json:"-"`
	CreatedAt   time.Time  `json:"created_at"`
	LastUsedAt  *time.Time `json:"last_used_at"`
	RevokedAt   *time.Time `json:"revoked_at"`
}

// Code is a dynamic QR code or redirect link: its slug is printed, its
// destination can change at any time.
type Code struct {
	ID             string    `gorm:"primaryKey;size:40" json:"id"`
	WorkspaceID    string    `gorm:"size:40;not null;index" json:"workspace_id"`
	Slug           string    `gorm:"size:64;not null;uniqueIndex" json:"slug"`
	Name           string    `gorm:"size:200" json:"name"`
	DestinationURL string    `gorm:"size:2048;not null" json:"destination_url"`
	Active         bool      `gorm:"not null" json:"active"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `gorm:"autoUpdateTime:false" json:"updated_at"` // set by the Store's clock
}

// Endpoint receives signed POSTs for scans of every code in its workspace
// (AllCodes) or of the codes listed in CodeIDs. Secret (and PreviousSecret)
// are plaintext in memory; the store keeps them encrypted and loads them
// only for signing (GetEndpointByID).
type Endpoint struct {
	ID             string    `gorm:"primaryKey;size:40" json:"id"`
	WorkspaceID    string    `gorm:"size:40;not null;index" json:"workspace_id"`
	URL            string    `gorm:"size:2048;not null" json:"url"`
	Description    string    `gorm:"size:500" json:"description"`
	Secret         string    `gorm:"size:200;not null" json:"-"`
	Enabled        bool      `gorm:"not null" json:"enabled"`
	DisabledReason string    `gorm:"size:200" json:"disabled_reason,omitempty"`
	AllCodes       bool      `gorm:"not null" json:"all_codes"`
	HumanOnly      bool      `gorm:"not null;default:false" json:"human_only"` // skip scans with a bot verdict
	CodeIDs        []string  `gorm:"-" json:"code_ids"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `gorm:"autoUpdateTime:false" json:"updated_at"` // set by the Store's clock

	// PreviousSecret is the secret before the last rotation. It signs too,
	// next to Secret, until PreviousSecretExpiresAt (the overlap window).
	PreviousSecret          string     `gorm:"size:200;not null;default:''" json:"-"`
	PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at,omitempty"`
	SecretRotatedAt         *time.Time `json:"secret_rotated_at,omitempty"`

	// BodySignature adds X-ScanForge-Signature-256 (HMAC of the body alone)
	// to its deliveries, for tools that cannot check a timestamped signature.
	BodySignature bool `gorm:"not null;default:false" json:"body_signature"`

	// Format is the body the endpoint's destination takes (see
	// internal/destination); Fields, which event fields it receives.
	Format string             `gorm:"size:20;not null;default:'scanforge'" json:"format"`
	Fields destination.Fields `gorm:"column:field_policy;type:text;not null;default:''" json:"fields"`

	// The endpoint's state (see State): an operator's pause, why it was
	// disabled, and the failure record auto-disabling reads.
	PausedAt      *time.Time   `json:"paused_at,omitempty"`
	DisabledCause DisableCause `gorm:"size:20;not null;default:''" json:"disabled_cause,omitempty"`
	FailingSince  *time.Time   `json:"failing_since,omitempty"`            // first failed attempt since the last success
	GiveUps       int          `gorm:"not null;default:0" json:"give_ups"` // consecutive deliveries that gave up

	// Operational endpoints receive the workspace's operational events
	// (endpoint.disabled, …), never scans.
	Operational bool `gorm:"not null;default:false" json:"operational"`

	// RateLimit caps deliveries per second and MaxInFlight concurrent
	// attempts, across every worker (pacing.go); nil: unlimited.
	RateLimit   *float64 `json:"rate_limit"`
	MaxInFlight *int     `json:"max_in_flight"`
	// HeldUntil is the end of a receiver's Retry-After on an endpoint
	// without limits: until then its attempts go through the pacer too, so
	// the hold reaches its whole backlog (HoldUntil). Internal.
	HeldUntil *time.Time `json:"-"`
}

// SigningSecrets returns the secrets that sign a delivery sent at now: the
// current one, and the previous one while its overlap window lasts.
func (e Endpoint) SigningSecrets(now time.Time) []string {
	if e.PreviousSecret != "" && e.PreviousSecretExpiresAt != nil && now.Before(*e.PreviousSecretExpiresAt) {
		return []string{e.Secret, e.PreviousSecret}
	}
	return []string{e.Secret}
}

// EndpointCode subscribes an endpoint to one code.
type EndpointCode struct {
	EndpointID string `gorm:"primaryKey;size:40"`
	CodeID     string `gorm:"primaryKey;size:40;index"`
}

// Scan is one recorded scan, enriched. DispatchedAt is null until its
// deliveries have been started in Temporal: the scans table is the outbox.
// Analytics read it through idx_scans_code_time: a time range of one code
// (stats), or its scans newest first with the ID breaking ties (the list).
// The outbox reads idx_scans_pending, which holds only the pending scans:
// every index costs each redirect an insert, so there are no others.
type Scan struct {
	ID             string    `gorm:"primaryKey;size:40;index:idx_scans_code_time,priority:3;index:idx_scans_pending,where:dispatched_at IS NULL" json:"id"`
	WorkspaceID    string    `gorm:"size:40;not null" json:"workspace_id"`
	CodeID         string    `gorm:"size:40;not null;index:idx_scans_code_time,priority:1" json:"code_id"`
	Slug           string    `gorm:"size:64;not null" json:"slug"`
	CodeName       string    `gorm:"size:200" json:"code_name"`
	Timestamp      time.Time `gorm:"not null;index:idx_scans_code_time,priority:2" json:"timestamp"`
	Source         string    `gorm:"size:8;not null" json:"source"`
	DestinationURL string    `gorm:"size:2048;not null" json:"destination_url"`
	Country        string    `gorm:"size:100" json:"country"`
	CountryCode    string    `gorm:"size:2" json:"country_code"`
	Region         string    `gorm:"size:100" json:"region"`
	City           string    `gorm:"size:100" json:"city"`
	Latitude       *float64  `json:"latitude"`
	Longitude      *float64  `json:"longitude"`
	Timezone       string    `gorm:"size:64" json:"timezone"`
	DeviceType     string    `gorm:"size:16" json:"device_type"`
	Browser        string    `gorm:"size:64" json:"browser"`
	BrowserVersion string    `gorm:"size:64" json:"browser_version"`
	OS             string    `gorm:"size:64" json:"os"`
	OSVersion      string    `gorm:"size:64" json:"os_version"`
	Referrer       string    `gorm:"size:2048" json:"referrer"`
	UserAgent      string    `gorm:"size:1024" json:"user_agent"`
	IsBot          bool      `gorm:"not null" json:"is_bot"`
	BotReason      string    `gorm:"size:32" json:"bot_reason"`
	// TraceParent is the W3C traceparent of the span that recorded the
	// scan, "" (NULL) when untraced: a scan the outbox's poll dispatches
	// after a restart continues its trace (migration 7).
	TraceParent string `gorm:"type:text" json:"-"`
	// VisitorKey is the day's visitor key (internal/visitor): no IP is
	// stored. IsUnique says the scan is its visitor's first of the code
	// that UTC day; InsertScans decides it.
	VisitorKey   string     `gorm:"size:32;not null;default:''" json:"-"`
	IsUnique     bool       `gorm:"not null;default:false" json:"unique"`
	DispatchedAt *time.Time `json:"-"`
}
