package api

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/scanforge/scanforge/internal/enrich"
	"github.com/scanforge/scanforge/internal/id"
	"github.com/scanforge/scanforge/internal/metrics"
	"github.com/scanforge/scanforge/internal/tracing"
	"github.com/scanforge/scanforge/models"
)

// ScanRecorder makes a scan durable. Record blocks until it is.
type ScanRecorder interface {
	Record(ctx context.Context, scan models.Scan) error
}

// VisitorKeyer computes a scan's visitor key (internal/visitor): the same
// for one client, code and UTC day, unlinkable across days.
type VisitorKeyer interface {
	Key(t time.Time, ip netip.Addr, userAgent, codeID string) string
}

// Enricher derives geo, device and bot verdict from a request.
type Enricher interface {
	Enrich(in enrich.Input) enrich.Result
}

// Options are the dependencies of the router.
type Options struct {
	Store    Store
	Recorder ScanRecorder
	Enricher Enricher // nil: scans are recorded without geo/device/bot data
	// Visitors keys each scan's visitor; nil: scans have no visitor key and
	// none is a unique visitor.
	Visitors       VisitorKeyer
	TrustedProxies []netip.Prefix
	PublicBaseURL  string // e.g. "http://localhost:8080": for qr_url/link_url in code answers
	Logger         *slog.Logger
	Now            func() time.Time
	Extra          func(r *gin.Engine) // optional: mounts more routes (/healthz, …)
	// EndpointURLCheck applies the egress policy (internal/netguard) to an
	// endpoint URL being created or changed; its error, the reason, becomes
	// a 422 on the url field. nil: no check.
	EndpointURLCheck func(ctx context.Context, rawURL string) error
	// RateLimit bounds management API calls per API key; zero: no limit.
	RateLimit RateLimit
	// Deliveries is the delivery log; nil leaves the delivery routes
	// (/deliveries, /endpoints/:id/replay, /endpoints/:id/test) unmounted.
	Deliveries DeliveryLog
	// Drainer resumes an endpoint's parked deliveries after it is resumed
	// or enabled; nil leaves them to their own re-check.
	Drainer Drainer
	// Backfiller sends new endpoints created with backfill_since their
	// past scans; nil ignores backfill_since.
	Backfiller Backfiller
	// Notifier sends operational events (endpoint.disabled by an
	// operator, endpoint.enabled); nil: none.
	Notifier Notifier
	// AdminToken enables the admin API (POST /api/v1/admin/workspaces) for
	// bearers of this token; "" leaves it unmounted (404).
	AdminToken string
	// Metrics counts requests and redirects; nil: no metrics.
	Metrics *metrics.Registry
	// CodeStaleFor is how long the redirect path may answer from a code's
	// last known state while the database is unavailable; 0:
	// DefaultCodeStaleFor.
	CodeStaleFor time.Duration
	// Tracing traces each redirect, the root of its scan's trace; nil: off.
	Tracing *tracing.Tracing
}

// server holds what every handler needs.
type server struct {
	store    Store
	recorder ScanRecorder
	enricher Enricher
	visitors VisitorKeyer
	trusted  []netip.Prefix
	baseURL  string
	log      *slog.Logger
	now      func() time.Time
	codes    *codeCache // the redirect path's slug lookups
	tracing  *tracing.Tracing

	endpointURLCheck func(ctx context.Context, rawURL string) error

	deliveries DeliveryLog
	drainer    Drainer
	backfiller Backfiller
	notifier   Notifier
}

