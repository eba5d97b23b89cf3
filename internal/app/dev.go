package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/scanforge/scanforge/internal/config"
	"github.com/scanforge/scanforge/internal/devserver"
	"github.com/scanforge/scanforge/internal/metrics"
	"github.com/scanforge/scanforge/internal/tracing"
	"github.com/scanforge/scanforge/models"
	"github.com/scanforge/scanforge/workflows"
)

// DevStack is what `scanforge dev` runs the App on: an embedded Temporal
// server on a SQLite file in the data directory (with its UI), the migrated
// app database of the configuration, and a client of that server. The
// benchmark assembles its stack process with it too, so that it measures
// what dev runs.
type DevStack struct {
	Temporal *devserver.Server
	Client   client.Client
	Store    *models.Store
	Metrics  *metrics.Registry
	Tracing  *tracing.Tracing // nil: off
}

// DevOptions are what callers of StartDev choose for themselves.
type DevOptions struct {
	Config config.Config // the data directory must exist
	Logger *slog.Logger
	// StoreOptions configure the app store (the endpoint secrets' key).
	StoreOptions []models.StoreOption
	// DynamicConfig overrides the embedded server's tuned dynamic config
	// (experiments only).
	DynamicConfig map[string]any
	// Tracing is the process's tracing (the client gets its Temporal
	// interceptors); nil: off.
	Tracing *tracing.Tracing
}

// StartDev starts the dev stack's parts. Close stops them.
func StartDev(ctx context.Context, opts DevOptions) (*DevStack, error) {
	cfg, logger := opts.Config, opts.Logger
	ts, err := devserver.Start(ctx, devserver.Options{
		DatabaseFile: filepath.Join(cfg.DataDir, "temporal.db"),
		FrontendPort: cfg.TemporalPort,
		UIPort:       cfg.UIPort,
		Namespace:    cfg.TemporalNamespace,
		Retention:    cfg.HistoryRetention,
		// The delivery log's index: registered before the worker starts.
		SearchAttributes: workflows.SearchAttributeTypes(),
		DynamicConfig:    opts.DynamicConfig,
		Logger:           logger.With("component", "temporal"),
	})
	if err != nil {
		return nil, fmt.Errorf("embedded temporal: %w", err)
	}
	d := &DevStack{Temporal: ts, Metrics: metrics.New(), Tracing: opts.Tracing}
	interceptors, err := opts.Tracing.TemporalInterceptors()
	if err != nil {
		return nil, errors.Join(err, d.Close())
	}

	db, err := models.Open(cfg.DatabaseURL)
	if err != nil {
		return nil, errors.Join(err, d.Close())
	}
	d.Store = models.NewStore(db, time.Now, opts.StoreOptions...)
	if err := models.Migrate(db); err != nil {
		return nil, errors.Join(err, d.Close())
	}
	d.Client, err = client.Dial(client.Options{
		HostPort:       ts.FrontendAddress(),
		Namespace:      ts.Namespace(),
		Logger:         sdklog.NewStructuredLogger(logger.With("component", "temporal-client")),
		MetricsHandler: d.Metrics.Temporal(),
		Interceptors:   interceptors,
	})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("temporal client: %w", err), d.Close())
	}
	return d, nil
}

// App returns the App that dev runs on the stack: API, redirects, outbox
// and worker in this process, workflow starts handed eagerly to the worker.
func (d *DevStack) App(cfg config.Config, logger *slog.Logger) *App {
	return &App{Config: cfg, Store: d.Store, Temporal: d.Client, Logger: logger, EagerStart: true, Metrics: d.Metrics, Tracing: d.Tracing}
}

// Close stops what StartDev started, client first.
func (d *DevStack) Close() error {
	if d.Client != nil {
		d.Client.Close()
	}
	var err error
	if d.Store != nil {
		if sqlDB, dbErr := d.Store.DB().DB(); dbErr == nil {
			err = sqlDB.Close()
		}
	}
	d.Temporal.Stop()
	return err
}
