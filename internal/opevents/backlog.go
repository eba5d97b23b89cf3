package opevents

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/scanforge/scanforge/internal/deliverylog"
	"github.com/scanforge/scanforge/models"
	"github.com/scanforge/scanforge/webhook"
)

// Defaults of BacklogWatch.
const (
	DefaultBacklogThreshold = 1000
	DefaultBacklogEvery     = time.Minute
)

// BacklogStore is what the backlog watch needs from the database.
type BacklogStore interface {
	// StoppedEndpoints: paused or disabled endpoints of workspaces with an
	// operational endpoint.
	StoppedEndpoints(ctx context.Context) ([]models.Endpoint, error)
	BacklogAlerts(ctx context.Context) ([]models.BacklogAlert, error)
	ClaimBacklogAlert(ctx context.Context, endpointID string, parked int64) (bool, error)
	ClearBacklogAlert(ctx context.Context, endpointID string) error
	GetScan(ctx context.Context, workspaceID, scanID string) (models.Scan, error)
}

// ParkedCounter counts an endpoint's parked deliveries and finds the one
// parked longest; internal/deliverylog implements it over visibility.
type ParkedCounter interface {
	CountParked(ctx context.Context, workspaceID, endpointID string) (int64, error)
	OldestParked(ctx context.Context, workspaceID, endpointID string) (deliverylog.Parked, bool, error)
}

// EventNotifier sends an operational event (a *Notifier).
type EventNotifier interface {
	Notify(ctx context.Context, workspaceID, eventType string, data any) error
}

// BacklogWatch sends endpoint.paused_backlog when the deliveries parked
// for a paused or disabled endpoint rise above Threshold: once per
// crossing, recorded in the database (models.BacklogAlert), so several
// serve replicas send it once between them, and a restart does not send
// it again. The alert is re-armed when the backlog is at Threshold or
// below, or the endpoint takes deliveries again.
type BacklogWatch struct {
	Store     BacklogStore
	Parked    ParkedCounter
	Notifier  EventNotifier
	Threshold int64         // parked deliveries above which the event is sent; <= 0: never
	Every     time.Duration // how often Run checks; 0: DefaultBacklogEvery
	Logger    *slog.Logger
}

// Run checks every Every until ctx ends.
func (w *BacklogWatch) Run(ctx context.Context) {
	if w.Threshold <= 0 {
		return
	}
	every := w.Every
	if every <= 0 {
		every = DefaultBacklogEvery
	}
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			if err := w.Check(ctx); err != nil && ctx.Err() == nil {
				w.logger().Warn("parked backlog check", "error", err)
			}
		}
	}
}

// Check counts the parked deliveries of every stopped endpoint (one
// visibility count each) and sends or re-arms alerts.
func (w *BacklogWatch) Check(ctx context.Context) error {
	stopped, err := w.Store.StoppedEndpoints(ctx)
	if err != nil {
		return err
	}
	alerts, err := w.Store.BacklogAlerts(ctx)
	if err != nil {
		return err
	}
	alerted := make(map[string]bool, len(alerts))
	for _, a := range alerts {
		alerted[a.EndpointID] = true
	}
	var errs []error
	isStopped := make(map[string]bool, len(stopped))
	for _, ep := range stopped {
		isStopped[ep.ID] = true
		if err := w.checkEndpoint(ctx, ep, alerted[ep.ID]); err != nil {
			errs = append(errs, err)
		}
	}
	for _, a := range alerts {
		if !isStopped[a.EndpointID] { // it takes deliveries again
			errs = append(errs, w.Store.ClearBacklogAlert(ctx, a.EndpointID))
		}
	}
	return errors.Join(errs...)
}

func (w *BacklogWatch) checkEndpoint(ctx context.Context, ep models.Endpoint, alerted bool) error {
	parked, err := w.Parked.CountParked(ctx, ep.WorkspaceID, ep.ID)
	if err != nil {
		return err
	}
	switch {
	case parked <= w.Threshold && alerted:
		return w.Store.ClearBacklogAlert(ctx, ep.ID)
	case parked <= w.Threshold || alerted:
		return nil
	}
	claimed, err := w.Store.ClaimBacklogAlert(ctx, ep.ID, parked)
	if err != nil || !claimed {
		return err // !claimed: another replica sends it
	}
	data := webhook.EndpointPausedBacklog{
		EndpointID: ep.ID, URL: ep.URL, State: ep.State(), Reason: ep.DisabledReason, Parked: parked, Threshold: w.Threshold,
	}
	if err := w.addOldest(ctx, ep, &data); err != nil {
		w.logger().Warn("parked backlog: oldest parked delivery not found", "endpoint_id", ep.ID, "error", err)
	}
	if err := w.Notifier.Notify(ctx, ep.WorkspaceID, webhook.TypeEndpointPausedBacklog, data); err != nil {
		// Unclaimed, the next check sends it.
		return errors.Join(fmt.Errorf("send %s for %s: %w", webhook.TypeEndpointPausedBacklog, ep.ID, err),
			w.Store.ClearBacklogAlert(ctx, ep.ID))
	}
	w.logger().Warn("parked backlog above the threshold", "endpoint_id", ep.ID, "state", ep.State(), "parked", parked, "threshold", w.Threshold)
	return nil
}

// addOldest fills in the longest-parked delivery and its scan.
func (w *BacklogWatch) addOldest(ctx context.Context, ep models.Endpoint, data *webhook.EndpointPausedBacklog) error {
	oldest, ok, err := w.Parked.OldestParked(ctx, ep.WorkspaceID, ep.ID)
	if err != nil || !ok {
		return err
	}
	data.OldestDeliveryID, data.OldestScanID = oldest.ID, oldest.ScanID
	if oldest.ScanID == "" {
		return nil
	}
	scan, err := w.Store.GetScan(ctx, ep.WorkspaceID, oldest.ScanID)
	if err != nil {
		return err
	}
	at := scan.Timestamp.UTC()
	data.OldestScanAt = &at
	return nil
}

func (w *BacklogWatch) logger() *slog.Logger {
	if w.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return w.Logger
}
