package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/sdk/client"
	"golang.org/x/sync/errgroup"

	"github.com/scanforge/scanforge/internal/metrics"
	"github.com/scanforge/scanforge/internal/tracing"
	"github.com/scanforge/scanforge/models"
	"github.com/scanforge/scanforge/webhook"
	"github.com/scanforge/scanforge/workflows"
)

// Store is what the dispatcher needs from the database.
type Store interface {
	PendingScans(ctx context.Context, before time.Time, limit int) ([]models.Scan, error)
	SubscribedEndpoints(ctx context.Context, workspaceID, codeID string, isBot bool) ([]models.Endpoint, error)
	MarkDispatched(ctx context.Context, scanIDs []string) error
}

// Starter starts workflows: the subset of client.Client the dispatcher uses.
type Starter = workflows.Starter

// Options tune a Dispatcher.
type Options struct {
	Concurrency  int           // parallel workflow starts; default 16
	BatchSize    int           // scans read per pass; default 256
	PollInterval time.Duration // safety-net poll; default 1s
	// PollGrace is how old a pending scan must be for the periodic poll to
	// take it, so that the poll leaves the scans being handed over in memory
	// (here or on another replica) to their dispatcher. Default 2s.
	PollGrace time.Duration
	// MaxHandoff bounds the scans held in memory between the recorder and
	// the dispatcher; beyond it scans wait in the database for the poll.
	// Default 4096.
	MaxHandoff  int
	MinInterval time.Duration // least time between the starts of two passes; default 20ms
	Schedule    workflows.RetrySchedule
	EagerStart  bool // the worker runs in this process: let the server hand it the first task directly
	Logger      *slog.Logger
	Metrics     *metrics.Registry // counts workflow starts; nil: none
	// MaxInFlight bounds the deliveries started and not yet finished, so a
	// burst waits here, in the database, instead of piling up as running
	// workflows, each of which costs the server and the worker memory and
	// CPU. Default 64.
	MaxInFlight int
	// Revision is the workflows revision new deliveries start with;
	// 0: workflows.CurrentRevision (revision 0 is only for runs started
	// before revisions). The benchmark starts earlier ones to compare.
	Revision int
	// Finishes, when the worker runs in this process, tells the dispatcher
	// that a delivery's attempt has ended, so its in-flight token is freed
	// without asking the server for the workflow's result. nil: ask.
	Finishes *Finishes
	// InFlightFor is the longest a delivery counts against MaxInFlight: one
	// still running after it (an endpoint being retried) waits on a durable
	// timer and costs nothing meanwhile. Default 10s.
	InFlightFor time.Duration
	// Clock times polls, passes and in-flight limits; nil: the real clock.
	Clock Clock
	// ParkFor is how long a delivery to a paused or disabled endpoint
	// waits, parked, for it to take deliveries again (workflows.
	// RevisionParking). Zero, or an earlier Revision: such endpoints get
	// no delivery, as before parking existed.
	ParkFor time.Duration
	// Tracing traces each delivery start as a child of the span that
	// recorded its scan (the scan's TraceParent); the Temporal client's
	// interceptor carries the trace on into the workflow. nil: off.
	Tracing *tracing.Tracing
}

// Dispatcher drains pending scans into delivery workflows.
type Dispatcher struct {
	store   Store
	starter Starter
	opts    Options
	wake    chan struct{}
	// inFlight holds one token per started delivery that has not finished
	// (nor outlived InFlightFor).
	inFlight chan struct{}

	mu       sync.Mutex
	handed   []models.Scan // committed scans handed over, not yet taken
	overflow bool          // Handoff dropped scans, or Wake: poll for them now
}

