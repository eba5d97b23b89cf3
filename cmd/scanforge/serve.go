package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"time"

	"go.temporal.io/sdk/client"
	"golang.org/x/sync/errgroup"

	"github.com/scanforge/scanforge/internal/app"
	"github.com/scanforge/scanforge/internal/config"
	"github.com/scanforge/scanforge/internal/metrics"
	"github.com/scanforge/scanforge/internal/temporalconn"
	"github.com/scanforge/scanforge/internal/tracing"
	"github.com/scanforge/scanforge/models"
)

// production loads the configuration of mode and opens the database.
func production(mode config.Mode) (config.Config, *slog.Logger, *models.Store, error) {
	cfg, err := config.Load(mode, os.Getenv)
	if err != nil {
		return config.Config{}, nil, nil, fmt.Errorf("configuration:\n%w", err)
	}
	logger := newLogger(cfg.LogLevel, cfg.LogFormat, os.Stderr)
	logger.Info("starting", "mode", string(mode), "config", cfg)
	db, err := models.Open(cfg.DatabaseURL)
	if err != nil {
		return cfg, logger, nil, err
	}
	if mode != config.ModeMigrate {
		if err := models.CheckSchema(context.Background(), db); err != nil {
			return cfg, logger, nil, err
		}
	}
	storeOpts, err := secretStoreOptions(cfg.EncryptionKey)
	if err != nil {
		return cfg, logger, nil, err
	}
	store := models.NewStore(db, time.Now, storeOpts...)
	if mode == config.ModeServe || mode == config.ModeWorker {
		if err := prepareSecrets(context.Background(), store, logger); err != nil {
			return cfg, logger, nil, err
		}
	}
	return cfg, logger, store, nil
}

// temporalTarget is how serve and worker reach Temporal; the SDK's metrics
// go to reg, and the trace of each scan goes through it with tr.
func temporalTarget(cfg config.Config, logger *slog.Logger, reg *metrics.Registry, tr *tracing.Tracing) (*temporalconn.Target, client.Options, error) {
	target, err := temporalconn.New(cfg)
	if err != nil {
		return nil, client.Options{}, fmt.Errorf("temporal connection: %w", err)
	}
	opts := target.ClientOptions(logger, reg.Temporal())
	if opts.Interceptors, err = tr.TemporalInterceptors(); err != nil {
		return nil, client.Options{}, err
	}
	return target, opts, nil
}

// startTracing builds the tracing cfg asks for; stop exports the spans
// still buffered, within a bound.
func startTracing(ctx context.Context, cfg config.Config, logger *slog.Logger) (tr *tracing.Tracing, stop func(), err error) {
	tr, err = tracing.New(ctx, cfg, version, logger)
	if err != nil {
		return nil, nil, err
	}
	if tr.Enabled() {
		logger.Info("tracing: exporting by OTLP", "protocol", cfg.Tracing.TracesProtocol, "sampler", cfg.Tracing.Sampler)
	}
	return tr, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tr.Shutdown(ctx); err != nil {
			logger.Warn("tracing: spans not exported at shutdown", "error", err)
		}
	}, nil
}

// runServe runs the API, redirects, scan recorder and outbox. It connects to
// Temporal lazily: redirects and scan recording never wait on Temporal, and
// the outbox keeps scans until Temporal answers.
func runServe(ctx context.Context) error {
	cfg, logger, store, err := production(config.ModeServe)
	if err != nil {
		return err
	}
	reg := metrics.New()
	tr, stopTracing, err := startTracing(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer stopTracing()
	target, opts, err := temporalTarget(cfg, logger, reg, tr)
	if err != nil {
		return err
	}
	tc, err := client.NewLazyClient(opts)
	if err != nil {
		return fmt.Errorf("temporal client: %w", err)
	}
	defer tc.Close()
	// Say at start whether Temporal is reachable and rightly configured;
	// nothing waits for it.
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go target.Watch(watchCtx, tc, logger)
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.HTTPAddr, err)
	}
	logger.Info("serving", "addr", ln.Addr().String(), "public_url", cfg.PublicURL)
	a := &app.App{Config: cfg, Store: store, Temporal: tc, Logger: logger, GeoIPReload: hangups(), Metrics: reg, Tracing: tr,
		TemporalCheck: func(ctx context.Context) error { return target.Check(ctx, tc) }}
	return a.Serve(ctx, ln)
}

// runWorker runs the delivery worker. It waits for Temporal to come up, so
// that start order does not matter in docker compose, but stops at once on
// a mistake waiting cannot fix (wrong CA, refused certificate, unknown
// namespace): a supervisor restarting it shows the message every time.
func runWorker(ctx context.Context) error {
	cfg, logger, store, err := production(config.ModeWorker)
	if err != nil {
		return err
	}
	// Listen first, so that a taken port fails the start at once rather
	// than after Temporal has come up.
	opsLn, err := net.Listen("tcp", cfg.MetricsAddr)
	if err != nil {
		return fmt.Errorf("listen on %s (SCANFORGE_METRICS_ADDR): %w", cfg.MetricsAddr, err)
	}
	defer opsLn.Close()
	reg := metrics.New()
	tr, stopTracing, err := startTracing(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer stopTracing()
	target, opts, err := temporalTarget(cfg, logger, reg, tr)
	if err != nil {
		return err
	}
	var tc client.Client
	for delay := time.Second; ; delay = min(delay*2, 30*time.Second) {
		tc, err = target.Dial(ctx, opts)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		if temporalconn.IsPermanent(err) {
			return fmt.Errorf("temporal: %w", err)
		}
		logger.Warn("temporal not reachable yet; retrying", "in", delay, "error", err.Error())
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
	}
	defer tc.Close()
	logger.Info("worker polling", "temporal", cfg.TemporalAddress, "namespace", cfg.TemporalNamespace,
		"metrics", "http://"+opsLn.Addr().String()+"/metrics")
	a := &app.App{Config: cfg, Store: store, Temporal: tc, Logger: logger, Metrics: reg, Tracing: tr,
		TemporalCheck: func(ctx context.Context) error { return target.Check(ctx, tc) }}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.ServeOps(gctx, opsLn) })
	g.Go(func() error { return a.Work(gctx) })
	return g.Wait()
}

func runMigrate(ctx context.Context, stdout io.Writer) error {
	_, _, store, err := production(config.ModeMigrate)
	if err != nil {
		return err
	}
	version, err := models.MigrateSchema(ctx, store.DB())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "schema is up to date (version %d)\n", version)
	return nil
}
