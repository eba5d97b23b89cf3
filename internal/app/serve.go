package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/sdk/client"

	"github.com/scanforge/scanforge/api"
	"github.com/scanforge/scanforge/internal/config"
	"github.com/scanforge/scanforge/internal/deliverylog"
	"github.com/scanforge/scanforge/internal/enrich"
	"github.com/scanforge/scanforge/internal/metrics"
	"github.com/scanforge/scanforge/internal/opevents"
	"github.com/scanforge/scanforge/internal/outbox"
	"github.com/scanforge/scanforge/internal/recorder"
	"github.com/scanforge/scanforge/internal/spool"
	"github.com/scanforge/scanforge/internal/visitor"
	"github.com/scanforge/scanforge/models"
)

// Serve runs the HTTP server on ln with the scan recorder and the outbox
// dispatcher until ctx ends, then shuts down in the order that loses nothing:
// stop taking requests and finish those in flight, commit the scans they
// queued, then stop draining (undispatched scans wait in the database).
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	cfg := a.Config
	enricher, closeGeo, err := a.enricher(ctx)
	if err != nil {
		return err
	}
	defer closeGeo()

	writer := outbox.NewWriter(a.Store)
	dispatcher := a.dispatcher(writer)
	// The dispatcher runs here unless the worker drains the outbox; the
	// backfills of new endpoints start from here either way.
	runDispatcher := a.Config.OutboxIn != config.OutboxInWorker
	var notifier *outbox.Notifier
	if !runDispatcher && a.onPostgres() {
		notifier = outbox.NewNotifier(a.Store.DB(), a.Logger.With("component", "outbox"))
	}
	committed := func(recorded int, pending []models.Scan) {
		a.Metrics.ScansRecorded(recorded)
		switch {
		case runDispatcher:
			dispatcher.Handoff(pending)
		case notifier != nil && len(pending) > 0:
			notifier.Notify()
		}
	}
	sp, mover, err := a.spool(writer, committed)
	if err != nil {
		return err
	}
	recOpts := recorder.Options{
		MaxWait:   recordMaxWait,
		Committed: committed,
		Logger:    a.Logger.With("component", "recorder"),
		Tracing:   a.Tracing,
	}
	if sp != nil {
		defer sp.Close()
		recOpts.Spool, recOpts.InsertTimeout = sp, recordInsertTimeout
	}
	rec := recorder.New(writer, recOpts)
	// Every replica derives the same day keys from the encryption key.
	visitors, err := visitor.New(cfg.EncryptionKey)
	if err != nil {
		return err
	}

	deliveries := deliverylog.New(a.Temporal, deliverylog.Options{
		Namespace:  a.namespace(),
		Schedule:   Schedule(cfg),
		EagerStart: a.EagerStart,
		DrainRate:  float64(cfg.DrainRate),
		Logger:     a.Logger.With("component", "deliverylog"),
	})
	opNotifier := opevents.New(a.Store, a.Temporal, Schedule(cfg), a.Logger.With("component", "opevents"))
	backlog := &opevents.BacklogWatch{
		Store: a.Store, Parked: deliveries, Notifier: opNotifier,
		Threshold: int64(cfg.BacklogAlert), Every: cfg.BacklogCheck, Logger: a.Logger.With("component", "backlog"),
	}
	router := api.NewRouter(api.Options{
		Store:          a.Store,
		Recorder:       rec,
		Enricher:       enricher,
		Visitors:       visitors,
		TrustedProxies: cfg.TrustedProxies,
		PublicBaseURL:  cfg.PublicURL,
		AdminToken:     cfg.AdminToken,
		Logger:         a.Logger.With("component", "api"),
		Now:            time.Now,
		Extra:          a.health,
		Metrics:        a.Metrics,
		Tracing:        a.Tracing,
		// The SSRF guard's early check; the dial-time one is in Work.
		EndpointURLCheck: a.egressGuard().CheckURL,
		RateLimit:        api.RateLimit{PerSecond: float64(cfg.APIRateLimit), Burst: cfg.APIRateBurst},
		Deliveries:       deliveries,
		Drainer:          deliveries,
		Backfiller:       outbox.NewBackfiller(a.Store, dispatcher),
		Notifier:         opNotifier,
	})
	a.watchStore()
	srv := &http.Server{Handler: router, ReadHeaderTimeout: 10 * time.Second}

	recCtx, stopRecorder := context.WithCancel(context.WithoutCancel(ctx))
	recDone := make(chan struct{})
	go func() { rec.Run(recCtx); close(recDone) }()

	ckptCtx, stopCheckpoints := context.WithCancel(context.WithoutCancel(ctx))
	ckptDone := make(chan struct{})
	go func() { a.checkpointWAL(ckptCtx, writer); close(ckptDone) }()

	rollCtx, stopRolls := context.WithCancel(context.WithoutCancel(ctx))
	rollDone := make(chan struct{})
	go func() { a.rollScans(rollCtx); close(rollDone) }()

	backlogCtx, stopBacklog := context.WithCancel(context.WithoutCancel(ctx))
	backlogDone := make(chan struct{})
	go func() { backlog.Run(backlogCtx); close(backlogDone) }()

	moverCtx, stopMover := context.WithCancel(context.WithoutCancel(ctx))
	moverDone := make(chan struct{})
	go func() {
		if mover != nil {
			mover.Run(moverCtx)
		}
		close(moverDone)
	}()

	dispCtx, stopDispatcher := context.WithCancel(context.WithoutCancel(ctx))
	dispDone := make(chan struct{})
	go func() {
		switch {
		case runDispatcher:
			dispatcher.Run(dispCtx)
		case notifier != nil:
			notifier.Run(dispCtx)
		}
		close(dispDone)
	}()

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	var err2 error
	select {
	case <-ctx.Done():
	case err2 = <-serveErr:
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		a.Logger.Warn("http shutdown", "error", err)
	}
	stopRecorder()
	<-recDone
	// Scans left in the spool wait there for the next start.
	stopMover()
	<-moverDone
	stopCheckpoints()
	<-ckptDone
	stopRolls()
	<-rollDone
	stopBacklog()
	<-backlogDone
	stopDispatcher()
	<-dispDone
	if err2 != nil && !errors.Is(err2, http.ErrServerClosed) {
		return fmt.Errorf("http server: %w", err2)
	}
	return nil
}

