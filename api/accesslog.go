package api

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/scanforge/scanforge/internal/metrics"
)

// quietPaths are answered often and uneventfully (probes, scrapes): their
// access log lines are debug, like redirects.
var quietPaths = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}

// accessLog logs every answered request with its request ID and counts it in
// m (nil: no metrics). It logs the path without the query string and no
// header at all, so neither API keys (Authorization) nor anything a client
// put in a query reaches the logs. Management API calls are logged at info;
// redirects and probes, which come by the thousand, at debug; 5xx answers
// at warn.
func accessLog(log *slog.Logger, m *metrics.Registry, now func() time.Time) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := now()
		c.Next()
		elapsed := now().Sub(start)
		status := c.Writer.Status()
		route := c.FullPath()

		m.ObserveRequest(route, c.Request.Method, status, elapsed)
		source, isRedirect := redirectSource(route)
		if isRedirect {
			m.ObserveRedirect(source, status, elapsed)
		}

		level := slog.LevelInfo
		switch {
		case status >= http.StatusInternalServerError:
			level = slog.LevelWarn
		case isRedirect || quietPaths[route]:
			level = slog.LevelDebug
		}
		ctx := c.Request.Context()
		if !log.Enabled(ctx, level) {
			return
		}
		attrs := []slog.Attr{
			slog.String("request_id", requestID(c)),
			slog.String("method", c.Request.Method),
			slog.String("path", c.Request.URL.Path),
			slog.String("route", route),
			slog.Int("status", status),
			slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
			slog.Int("bytes", max(c.Writer.Size(), 0)),
		}
		if ws := workspaceID(c); ws != "" {
			attrs = append(attrs, slog.String("workspace_id", ws))
		}
		log.LogAttrs(ctx, level, "request", attrs...)
	}
}

// redirectSource tells whether route is a public redirect and of which
// source (qr or link).
func redirectSource(route string) (string, bool) {
	switch {
	case strings.HasPrefix(route, "/q/"):
		return sourceQR, true
	case strings.HasPrefix(route, "/l/"):
		return sourceLink, true
	}
	return "", false
}
