package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/scanforge/scanforge/internal/metrics"
)

// opsShutdownTimeout bounds how long the operations server waits for a
// scrape or probe in flight when it stops.
const opsShutdownTimeout = 5 * time.Second

// watchStore makes the metrics report the outbox backlog and the database
// connection pool, both read at scrape time.
func (a *App) watchStore() {
	if a.Metrics == nil {
		return
	}
	a.Metrics.WatchOutbox(func(ctx context.Context) (metrics.Backlog, error) {
		pending, oldest, err := a.Store.OutboxBacklog(ctx)
		return metrics.Backlog{Pending: pending, Oldest: oldest}, err
	}, time.Now)
	if sqlDB, err := a.Store.DB().DB(); err == nil {
		a.Metrics.WatchDatabase(sqlDB)
	}
}

// ServeOps serves /healthz, /readyz and /metrics on ln until ctx ends: the
// operations port of `scanforge worker`, which has no API to put them on.
func (a *App) ServeOps(ctx context.Context, ln net.Listener) error {
	r := gin.New()
	a.health(r)
	if sqlDB, err := a.Store.DB().DB(); err == nil {
		a.Metrics.WatchDatabase(sqlDB)
	}
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		return fmt.Errorf("operations server: %w", err)
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), opsShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		a.Logger.Warn("operations server shutdown", "error", err)
	}
	return nil
}
