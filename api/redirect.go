package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/scanforge/scanforge/internal/clientip"
	"github.com/scanforge/scanforge/internal/enrich"
	"github.com/scanforge/scanforge/internal/id"
	"github.com/scanforge/scanforge/models"
)

// Sources of a scan: which public URL was followed.
const (
	sourceQR   = "qr"
	sourceLink = "link"
)

const inactivePage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Code not active</title></head>
<body><h1>This code is not active</h1><p>The QR code or link you followed is unknown or has been switched off.</p></body></html>
`

const unavailablePage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Try again</title></head>
<body><h1>Temporarily unavailable</h1><p>Please try again in a moment.</p></body></html>
`

// redirect answers a scan of a code: record it, durably, then 302 to the
// code's current destination. A failure to record never stops the redirect.
//
// Its span is the root of the scan's trace. A traceparent the request may
// carry is not followed: scanners are the public, and their trace IDs
// would let anyone pick, and collide with, the IDs of our traces.
func (s *server) redirect(source string) gin.HandlerFunc {
	return func(c *gin.Context) {
		// A root span: nothing before it put one in the request's context.
		ctx, span := s.tracing.Start(c.Request.Context(), "redirect", trace.SpanKindServer)
		defer span.End()
		if span.IsRecording() {
			span.SetAttributes(attribute.String("http.request.method", c.Request.Method),
				attribute.String("http.route", c.FullPath()), attribute.String("scanforge.scan.source", source))
			defer func() { span.SetAttributes(attribute.Int("http.response.status_code", c.Writer.Status())) }()
		}
		// Each scan must reach us: no cache may answer in our place.
		c.Header("Cache-Control", "no-store")
		slug := c.Param("slug")
		if !isSlug(slug) {
			s.notActive(c)
			return
		}
		code, err := s.codes.get(ctx, slug)
		if errors.Is(err, models.ErrNotFound) {
			s.notActive(c)
			return
		}
		if err != nil {
			s.log.ErrorContext(ctx, "code lookup failed", "request_id", requestID(c), "slug", slug, "error", err)
			c.Data(http.StatusServiceUnavailable, "text/html; charset=utf-8", []byte(unavailablePage))
			return
		}
		if !code.Active || !isRedirectable(code.DestinationURL) {
			s.notActive(c)
			return
		}

		scan := s.newScan(c.Request, code, source)
		if span.IsRecording() {
			span.SetAttributes(attribute.String("scanforge.scan.id", scan.ID), attribute.String("scanforge.code.id", code.ID))
		}
		// The scan is recorded even if the scanner hangs up meanwhile; the
		// recorder bounds the wait (app: recordMaxWait).
		ctx = context.WithoutCancel(ctx)
		if err := s.recorder.Record(ctx, scan); err != nil {
			s.log.ErrorContext(ctx, "scan not recorded", "request_id", requestID(c),
				"scan_id", scan.ID, "code_id", code.ID, "error", err)
		}
		c.Redirect(http.StatusFound, code.DestinationURL)
	}
}

func (s *server) notActive(c *gin.Context) {
	c.Data(http.StatusNotFound, "text/html; charset=utf-8", []byte(inactivePage))
}

// isRedirectable reports whether dest is an absolute http(s) URL without
// credentials: whatever the database holds, we never send a scanner to
// javascript: or data: URLs, nor to "https://trusted.example@evil.example".
func isRedirectable(dest string) bool {
	u, err := url.Parse(dest)
	return err == nil && isHTTPScheme(u.Scheme) && u.Host != "" && u.User == nil
}

// newScan builds the scan record of r. Text from the request is made valid
// UTF-8 without NUL bytes and cut to its column's size, so that no request,
// however odd, fails the insert.
func (s *server) newScan(r *http.Request, code models.Code, source string) models.Scan {
	now := s.now().UTC().Truncate(time.Microsecond)
	ip := clientip.From(r, s.trusted)
	ua := r.UserAgent()
	var res enrich.Result
	if s.enricher != nil {
		res = s.enricher.Enrich(enrich.Input{IP: ip, Method: r.Method, UserAgent: ua, Header: r.Header})
	}
	// The IP goes into the visitor key and the geo lookup, and no further.
	var visitorKey string
	if s.visitors != nil {
		visitorKey = s.visitors.Key(now, ip, ua, code.ID)
	}
	return models.Scan{
		ID:             id.New(id.Scan, now),
		WorkspaceID:    code.WorkspaceID,
		CodeID:         code.ID,
		Slug:           code.Slug,
		CodeName:       code.Name,
		Timestamp:      now,
		Source:         source,
		DestinationURL: code.DestinationURL,
		Country:        clean(res.Geo.Country, 100),
		CountryCode:    clean(res.Geo.CountryCode, 2),
		Region:         clean(res.Geo.Region, 100),
		City:           clean(res.Geo.City, 100),
		Latitude:       res.Geo.Latitude,
		Longitude:      res.Geo.Longitude,
		Timezone:       clean(res.Geo.Timezone, 64),
		DeviceType:     clean(res.Device.Type, 16),
		Browser:        clean(res.Device.Browser, 64),
		BrowserVersion: clean(res.Device.BrowserVersion, 64),
		OS:             clean(res.Device.OS, 64),
		OSVersion:      clean(res.Device.OSVersion, 64),
		Referrer:       clean(r.Referer(), 2048),
		UserAgent:      clean(ua, 1024),
		IsBot:          res.Bot.IsBot,
		BotReason:      clean(res.Bot.Reason, 32),
		VisitorKey:     visitorKey,
	}
}

// clean makes s valid UTF-8 without NUL bytes (PostgreSQL refuses both) and
// cuts it to at most maxBytes bytes on a character boundary.
func clean(s string, maxBytes int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\x00", "")
	if len(s) <= maxBytes {
		return s
	}
	cut := maxBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
