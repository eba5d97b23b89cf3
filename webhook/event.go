package webhook

import (
	"encoding/json"
	"time"
)

// APIVersion names the payload schema. It changes only when a field's meaning
// changes or a field is removed; new fields may appear at any time.
const APIVersion = "2026-11-01"

// Event types.
const (
	TypeScanCreated = "scan.created"
	TypeTest        = "test"
)

// Event is the body of every delivery. ID is stable across retries and
// replays of the same event, so receivers can deduplicate on it.
type Event struct {
	ID         string          `json:"id"`
	Type       string          `json:"type"`
	APIVersion string          `json:"api_version"`
	CreatedAt  time.Time       `json:"created_at"`
	Data       json.RawMessage `json:"data"`
}

// ScanCreated is the Data of a scan.created event.
type ScanCreated struct {
	ScanID         string    `json:"scan_id"`
	Code           Code      `json:"code"`
	Timestamp      time.Time `json:"timestamp"`
	Source         string    `json:"source"` // "qr" or "link"
	Geo            Geo       `json:"geo"`
	Device         Device    `json:"device"`
	Referrer       string    `json:"referrer"`
	UserAgent      string    `json:"user_agent"`
	DestinationURL string    `json:"destination_url"`
	Bot            Bot       `json:"bot"`
	// Unique is true for the visitor's first scan of this code on this UTC
	// day. A visitor is a keyed hash of IP, user agent and code under a key
	// of the day, never sent nor linkable across days.
	Unique bool `json:"unique"`
}

// Code identifies the scanned code.
type Code struct {
	ID   string `json:"id"`
	Slug string `json:"slug"`
	Name string `json:"name"`
}

// Geo is where the scan came from, as far as the GeoIP2 database knows.
// Empty strings and null coordinates mean unknown.
type Geo struct {
	Country     string   `json:"country"`
	CountryCode string   `json:"country_code"`
	Region      string   `json:"region"`
	City        string   `json:"city"`
	Latitude    *float64 `json:"latitude"`
	Longitude   *float64 `json:"longitude"`
	Timezone    string   `json:"timezone"`
}

// Device is what the user agent says about the scanner's device.
type Device struct {
	Type           string `json:"type"` // mobile, tablet, desktop, tv, console, bot, unknown
	Browser        string `json:"browser"`
	BrowserVersion string `json:"browser_version"`
	OS             string `json:"os"`
	OSVersion      string `json:"os_version"`
}

// Bot is the bot verdict with the rule that fired.
type Bot struct {
	IsBot  bool   `json:"is_bot"`
	Reason string `json:"reason,omitempty"`
}

// Operational event types: what a workspace's operational endpoints
// receive about its webhooks (see docs/delivery-log.md).
const (
	TypeEndpointDisabled = "endpoint.disabled"
	TypeEndpointEnabled  = "endpoint.enabled"
	TypeDeliveryGaveUp   = "delivery.gave_up"
	// TypeEndpointPausedBacklog: an endpoint's parked deliveries rose
	// above the alert threshold.
	TypeEndpointPausedBacklog = "endpoint.paused_backlog"
)

// EndpointDisabled is the Data of an endpoint.disabled event.
type EndpointDisabled struct {
	EndpointID   string     `json:"endpoint_id"`
	URL          string     `json:"url"`
	State        string     `json:"state"`  // disabled, gone or auto_disabled
	Reason       string     `json:"reason"` // as disabled_reason says it
	FailingSince *time.Time `json:"failing_since,omitempty"`
	LastStatus   int        `json:"last_status,omitempty"` // HTTP status of the last attempt; absent: none or no answer
	LastError    string     `json:"last_error,omitempty"`
}

// EndpointEnabled is the Data of an endpoint.enabled event.
type EndpointEnabled struct {
	EndpointID string `json:"endpoint_id"`
	URL        string `json:"url"`
}

// DeliveryGaveUp is the Data of a delivery.gave_up event: a delivery that
// exhausted its retry horizon, with its last answer.
type DeliveryGaveUp struct {
	DeliveryID string `json:"delivery_id"`
	EndpointID string `json:"endpoint_id"`
	EventID    string `json:"event_id"`
	Attempts   int    `json:"attempts"`
	LastStatus int    `json:"last_status,omitempty"`
	LastError  string `json:"last_error,omitempty"`
	Message    string `json:"message"`
}

// EndpointPausedBacklog is the Data of an endpoint.paused_backlog event:
// the deliveries parked for a paused or disabled endpoint rose above the
// threshold. Sent once per crossing: again only after the backlog fell to
// the threshold or the endpoint took deliveries again.
type EndpointPausedBacklog struct {
	EndpointID string `json:"endpoint_id"`
	URL        string `json:"url"`
	State      string `json:"state"` // paused, disabled, gone or auto_disabled
	Reason     string `json:"reason,omitempty"`
	Parked     int64  `json:"parked"`    // parked deliveries when counted
	Threshold  int64  `json:"threshold"` // the alert threshold
	// The longest-parked delivery (the first started): its ID, its scan
	// and the scan's time; the scan fields are absent for a test event.
	OldestDeliveryID string     `json:"oldest_delivery_id,omitempty"`
	OldestScanID     string     `json:"oldest_scan_id,omitempty"`
	OldestScanAt     *time.Time `json:"oldest_scan_at,omitempty"`
}
