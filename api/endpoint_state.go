package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/scanforge/scanforge/models"
	"github.com/scanforge/scanforge/webhook"
)

// Drainer resumes the deliveries parked for an endpoint, oldest first and
// paced, in the background; internal/deliverylog implements it.
type Drainer interface {
	StartDrain(workspaceID, endpointID string)
}

// Backfiller sends a new endpoint the scans recorded before it existed, in
// the background; internal/outbox implements it.
type Backfiller interface {
	StartBackfill(e models.Endpoint, since time.Time)
}

// Notifier sends the workspace's operational events to its operational
// endpoints; internal/opevents implements it.
type Notifier interface {
	Notify(ctx context.Context, workspaceID, eventType string, data any) error
}

// notifyChange tells the operational endpoints that an operator disabled
// an endpoint, or that it takes deliveries again.
func (s *server) notifyChange(ctx context.Context, before, after models.Endpoint) {
	if s.notifier == nil || after.Operational {
		return
	}
	var err error
	switch {
	case before.Enabled && !after.Enabled:
		err = s.notifier.Notify(ctx, after.WorkspaceID, webhook.TypeEndpointDisabled, webhook.EndpointDisabled{
			EndpointID: after.ID, URL: after.URL, State: after.State(), Reason: after.DisabledReason,
		})
	case !before.TakesDeliveries() && after.TakesDeliveries():
		err = s.notifier.Notify(ctx, after.WorkspaceID, webhook.TypeEndpointEnabled, webhook.EndpointEnabled{EndpointID: after.ID, URL: after.URL})
	}
	if err != nil {
		s.log.Warn("operational event not sent", "endpoint_id", after.ID, "error", err)
	}
}

// pauseEndpoint: POST /endpoints/:id/pause. New deliveries and waiting
// retries park until the endpoint is resumed.
func (s *server) pauseEndpoint(c *gin.Context) {
	e, err := s.loadEndpoint(c)
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	e, err = s.store.PauseEndpoint(c.Request.Context(), e.WorkspaceID, e.ID)
	s.answerEndpoint(c, e, err)
}

// resumeEndpoint: POST /endpoints/:id/resume. The endpoint takes
// deliveries again, whatever stopped it (pause, operator, 410,
// auto-disabling), and its parked deliveries drain.
func (s *server) resumeEndpoint(c *gin.Context) {
	e, err := s.loadEndpoint(c)
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	before := e
	e, err = s.store.ResumeEndpoint(c.Request.Context(), e.WorkspaceID, e.ID)
	if err == nil {
		s.drainIfTaking(e)
		s.notifyChange(c.Request.Context(), before, e)
	}
	s.answerEndpoint(c, e, err)
}

func (s *server) answerEndpoint(c *gin.Context, e models.Endpoint, err error) {
	if errors.Is(err, models.ErrNotFound) { // deleted meanwhile
		err = errNotFound("endpoint")
	}
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	c.JSON(http.StatusOK, newEndpointAnswer(e))
}

// drainIfTaking starts the drain of e's parked deliveries when e takes
// deliveries.
func (s *server) drainIfTaking(e models.Endpoint) {
	if s.drainer != nil && e.TakesDeliveries() {
		s.drainer.StartDrain(e.WorkspaceID, e.ID)
	}
}