// New returns a Dispatcher.
func New(store Store, starter Starter, opts Options) *Dispatcher {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 16
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 256
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	if opts.PollGrace <= 0 {
		opts.PollGrace = 2 * time.Second
	}
	if opts.MaxHandoff <= 0 {
		opts.MaxHandoff = 4096
	}
	if opts.MinInterval <= 0 {
		opts.MinInterval = 20 * time.Millisecond
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = 64
	}
	if opts.Revision <= 0 {
		opts.Revision = workflows.CurrentRevision
	}
	if opts.InFlightFor <= 0 {
		opts.InFlightFor = 10 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Clock == nil {
		opts.Clock = realClock{}
	}
	return &Dispatcher{
		store: store, starter: starter, opts: opts,
		wake:     make(chan struct{}, 1),
		inFlight: make(chan struct{}, opts.MaxInFlight),
	}
}

// Handoff gives the dispatcher scans that have just been committed
// pending (Writer.InsertScans's answer); it does not keep the slice. It
// never blocks: past MaxHandoff the scans are left to the poll.
func (d *Dispatcher) Handoff(pending []models.Scan) {
	if len(pending) == 0 {
		return // most scans are of codes without webhooks: often none
	}
	d.mu.Lock()
	if len(d.handed)+len(pending) <= d.opts.MaxHandoff {
		d.handed = append(d.handed, pending...)
	} else {
		// Drop them all: the database has every one, and the poll that
		// overflow asks for reads them from there, oldest first.
		d.handed, d.overflow = d.handed[:0], true
	}
	d.mu.Unlock()
	d.notify()
}

// Wake tells the dispatcher that scans were committed elsewhere (by serve,
// when the worker drains): it reads every pending scan at once.
func (d *Dispatcher) Wake() {
	d.mu.Lock()
	d.overflow = true
	d.mu.Unlock()
	d.notify()
}

func (d *Dispatcher) notify() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// take removes and returns up to BatchSize handed-over scans, or reports
// that Handoff overflowed since the last call: then it drops what was
// handed over since (the poll that follows reads it from the database).
func (d *Dispatcher) take() (scans []models.Scan, overflow bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.overflow {
		d.handed, d.overflow = d.handed[:0], false
		return nil, true
	}
	n := min(len(d.handed), d.opts.BatchSize)
	scans = append([]models.Scan(nil), d.handed[:n]...)
	d.handed = append(d.handed[:0], d.handed[n:]...)
	return scans, false
}

func (d *Dispatcher) dropHanded() {
	d.mu.Lock()
	d.handed = d.handed[:0]
	d.mu.Unlock()
}

// Run dispatches until ctx ends: handed-over scans as they come, and the
// database's pending scans at start and then every PollInterval.
func (d *Dispatcher) Run(ctx context.Context) {
	clock := d.opts.Clock
	ticker := clock.NewTicker(d.opts.PollInterval)
	defer ticker.Stop()
	// At start every pending scan is a leftover: take them all at once.
	d.poll(ctx, clock.Now())
	var lastPass time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.wake:
		case <-ticker.Chan():
			d.poll(ctx, clock.Now().Add(-d.opts.PollGrace))
		}
		// Under load the recorder hands over far more often than a pass is
		// worth: gather MinInterval of scans into one pass (fewer queries
		// and updates per scan). After a quiet spell the pass runs at once.
		if wait := d.opts.MinInterval - clock.Now().Sub(lastPass); wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-clock.After(wait):
			}
		}
		lastPass = clock.Now()
		for {
			scans, overflow := d.take()
			if overflow {
				d.poll(ctx, clock.Now())
				// What was handed over meanwhile was read by the poll, or
				// waits in the database for the next periodic one: drop it
				// rather than start it twice.
				d.dropHanded()
				continue
			}
			if len(scans) == 0 {
				break
			}
			if err := d.dispatch(ctx, scans); err != nil && ctx.Err() == nil {
				// Those not dispatched stay pending: the poll retries them.
				d.opts.Logger.Error("outbox dispatch failed; will retry", "error", err)
			}
		}
	}
}