// NewRouter returns the HTTP handler of ScanForge. Store and Recorder are
// required; it panics without them, at start-up rather than per request.
func NewRouter(opts Options) *gin.Engine {
	if opts.Store == nil || opts.Recorder == nil {
		panic("api.NewRouter: Options.Store and Options.Recorder are required")
	}
	s := &server{
		store:    opts.Store,
		recorder: opts.Recorder,
		enricher: opts.Enricher,
		visitors: opts.Visitors,
		trusted:  opts.TrustedProxies,
		baseURL:  strings.TrimRight(opts.PublicBaseURL, "/"),
		log:      opts.Logger,
		now:      opts.Now,
		tracing:  opts.Tracing,

		endpointURLCheck: opts.EndpointURLCheck,

		deliveries: opts.Deliveries,
		drainer:    opts.Drainer,
		backfiller: opts.Backfiller,
		notifier:   opts.Notifier,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.codes = newCodeCache(s.store.GetCodeBySlug, time.Now, opts.CodeStaleFor)

	r := gin.New()
	// We work out client IPs ourselves (internal/clientip); make sure nothing
	// in gin believes X-Forwarded-For.
	_ = r.SetTrustedProxies(nil)
	r.HandleMethodNotAllowed = true
	r.Use(withRequestID(id.NewSequence("req")), accessLog(s.log, opts.Metrics, s.now), recoverPanics(s.log))
	r.NoRoute(s.noRoute)
	r.NoMethod(s.noMethod)

	for _, route := range []struct{ prefix, source string }{{"/q/:slug", sourceQR}, {"/l/:slug", sourceLink}} {
		h := s.redirect(route.source)
		r.GET(route.prefix, h)
		r.HEAD(route.prefix, h)
	}

	v1 := r.Group("/api/v1", limitBody(s.log), authenticate(s.store, s.log), s.codes.clearOnWrite(), rateLimit(opts.RateLimit, s.now, s.log))
	v1.POST("/codes", s.createCode)
	v1.GET("/codes", s.listCodes)
	v1.GET("/codes/:id", s.getCode)
	v1.PATCH("/codes/:id", s.updateCode)
	v1.POST("/codes/:id/deactivate", s.setCodeActive(false))
	v1.POST("/codes/:id/activate", s.setCodeActive(true))
	v1.DELETE("/codes/:id", s.deleteCode)
	v1.GET("/codes/:id/qr.png", s.qrImage("png"))
	v1.GET("/codes/:id/qr.svg", s.qrImage("svg"))
	v1.GET("/codes/:id/scans", s.listScans)
	v1.GET("/codes/:id/stats", s.scanStats)
	v1.GET("/stats", s.workspaceStats)

	v1.POST("/endpoints", s.createEndpoint)
	v1.GET("/endpoints", s.listEndpoints)
	v1.GET("/endpoints/:id", s.getEndpoint)
	v1.PATCH("/endpoints/:id", s.updateEndpoint)
	v1.POST("/endpoints/:id/disable", s.setEndpointEnabled(false))
	v1.POST("/endpoints/:id/enable", s.setEndpointEnabled(true))
	v1.POST("/endpoints/:id/pause", s.pauseEndpoint)
	v1.POST("/endpoints/:id/resume", s.resumeEndpoint)
	v1.DELETE("/endpoints/:id", s.deleteEndpoint)
	v1.POST("/endpoints/:id/rotate-secret", s.rotateEndpointSecret)

	v1.POST("/api-keys", s.createAPIKey)
	v1.GET("/api-keys", s.listAPIKeys)
	v1.DELETE("/api-keys/:id", s.revokeAPIKey)

	if opts.AdminToken != "" {
		admin := r.Group("/api/v1/admin", limitBody(s.log), requireAdminToken(opts.AdminToken, s.log))
		admin.POST("/workspaces", s.createWorkspace)
	}

	if s.deliveries != nil {
		v1.GET("/deliveries", s.listDeliveries)
		v1.GET("/deliveries/:id", s.getDelivery)
		v1.POST("/deliveries/replay", s.replayDeliveries)
		v1.POST("/deliveries/:id/replay", s.replayDelivery)
		v1.POST("/deliveries/:id/retry", s.retryDelivery)
		v1.POST("/endpoints/:id/replay", s.replayEndpoint)
		v1.POST("/endpoints/:id/test", s.testEndpoint)
	}

	mountOpenAPI(r, s.baseURL)

	if opts.Extra != nil {
		opts.Extra(r)
	}
	return r
}

func isAPIPath(path string) bool { return path == "/api" || strings.HasPrefix(path, "/api/") }

func (s *server) noRoute(c *gin.Context) {
	if isAPIPath(c.Request.URL.Path) {
		writeError(c, s.log, &apiError{Status: http.StatusNotFound, Code: codeNotFound, Message: "no such API route"})
		return
	}
	c.String(http.StatusNotFound, "404 page not found")
}

func (s *server) noMethod(c *gin.Context) {
	writeError(c, s.log, &apiError{Status: http.StatusMethodNotAllowed, Code: codeMethodNotAllowed,
		Message: "method " + c.Request.Method + " is not allowed on this route"})
}
