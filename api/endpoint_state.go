package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/scanforge/scanforge/models"
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
	e, err = s.store.ResumeEndpoint(c.Request.Context(), e.WorkspaceID, e.ID)
	if err == nil {
		s.drainIfTaking(e)
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