// poll dispatches pending scans recorded before before until none is left.
func (d *Dispatcher) poll(ctx context.Context, before time.Time) {
	for {
		n, err := d.drain(ctx, before)
		if err != nil && ctx.Err() == nil {
			d.opts.Logger.Error("outbox drain failed; will retry", "error", err)
		}
		if err != nil || n < d.opts.BatchSize {
			return
		}
	}
}

// DrainOnce starts the deliveries of up to BatchSize pending scans and
// returns how many scans it read. Scans with a failed start stay pending and
// are tried again on the next pass; their successful starts are then no-ops.
func (d *Dispatcher) DrainOnce(ctx context.Context) (int, error) {
	return d.drain(ctx, d.opts.Clock.Now())
}

func (d *Dispatcher) drain(ctx context.Context, before time.Time) (int, error) {
	scans, err := d.store.PendingScans(ctx, before, d.opts.BatchSize)
	if err != nil {
		return 0, err
	}
	return len(scans), d.dispatch(ctx, scans)
}

// dispatch starts the deliveries of scans and marks dispatched those whose
// every delivery started.
func (d *Dispatcher) dispatch(ctx context.Context, scans []models.Scan) error {
	if len(scans) == 0 {
		return nil
	}
	// results[i][j] is the start error of scan i's j-th endpoint; a nil
	// results[i] means the scan could not even be prepared.
	results := make([][]error, len(scans))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(d.opts.Concurrency)
	// A batch is mostly scans of a few codes: look their endpoints up once.
	type audience struct {
		workspace, code string
		bot             bool
	}
	subscribed := map[audience][]models.Endpoint{}
	for i, scan := range scans {
		key := audience{scan.WorkspaceID, scan.CodeID, scan.IsBot}
		endpoints, ok := subscribed[key]
		if !ok {
			var err error
			endpoints, err = d.store.SubscribedEndpoints(ctx, scan.WorkspaceID, scan.CodeID, scan.IsBot)
			if err != nil {
				d.opts.Logger.Error("outbox: subscribed endpoints", "scan", scan.ID, "error", err)
				continue
			}
			endpoints = d.withoutParking(endpoints)
			subscribed[key] = endpoints
		}
		if len(endpoints) == 0 {
			results[i] = []error{} // nothing to start: dispatched as is
			continue
		}
		payload, err := ScanCreatedEvent(scan)
		if err != nil {
			d.opts.Logger.Error("outbox: build event", "scan", scan.ID, "error", err)
			continue
		}
		results[i] = make([]error, len(endpoints))
		for j, ep := range endpoints {
			g.Go(func() error {
				results[i][j] = d.start(gctx, ctx, scan, ep, payload)
				return nil
			})
		}
	}
	_ = g.Wait()

	var dispatched []string
	for i, errs := range results {
		if errs == nil {
			continue
		}
		if err := errors.Join(errs...); err != nil {
			d.opts.Logger.Warn("outbox: deliveries not started; will retry", "scan", scans[i].ID, "error", err)
			continue
		}
		dispatched = append(dispatched, scans[i].ID)
	}
	if err := d.store.MarkDispatched(ctx, dispatched); err != nil {
		return err
	}
	if len(dispatched) < len(scans) {
		return fmt.Errorf("%d of %d scans not dispatched", len(scans)-len(dispatched), len(scans))
	}
	return nil
}

// withoutParking drops the endpoints that do not take deliveries when
// deliveries cannot park.
func (d *Dispatcher) withoutParking(endpoints []models.Endpoint) []models.Endpoint {
	if d.opts.ParkFor > 0 && d.opts.Revision >= workflows.RevisionParking {
		return endpoints
	}
	return slices.DeleteFunc(endpoints, func(ep models.Endpoint) bool { return !ep.TakesDeliveries() })
}

