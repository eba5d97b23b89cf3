// Package app wires ScanForge's parts into the processes the binary runs:
// Serve (serve.go: API, redirects, scan recorder) and Work (work.go:
// Temporal worker); the outbox runs in one of them (Config.OutboxIn).
// `scanforge dev` runs both in one process next to an embedded Temporal; the
// integration tests run them exactly the same way.
package app

import (
	"context"
	"log/slog"
	"net"
	"os"
	"time"

	"go.temporal.io/sdk/client"
	"golang.org/x/sync/errgroup"

	"github.com/scanforge/scanforge/internal/config"
	"github.com/scanforge/scanforge/internal/metrics"
	"github.com/scanforge/scanforge/internal/outbox"
	"github.com/scanforge/scanforge/internal/tracing"
	"github.com/scanforge/scanforge/models"
	"github.com/scanforge/scanforge/workflows"
)

// App holds the dependencies shared by Serve and Work.
type App struct {
	Config   config.Config
	Store    *models.Store
	Temporal client.Client
	Logger   *slog.Logger
	// EagerStart lets workflow starts hand their first task straight to a
	// worker in this process (dev mode runs both).
	EagerStart bool
	// DeliveryRevision is the workflows revision the outbox starts
	// deliveries with; 0: workflows.CurrentRevision (benchmarks only).
	DeliveryRevision int
	// GeoIPReload makes Serve re-read the GeoIP database at once whenever it
	// delivers a value: the binary relays SIGHUP there. The file is also
	// watched for changes (GeoIPPollInterval) either way.
	GeoIPReload <-chan os.Signal
	// Metrics collects the process's metrics, served at /metrics; nil: none.
	// The Temporal client should report to the same registry
	// (client.Options.MetricsHandler = Metrics.Temporal()).
	Metrics *metrics.Registry
	// TemporalCheck is /readyz's check of Temporal; nil: the client's health
	// check. serve and worker pass one that also checks the namespace and
	// says what is wrong; an error with IsPermanent() true reads as a
	// configuration mistake rather than a server not up yet.
	TemporalCheck func(context.Context) error
	// Tracing traces each scan from the redirect to the webhook POST; nil:
	// off. The Temporal client must have been dialled with its
	// TemporalInterceptors, which carry the trace through Temporal.
	Tracing *tracing.Tracing

	finishes *outbox.Finishes // set by Run: Serve and Work share one process
}

// Schedule is the delivery retry schedule the configuration asks for.
func Schedule(cfg config.Config) workflows.RetrySchedule {
	s := workflows.DefaultRetrySchedule()
	s.InitialInterval = cfg.RetryInitial
	s.MaxInterval = cfg.RetryMax
	s.Horizon = cfg.RetryHorizon
	// The activity must outlive the HTTP timeout inside it.
	s.AttemptTimeout = cfg.DeliveryTimeout + 15*time.Second
	return s
}

// Run runs Serve and Work together (dev mode, tests) until ctx ends.
func (a *App) Run(ctx context.Context, ln net.Listener) error {
	// The worker tells the outbox in this process when an attempt ends.
	a.finishes = outbox.NewFinishes()
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.Work(gctx) })
	g.Go(func() error { return a.Serve(gctx, ln) })
	return g.Wait()
}
