// Package opevents sends a workspace's operational events (an endpoint
// disabled or enabled, a delivery that gave up) to its operational
// endpoints, through the same delivery workflow and signing as scans.
package opevents

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/scanforge/scanforge/internal/id"
	"github.com/scanforge/scanforge/models"
	"github.com/scanforge/scanforge/webhook"
	"github.com/scanforge/scanforge/workflows"
)

// Store lists the endpoints that receive a workspace's operational events.
type Store interface {
	OperationalEndpoints(ctx context.Context, workspaceID string) ([]models.Endpoint, error)
}

// Starter starts workflows: the subset of client.Client used.
type Starter = workflows.Starter

// Notifier sends operational events.
type Notifier struct {
	store    Store
	starter  Starter
	schedule workflows.RetrySchedule
	logger   *slog.Logger
	now      func() time.Time
}

// New returns a Notifier whose deliveries retry on schedule.
func New(store Store, starter Starter, schedule workflows.RetrySchedule, logger *slog.Logger) *Notifier {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Notifier{store: store, starter: starter, schedule: schedule, logger: logger, now: time.Now}
}

// Notify sends an event of eventType with data to every operational
// endpoint of workspaceID, one delivery workflow each
// (workflows.OperationalWorkflowID). No operational endpoint: nothing.
func (n *Notifier) Notify(ctx context.Context, workspaceID, eventType string, data any) error {
	eps, err := n.store.OperationalEndpoints(ctx, workspaceID)
	if err != nil || len(eps) == 0 {
		return err
	}
	now := n.now().UTC()
	eventID := id.New(id.Event, now)
	raw, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("encode %s: %w", eventType, err)
	}
	payload, err := json.Marshal(webhook.Event{ID: eventID, Type: eventType, APIVersion: webhook.APIVersion, CreatedAt: now, Data: raw})
	if err != nil {
		return fmt.Errorf("encode %s: %w", eventType, err)
	}
	var errs []error
	for _, ep := range eps {
		in := workflows.DeliveryInput{
			WorkspaceID: workspaceID, EndpointID: ep.ID, EventID: eventID, EventType: eventType,
			Payload: payload, OccurredAt: now, Schedule: n.schedule, Revision: workflows.CurrentRevision,
		}
		_, err := workflows.StartDelivery(ctx, n.starter, workflows.Start{
			WorkflowID: workflows.OperationalWorkflowID(eventType, eventID, ep.ID),
			Input:      in,
			Summary:    fmt.Sprintf("%s → %s", eventType, ep.URL),
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("send %s to %s: %w", eventType, ep.ID, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	n.logger.Info("operational event sent", "workspace_id", workspaceID, "type", eventType, "event_id", eventID, "endpoints", len(eps))
	return nil
}