// start starts the delivery of scan to ep once fewer than MaxInFlight
// deliveries are running; the delivery then counts as running, within
// life, until it finishes or InFlightFor has passed. A delivery to an
// endpoint that does not take deliveries parks at once and does not count.
func (d *Dispatcher) start(ctx, life context.Context, scan models.Scan, ep models.Endpoint, payload []byte) (err error) {
	ctx, span := d.opts.Tracing.Start(d.opts.Tracing.WithTraceParent(ctx, scan.TraceParent), "dispatch", trace.SpanKindProducer)
	defer func() { tracing.End(span, err) }()
	if span.IsRecording() {
		span.SetAttributes(attribute.String("scanforge.scan.id", scan.ID), attribute.String("scanforge.endpoint.id", ep.ID),
			attribute.String("scanforge.workflow.id", workflows.DeliveryWorkflowID(scan.ID, ep.ID)))
	}
	if !ep.TakesDeliveries() {
		_, err := d.startWorkflow(ctx, scan, ep, payload)
		return err
	}
	select {
	case d.inFlight <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("start delivery of %s to %s: %w", scan.ID, ep.ID, ctx.Err())
	}
	var finished <-chan struct{}
	unwatch := func() {}
	if d.opts.Finishes != nil {
		finished, unwatch = d.opts.Finishes.watch(workflows.DeliveryWorkflowID(scan.ID, ep.ID))
	}
	run, err := d.startWorkflow(ctx, scan, ep, payload)
	if err != nil || run == nil {
		unwatch()
		<-d.inFlight
		return err
	}
	go d.track(life, run, finished, unwatch)
	return nil
}

// localAttemptWait is how long track waits to hear of the first attempt
// from this process's worker before asking the server: the attempt may
// run on another worker when the server did not start the run eagerly.
const localAttemptWait = 2 * time.Second

// track frees run's in-flight token when its first attempt ends (finished,
// from this process's worker), when it finishes, fails or has run for
// InFlightFor.
func (d *Dispatcher) track(ctx context.Context, run client.WorkflowRun, finished <-chan struct{}, unwatch func()) {
	defer func() { <-d.inFlight }()
	defer unwatch()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := d.opts.Clock.AfterFunc(d.opts.InFlightFor, cancel)
	defer stop()
	if finished != nil {
		select {
		case <-finished:
			return
		case <-ctx.Done():
			return
		case <-d.opts.Clock.After(localAttemptWait):
		}
	}
	_ = run.Get(ctx, nil) // its outcome is the workflow's business
}

func (d *Dispatcher) startWorkflow(ctx context.Context, scan models.Scan, ep models.Endpoint, payload []byte) (client.WorkflowRun, error) {
	run, err := workflows.StartDelivery(ctx, d.starter, workflows.Start{
		WorkflowID: workflows.DeliveryWorkflowID(scan.ID, ep.ID),
		Input: workflows.DeliveryInput{
			WorkspaceID: scan.WorkspaceID,
			EndpointID:  ep.ID,
			CodeID:      scan.CodeID,
			ScanID:      scan.ID,
			EventID:     EventID(scan.ID),
			EventType:   webhook.TypeScanCreated,
			Payload:     payload,
			OccurredAt:  scan.Timestamp,
			Schedule:    d.opts.Schedule,
			Revision:    d.opts.Revision,
			ParkFor:     d.opts.ParkFor,
		},
		Fields:  ep.Fields,
		Summary: fmt.Sprintf("%s /%s → %s", webhook.TypeScanCreated, scan.Slug, ep.URL),
		Eager:   d.opts.EagerStart,
	})
	if errors.Is(err, workflows.ErrAlreadyStarted) {
		trace.SpanFromContext(ctx).SetAttributes(attribute.Bool("scanforge.delivery.already_started", true))
		d.opts.Metrics.WorkflowStart(metrics.StartAlreadyStarted)
		return nil, nil // delivered or delivering already
	}
	if err != nil {
		d.opts.Metrics.WorkflowStart(metrics.StartError)
		return nil, fmt.Errorf("start delivery of %s to %s: %w", scan.ID, ep.ID, err)
	}
	d.opts.Metrics.WorkflowStart(metrics.StartStarted)
	return run, nil
}