// recordMaxWait bounds how long a scanner waits for its scan to be made
// durable. Past it the scan is logged as not recorded and the scanner
// redirected.
const recordMaxWait = 5 * time.Second

// recordInsertTimeout bounds one insert of the recorder when a spool takes
// what the database does not: a database that does not answer within it
// counts as unavailable, and the batch goes to the spool while its
// redirects still wait (recordMaxWait).
const recordInsertTimeout = 3 * time.Second

// spool opens the local spool of the configuration and its mover, which
// hands the scans it stores to committed; nil, nil without a spool
// directory.
func (a *App) spool(writer *outbox.Writer, committed func(int, []models.Scan)) (*spool.Spool, *spool.Mover, error) {
	if a.Config.SpoolDir == "" {
		return nil, nil, nil
	}
	logger := a.Logger.With("component", "spool")
	sp, err := spool.Open(a.Config.SpoolDir, spool.Options{Logger: logger})
	if err != nil {
		return nil, nil, fmt.Errorf("SCANFORGE_SPOOL_DIR: %w", err)
	}
	mover := spool.NewMover(sp, writer, spool.MoverOptions{Committed: committed, Logger: logger})
	a.Metrics.WatchSpool(func() metrics.Spool {
		return metrics.Spool{Spooled: sp.Spooled(), Moved: mover.Moved(), Quarantined: mover.Quarantined(), Backlog: sp.Backlog()}
	})
	return sp, mover, nil
}

// checkpointWAL checkpoints the SQLite app database every second until
// ctx ends (see outbox.Writer.CheckpointWAL), and once more at the end.
// Every second: a rarer checkpoint has more to copy and stalls the
// writer's commits, and with them the redirects, for longer.
func (a *App) checkpointWAL(ctx context.Context, writer *outbox.Writer) {
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			if _, err := writer.CheckpointWAL(context.WithoutCancel(ctx)); err != nil {
				a.Logger.Warn("sqlite checkpoint", "error", err)
			}
			return
		case <-ticker.C:
			if _, err := writer.CheckpointWAL(ctx); err != nil && ctx.Err() == nil {
				a.Logger.Warn("sqlite checkpoint", "error", err)
			}
		}
	}
}

func (a *App) enricher(ctx context.Context) (*enrich.Enricher, func(), error) {
	path := a.Config.GeoIPDatabase
	if path == "" {
		a.Logger.Warn("no GeoIP2 City database configured (SCANFORGE_GEOIP_DB): scans will carry empty geo")
		return enrich.New(nil), func() {}, nil
	}
	geo, err := enrich.OpenGeoIP(path)
	if err != nil {
		return nil, nil, fmt.Errorf("geoip: %w", err)
	}
	log := a.Logger.With("component", "geoip", "path", path)
	watchCtx, stopWatch := context.WithCancel(ctx)
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		geo.Watch(watchCtx, a.GeoIPReload, GeoIPPollInterval, func(err error) {
			if err != nil {
				log.Error("GeoIP database not reloaded; the previous one stays in use", "error", err)
				return
			}
			log.Info("GeoIP database reloaded")
		})
	}()
	return enrich.New(geo), func() { stopWatch(); <-watchDone; geo.Close() }, nil
}

// health mounts /healthz (the process answers), /readyz (the database
// and Temporal answer) and, with metrics, /metrics.
func (a *App) health(r *gin.Engine) {
	if a.Metrics != nil {
		r.GET("/metrics", gin.WrapH(a.Metrics.Handler()))
	}
	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/readyz", func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), 3*time.Second)
		defer cancel()
		checks := gin.H{"database": "ok", "temporal": "ok"}
		status := http.StatusOK
		if err := a.Store.Ping(ctx); err != nil {
			checks["database"], status = "unreachable", http.StatusServiceUnavailable
		}
		if err := a.checkTemporal(ctx); err != nil {
			checks["temporal"], status = "unreachable", http.StatusServiceUnavailable
			var diagnosed interface{ IsPermanent() bool }
			if errors.As(err, &diagnosed) {
				if diagnosed.IsPermanent() {
					checks["temporal"] = "misconfigured"
				}
				checks["temporal_error"] = err.Error()
			}
		}
		c.JSON(status, checks)
	})
}

func (a *App) checkTemporal(ctx context.Context) error {
	if a.TemporalCheck != nil {
		return a.TemporalCheck(ctx)
	}
	_, err := a.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{})
	return err
}

// GeoIPPollInterval is how often Serve checks whether the GeoIP database
// file was replaced.
const GeoIPPollInterval = 5 * time.Second
