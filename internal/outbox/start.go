package outbox

// Starting deliveries: one Delivery workflow per scan and endpoint, within
// the in-flight bound.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/sdk/client"

	"github.com/scanforge/scanforge/internal/metrics"
	"github.com/scanforge/scanforge/internal/tracing"
	"github.com/scanforge/scanforge/models"
	"github.com/scanforge/scanforge/webhook"
	"github.com/scanforge/scanforge/workflows"
)

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
