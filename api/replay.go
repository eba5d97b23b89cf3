package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

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
	obj, err := readObject(r, "endpoint_id", "url", "dry_run")
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
	url, err := optionalString(obj, "url")
	if err != nil {
		return to, false, err
	}
	if url != nil {
		if endpointID != nil {
			return to, false, models.Invalid("url", "give url or endpoint_id, not both")
		}
		if err := s.checkReplayURL(r.Context(), "url", *url); err != nil {
			return to, false, err
		}
		return deliverylog.Endpoint{URL: *url}, dryRun != nil && *dryRun, nil
	}
	if endpointID != nil {
		ep, err := s.store.GetEndpoint(r.Context(), workspaceID(c), *endpointID)
		if !isObjectID(endpointPrefix, *endpointID) || errors.Is(err, models.ErrNotFound) {
			return to, false, models.Invalid("endpoint_id", "no such endpoint in this workspace")
		}
		if err != nil {
			return to, false, err
		}
		// The target's field policy applies: it may take less than the source.
		to = deliverylog.Endpoint{ID: ep.ID, WorkspaceID: ep.WorkspaceID, URL: ep.URL, Fields: ep.Fields}
	}
	return to, dryRun != nil && *dryRun, nil
}

var bulkDeliveryReplayFields = []string{
	"endpoint_id", "code_id", "state", "since", "until", "cursor", "limit", "to_endpoint_id", "to_url", "dry_run",
}

// replayDeliveries: POST /deliveries/replay. A selection of the
// workspace's finished deliveries (endpoint, code, state, time range) is
// replayed in the background, paced, to their own endpoints, to
// to_endpoint_id or to the bare URL to_url; dry_run answers what would be
// sent. Every field is
// optional, and so is the body: every failed delivery.
func (s *server) replayDeliveries(c *gin.Context) {
	r, err := s.readBulkReplay(c)
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	answer, err := s.deliveries.StartBulkReplay(c.Request.Context(), workspaceID(c), r, requestedBy(c))
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	sample := make([]gin.H, len(answer.Sample))
	for i, item := range answer.Sample {
		sample[i] = gin.H{"id": item.ID, "replayed_as": item.Target}
		if p := item.Plan; p != nil {
			url := r.To.URL
			if url == "" {
				if ep, err := s.store.GetEndpoint(c.Request.Context(), workspaceID(c), p.EndpointID); err == nil {
					url = ep.URL
				}
			}
			sample[i]["endpoint_id"], sample[i]["url"] = p.EndpointID, url
			sample[i]["event_id"], sample[i]["event_type"], sample[i]["payload"] = p.EventID, p.EventType, p.Payload
		}
	}
	body := gin.H{
		"dry_run": answer.DryRun, "accepted": answer.Accepted, "truncated": answer.Truncated,
		"next_cursor": nonEmpty(answer.NextCursor), "to_endpoint_id": nonEmpty(r.To.ID), "to_url": nonEmpty(r.To.URL), "sample": sample,
	}
	if answer.DryRun {
		c.JSON(http.StatusOK, body)
		return
	}
	body["id"], body["accepted_at"], body["rate_per_second"], body["repeated"] = answer.ID, answer.AcceptedAt, answer.Rate, answer.Repeated
	c.JSON(http.StatusAccepted, body)
}

