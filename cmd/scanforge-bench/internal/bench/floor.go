package bench

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/scanforge/scanforge/internal/enrich"
	"github.com/scanforge/scanforge/internal/id"
	"github.com/scanforge/scanforge/internal/metrics"
	"github.com/scanforge/scanforge/internal/outbox"
	"github.com/scanforge/scanforge/internal/recorder"
	"github.com/scanforge/scanforge/models"
)

// floor is the durable floor of the redirects scenario: gin's router and
// a handler that makes a scan durable through a group-commit recorder of
// its own, into the stack's store, then answers 302. It is ScanForge's
// redirect without the rest: no middleware (request ID, access log and
// metrics, panic recovery), no code cache, no enrichment per request, no
// checks. It runs inside the stack process, so it shares ScanForge's heap,
// garbage collector and database connection. Between bare Gin and the
// floor lies what recording a scan durably costs on this machine; between
// the floor and ScanForge, what the rest of the redirect path costs.
type floor struct {
	store *models.Store
	rec   *recorder.Recorder

	mu        sync.Mutex
	templates map[string]models.Scan // by slug: the code's fields and the first request's
}

func newFloor(store *models.Store, m *metrics.Registry) *floor {
	return &floor{
		store: store,
		// Its batches count in the same metric as ScanForge's, for the
		// report's scans/commit column.
		rec:       recorder.New(outbox.NewWriter(store), recorder.Options{Committed: func(n int, _ []models.Scan) { m.ScansRecorded(n) }}),
		templates: map[string]models.Scan{},
	}
}

// serve answers on ln until ctx ends; the recorder commits what it took.
func (f *floor) serve(ctx context.Context, ln net.Listener) {
	recDone := make(chan struct{})
	go func() { f.rec.Run(ctx); close(recDone) }()
	r := gin.New()
	r.GET("/q/:slug", f.redirect)
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go func() { <-ctx.Done(); _ = srv.Close() }()
	_ = srv.Serve(ln)
	<-recDone
}

func (f *floor) redirect(c *gin.Context) {
	scan, err := f.template(c)
	if err != nil {
		c.Status(http.StatusNotFound)
		return
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	scan.ID = id.New(id.Scan, now)
	scan.Timestamp = now
	if err := f.rec.Record(c.Request.Context(), scan); err != nil {
		c.Status(http.StatusServiceUnavailable)
		return
	}
	c.Redirect(http.StatusFound, scan.DestinationURL)
}

// template returns the scan recorded for slug, less its ID and time: the
// same columns ScanForge fills for the harness's requests (which all send
// one User-Agent, from one address), worked out once.
func (f *floor) template(c *gin.Context) (models.Scan, error) {
	slug := c.Param("slug")
	f.mu.Lock()
	defer f.mu.Unlock()
	if t, ok := f.templates[slug]; ok {
		return t, nil
	}
	code, err := f.store.GetCodeBySlug(c.Request.Context(), slug)
	if err != nil {
		return models.Scan{}, err
	}
	ip, _, _ := net.SplitHostPort(c.Request.RemoteAddr)
	ua := c.Request.UserAgent()
	device := enrich.New(nil).ParseDevice(ua) // once per slug: templates are cached
	t := models.Scan{
		WorkspaceID: code.WorkspaceID, CodeID: code.ID, Slug: code.Slug, CodeName: code.Name,
		Source: "qr", DestinationURL: code.DestinationURL, VisitorKey: floorVisitorKey(ip, ua),
		DeviceType: device.Type, Browser: device.Browser, BrowserVersion: device.BrowserVersion,
		OS: device.OS, OSVersion: device.OSVersion,
		Referrer: c.Request.Referer(), UserAgent: ua,
	}
	f.templates[slug] = t
	return t, nil
}

// floorVisitorKey stands in for the day's visitor key (internal/visitor):
// 32 hex digits of a hash of the client.
func floorVisitorKey(ip, ua string) string {
	sum := sha256.Sum256([]byte(ip + "\x00" + ua))
	return hex.EncodeToString(sum[:16])
}
