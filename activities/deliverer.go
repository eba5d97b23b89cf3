package activities

// The Deliverer: what an attempt needs (the endpoint store, the HTTP
// client that never follows redirects, clocks and limits), built by
// NewDeliverer from Options.

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/scanforge/scanforge/internal/metrics"
	"github.com/scanforge/scanforge/internal/tracing"
	"github.com/scanforge/scanforge/models"
)

// Defaults of a Deliverer.
const (
	DefaultTimeout   = 15 * time.Second
	DefaultUserAgent = "ScanForge-Webhooks/1.0"
	// MaxBodyBytes is how much of an answer body is kept in the result.
	MaxBodyBytes = 4 << 10
	// maxDrainBytes is how much more of an answer is read and discarded so the
	// connection can be reused; longer answers just close it.
	maxDrainBytes = 64 << 10
)

// EndpointStore is what an attempt needs from the database.
type EndpointStore interface {
	// GetEndpointByID returns models.ErrNotFound when the endpoint is gone.
	GetEndpointByID(ctx context.Context, id string) (models.Endpoint, error)
	DisableEndpoint(ctx context.Context, id string, cause models.DisableCause, reason string) error
}

// DialContextFunc dials a connection; it is where an egress policy (an SSRF
// guard) plugs in.
type DialContextFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// Deliverer performs delivery attempts. Build it with NewDeliverer.
type Deliverer struct {
	Endpoints EndpointStore
	Client    *http.Client
	Now       func() time.Time
	Timeout   time.Duration // per request
	UserAgent string
	Logger    *slog.Logger
	Metrics   *metrics.Registry // counts attempts by outcome and their latency; nil: none
	// Finished, when set, is told the workflow ID of every attempt that
	// ended with a result (the outbox of the same process frees the
	// delivery's in-flight place with it).
	Finished func(workflowID string)

	// Health keeps endpoints' failure records for AutoDisable; nil: none.
	Health      HealthStore
	AutoDisable AutoDisable
	// Notifier tells the workspace's operational endpoints when an
	// endpoint is disabled or a delivery gives up; nil: nobody.
	Notifier Notifier
	// Tracing traces each POST as a child of the attempt's span and sends
	// its W3C traceparent to the receiver; nil: off.
	Tracing *tracing.Tracing
	// Pacer enforces endpoints' rate limits and max_in_flight; nil: none.
	Pacer Pacer
}

// Options tune a Deliverer; the zero value is a working default.
type Options struct {
	Dial      DialContextFunc // where an egress policy plugs in; nil: a plain net.Dialer
	Timeout   time.Duration   // per request; 0: DefaultTimeout
	UserAgent string          // "": DefaultUserAgent
	Now       func() time.Time
	Logger    *slog.Logger
	Metrics   *metrics.Registry
	Finished  func(workflowID string)
	// Health, AutoDisable, Notifier and Tracing: see Deliverer.
	Health      HealthStore
	AutoDisable AutoDisable
	Notifier    Notifier
	Tracing     *tracing.Tracing
	Pacer       Pacer
}

// NewDeliverer returns a Deliverer of the endpoints in store, with the HTTP
// client NewHTTPClient(opts.Dial) builds.
func NewDeliverer(store EndpointStore, opts Options) *Deliverer {
	d := &Deliverer{
		Endpoints: store,
		Client:    NewHTTPClient(opts.Dial),
		Now:       opts.Now,
		Timeout:   opts.Timeout,
		UserAgent: opts.UserAgent,
		Logger:    opts.Logger,
		Metrics:   opts.Metrics,
		Finished:  opts.Finished,

		Health:      opts.Health,
		AutoDisable: opts.AutoDisable,
		Notifier:    opts.Notifier,
		Tracing:     opts.Tracing,
		Pacer:       opts.Pacer,
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Timeout <= 0 {
		d.Timeout = DefaultTimeout
	}
	if d.UserAgent == "" {
		d.UserAgent = DefaultUserAgent
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return d
}

// NewHTTPClient returns the client deliveries go through: it never follows
// redirects (the signed body must reach only the configured URL), and it
// dials through dial without any proxy, so the dialer alone decides where
// connections may go.
func NewHTTPClient(dial DialContextFunc) *http.Client {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.Proxy = nil
	if dial != nil {
		transport.DialContext = dial
	}
	return &http.Client{
		Transport: transport,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

func (d *Deliverer) now() time.Time {
	if d.Now == nil {
		return time.Now()
	}
	return d.Now()
}

func (d *Deliverer) timeout() time.Duration {
	if d.Timeout <= 0 {
		return DefaultTimeout
	}
	return d.Timeout
}

func (d *Deliverer) userAgent() string {
	if d.UserAgent == "" {
		return DefaultUserAgent
	}
	return d.UserAgent
}

func (d *Deliverer) logger() *slog.Logger {
	if d.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.Logger
}