// readBulkReplay reads and checks the body of POST /deliveries/replay;
// every endpoint and code it names must be the workspace's.
func (s *server) readBulkReplay(c *gin.Context) (deliverylog.BulkReplay, error) {
	r := deliverylog.BulkReplay{Filter: deliverylog.Filter{State: "failed"}, IdempotencyKey: c.GetHeader("Idempotency-Key")}
	if len(r.IdempotencyKey) > 255 {
		return r, errBadRequest("Idempotency-Key", "Idempotency-Key must be at most 255 characters")
	}
	req := c.Request
	if req.ContentLength == 0 && req.Header.Get("Transfer-Encoding") == "" {
		return r, nil
	}
	obj, err := readObject(req, bulkDeliveryReplayFields...)
	if err != nil {
		return r, err
	}
	ctx, ws := req.Context(), workspaceID(c)
	if v, ok, err := obj.String("to_url"); err != nil {
		return r, err
	} else if ok {
		if _, both := obj["to_endpoint_id"]; both {
			return r, models.Invalid("to_url", "give to_url or to_endpoint_id, not both")
		}
		if err := s.checkReplayURL(ctx, "to_url", v); err != nil {
			return r, err
		}
		r.To = deliverylog.Endpoint{URL: v}
	}
	if v, ok, err := obj.String("endpoint_id"); err != nil {
		return r, err
	} else if ok {
		ep, err := s.workspaceEndpoint(ctx, ws, "endpoint_id", v)
		if err != nil {
			return r, err
		}
		r.Filter.EndpointID = ep.ID
	}
	if v, ok, err := obj.String("code_id"); err != nil {
		return r, err
	} else if ok {
		_, err := s.store.GetCode(ctx, ws, v)
		if !isObjectID(codePrefix, v) || errors.Is(err, models.ErrNotFound) {
			return r, models.Invalid("code_id", "no such code in this workspace")
		}
		if err != nil {
			return r, err
		}
		r.Filter.CodeID = v
	}
	if v, ok, err := obj.String("to_endpoint_id"); err != nil {
		return r, err
	} else if ok {
		ep, err := s.workspaceEndpoint(ctx, ws, "to_endpoint_id", v)
		if err != nil {
			return r, err
		}
		if ep.Operational {
			return r, models.Invalid("to_endpoint_id", "an operational endpoint receives operational events, never scans")
		}
		r.To = deliverylog.Endpoint{ID: ep.ID, WorkspaceID: ep.WorkspaceID, URL: ep.URL, Fields: ep.Fields}
	}
	if v, ok, err := obj.String("state"); err != nil {
		return r, err
	} else if ok {
		if !slices.Contains([]string{"delivered", "failed", "canceled"}, v) {
			return r, models.Invalid("state", "must be one of delivered, failed, canceled: running deliveries are not replayed")
		}
		r.Filter.State = v
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"since", &r.Filter.Since}, {"until", &r.Filter.Until}} {
		v, ok, err := obj.String(p.name)
		if err != nil {
			return r, err
		}
		if !ok {
			continue
		}
		if *p.dst, err = time.Parse(time.RFC3339Nano, v); err != nil {
			return r, models.Invalid(p.name, "must be an RFC 3339 time, e.g. 2026-11-27T03:00:00Z")
		}
	}
	if !r.Filter.Since.IsZero() && !r.Filter.Until.IsZero() && !r.Filter.Since.Before(r.Filter.Until) {
		return r, models.Invalid("until", "must be after since")
	}
	if obj.present("limit") {
		var n int
		if err := json.Unmarshal(obj["limit"], &n); err != nil {
			return r, errWrongType("limit", "an integer")
		}
		if n < 1 || n > deliverylog.DefaultBulkLimit {
			return r, models.Invalid("limit", fmt.Sprintf("must be between 1 and %d", deliverylog.DefaultBulkLimit))
		}
		r.Limit = n
	}
	if r.Cursor, _, err = obj.String("cursor"); err != nil {
		return r, err
	}
	if v, _, err := obj.Bool("dry_run"); err != nil {
		return r, err
	} else {
		r.DryRun = v
	}
	return r, nil
}

// workspaceEndpoint loads the endpoint id named by field, a 422 on field
// when the workspace has none of that id.
func (s *server) workspaceEndpoint(ctx context.Context, workspaceID, field, id string) (models.Endpoint, error) {
	if !isObjectID(endpointPrefix, id) {
		return models.Endpoint{}, models.Invalid(field, "no such endpoint in this workspace")
	}
	ep, err := s.store.GetEndpoint(ctx, workspaceID, id)
	if errors.Is(err, models.ErrNotFound) {
		return ep, models.Invalid(field, "no such endpoint in this workspace")
	}
	return ep, err
}

// checkReplayURL validates a bare URL a replay goes to as an endpoint's
// URL is validated: its form, then the egress policy.
func (s *server) checkReplayURL(ctx context.Context, field, raw string) error {
	if err := validateURL(field, raw); err != nil {
		return err
	}
	if s.endpointURLCheck == nil {
		return nil
	}
	if err := s.endpointURLCheck(ctx, raw); err != nil {
		return models.Invalid(field, err.Error())
	}
	return nil
}
