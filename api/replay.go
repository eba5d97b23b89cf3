package api

import (
	"errors"

	"github.com/gin-gonic/gin"

	"github.com/scanforge/scanforge/internal/deliverylog"
	"github.com/scanforge/scanforge/models"
)

// readReplayTarget reads the optional body of a replay: another endpoint
// of the workspace to send the event to, and whether to only say what
// would be sent.
func (s *server) readReplayTarget(c *gin.Context) (deliverylog.Endpoint, bool, error) {
	r := c.Request
	if r.ContentLength == 0 && r.Header.Get("Transfer-Encoding") == "" {
		return deliverylog.Endpoint{}, false, nil
	}
	obj, err := readObject(r, "endpoint_id", "dry_run")
	if err != nil {
		return deliverylog.Endpoint{}, false, err
	}
	dryRun, err := optionalBool(obj, "dry_run")
	if err != nil {
		return deliverylog.Endpoint{}, false, err
	}
	endpointID, err := optionalString(obj, "endpoint_id")
	if err != nil {
		return deliverylog.Endpoint{}, false, err
	}
	var to deliverylog.Endpoint
	if endpointID != nil {
		ep, err := s.store.GetEndpoint(r.Context(), workspaceID(c), *endpointID)
		if !isObjectID(endpointPrefix, *endpointID) || errors.Is(err, models.ErrNotFound) {
			return to, false, models.Invalid("endpoint_id", "no such endpoint in this workspace")
		}
		if err != nil {
			return to, false, err
		}
		to = deliverylog.Endpoint{ID: ep.ID, WorkspaceID: ep.WorkspaceID, URL: ep.URL}
	}
	return to, dryRun != nil && *dryRun, nil
}
