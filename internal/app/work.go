package app

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/worker"

	"github.com/scanforge/scanforge/activities"
	"github.com/scanforge/scanforge/internal/config"
	"github.com/scanforge/scanforge/internal/deliverylog"
	"github.com/scanforge/scanforge/internal/opevents"
	"github.com/scanforge/scanforge/internal/outbox"
	"github.com/scanforge/scanforge/workflows"
)

// Work runs the Temporal worker of the delivery task queue until ctx ends;
// running attempts get a bounded time to finish.
func (a *App) Work(ctx context.Context) error {
	// Before polling: a workflow task that upserts an unknown search
	// attribute fails until the attribute exists.
	if err := a.registerSearchAttributes(ctx); err != nil {
		if ctx.Err() != nil {
			return nil // stopped while starting
		}
		return err
	}
	a.logEgressPolicy()
	// Operational events retry on the default schedule, whatever the
	// scans' deliveries are configured with.
	opSchedule := workflows.DefaultRetrySchedule()
	opSchedule.AttemptTimeout = a.Config.DeliveryTimeout + 15*time.Second
	opts := activities.Options{
		Dial:        a.egressGuard().DialContext,
		Timeout:     a.Config.DeliveryTimeout,
		Logger:      a.Logger.With("component", "deliverer"),
		Metrics:     a.Metrics,
		Health:      a.Store,
		AutoDisable: activities.AutoDisable{After: a.Config.AutoDisableAfter, GiveUps: a.Config.AutoDisableGiveUps},
		Notifier:    opevents.New(a.Store, a.Temporal, opSchedule, a.Logger.With("component", "opevents")),
		Tracing:     a.Tracing,
		Pacer:       a.Store,
	}
	drains := a.Config.Mode == config.ModeWorker && a.Config.OutboxIn == config.OutboxInWorker
	if drains {
		// Starts from this process's client are eager: the first attempt
		// runs here, and tells the dispatcher when it ends.
		a.EagerStart, a.finishes = true, outbox.NewFinishes()
	}
	if a.finishes != nil {
		opts.Finished = a.finishes.AttemptFinished
	}
	deliverer := activities.NewDeliverer(a.Store, opts)
	w := worker.New(a.Temporal, workflows.TaskQueue, worker.Options{
		MaxConcurrentWorkflowTaskPollers: a.Config.WorkerPollers,
		MaxConcurrentActivityTaskPollers: a.Config.WorkerPollers,
		WorkerStopTimeout:                30 * time.Second,
	})
	workflows.Register(w, deliverer)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	if drains {
		// The dispatcher stops before the worker: its last starts still
		// find a worker to run them.
		a.drainOutbox(ctx)
	} else {
		<-ctx.Done()
	}
	w.Stop()
	return nil
}

// dispatcher returns the outbox dispatcher of this process's configuration.
func (a *App) dispatcher(writer *outbox.Writer) *outbox.Dispatcher {
	cfg := a.Config
	return outbox.New(writer, a.Temporal, outbox.Options{
		Concurrency: cfg.OutboxConcurrency,
		Schedule:    Schedule(cfg),
		EagerStart:  a.EagerStart,
		Revision:    a.DeliveryRevision,
		Finishes:    a.finishes,
		ParkFor:     cfg.ParkFor,
		Logger:      a.Logger.With("component", "outbox"),
		Metrics:     a.Metrics,
		Tracing:     a.Tracing,
	})
}

// drainOutbox runs the outbox dispatcher in the worker process
// (SCANFORGE_OUTBOX_IN=worker) until ctx ends. On PostgreSQL one worker at a
// time drains, woken by serve's notifications; on SQLite (one node) the
// dispatcher polls.
func (a *App) drainOutbox(ctx context.Context) {
	d := a.dispatcher(outbox.NewWriter(a.Store))
	if a.onPostgres() {
		outbox.RunLeader(ctx, a.Config.DatabaseURL, d, a.Logger.With("component", "outbox"))
		return
	}
	d.Run(ctx)
}

// onPostgres reports whether the app database is PostgreSQL.
func (a *App) onPostgres() bool { return a.Store.DB().Dialector.Name() == "postgres" }

// registerSearchAttributes registers the delivery log's search attributes
// on the namespace, idempotently, so that `scanforge worker` sets up an
// external Temporal by itself.
func (a *App) registerSearchAttributes(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	added, err := deliverylog.RegisterSearchAttributes(ctx, a.Temporal.OperatorService(), a.namespace())
	if err != nil {
		return fmt.Errorf("register search attributes (or create them with `temporal operator search-attribute create`): %w", err)
	}
	if added {
		a.Logger.Info("registered delivery search attributes", "namespace", a.namespace())
	}
	return nil
}

// namespace is the Temporal namespace the client was dialled with.
func (a *App) namespace() string {
	if a.Config.TemporalNamespace == "" {
		return "default"
	}
	return a.Config.TemporalNamespace
}
