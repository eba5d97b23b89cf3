package api

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/scanforge/scanforge/internal/deliverylog"
	"github.com/scanforge/scanforge/internal/id"
	"github.com/scanforge/scanforge/models"
)

// DeliveryLog is the delivery log (Temporal history and visibility) as the
// API uses it; internal/deliverylog implements it. Every method is scoped
// to a workspace and answers deliverylog.ErrNotFound for another one's
// deliveries.
type DeliveryLog interface {
	List(ctx context.Context, workspaceID string, f deliverylog.Filter, cursor string, limit int) (deliverylog.Page, error)
	Get(ctx context.Context, workspaceID, id string) (deliverylog.Delivery, error)
	Replay(ctx context.Context, workspaceID, id, requestedBy string) (deliverylog.Replayed, error)
	ReplayEndpoint(ctx context.Context, workspaceID, endpointID string, f deliverylog.BulkFilter, requestedBy string) (deliverylog.BulkResult, error)
	ReplayTo(ctx context.Context, workspaceID, id string, to deliverylog.Endpoint, requestedBy string, dryRun bool) (deliverylog.ReplayPlan, error)
	StartBulkReplay(ctx context.Context, workspaceID string, r deliverylog.BulkReplay, requestedBy string) (deliverylog.BulkReplayAnswer, error)
	RetryNow(ctx context.Context, workspaceID, id string) error
	SendTest(ctx context.Context, ep deliverylog.Endpoint) (string, error)
}

// deliveryAnswer is a delivery as a listing shows it. Its id is the
// Temporal workflow ID, so the same delivery is found in the Temporal UI.
type deliveryAnswer struct {
	ID         string     `json:"id"`
	RunID      string     `json:"run_id"`
	EventType  string     `json:"event_type"`
	EndpointID string     `json:"endpoint_id"`
	CodeID     *string    `json:"code_id"` // null for test events
	ScanID     *string    `json:"scan_id"` // null for test events
	State      string     `json:"state"`
	Attempts   int        `json:"attempts"`
	LastStatus *int       `json:"last_status"` // null before the first answer, or unrecorded (see deliverylog.Summary); 0: no answer (network error)
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
	// Why a failed delivery gave up: the message and the last attempt.
	Failure     string         `json:"failure,omitempty"`
	LastAttempt *attemptAnswer `json:"last_attempt,omitempty"`
}

// deliveryDetailAnswer is one delivery with every attempt of every run.
type deliveryDetailAnswer struct {
	deliveryAnswer
	EventID       string          `json:"event_id"`
	NextAttemptAt *time.Time      `json:"next_attempt_at"`
	Payload       json.RawMessage `json:"payload"`
	Runs          []runAnswer     `json:"runs"`
}

type runAnswer struct {
	RunID         string          `json:"run_id"`
	Replay        bool            `json:"replay"`
	ReplayReason  string          `json:"replay_reason,omitempty"`
	State         string          `json:"state"`
	StartedAt     time.Time       `json:"started_at"`
	FinishedAt    *time.Time      `json:"finished_at"`
	Failure       string          `json:"failure,omitempty"`
	NextAttemptAt *time.Time      `json:"next_attempt_at,omitempty"`
	Attempts      []attemptAnswer `json:"attempts"`
}

type attemptAnswer struct {
	Attempt         int               `json:"attempt"`
	StartedAt       time.Time         `json:"started_at"`
	DurationMS      int64             `json:"duration_ms"`
	URL             string            `json:"url,omitempty"`
	RequestHeaders  map[string]string `json:"request_headers"`
	ResponseStatus  int               `json:"response_status"` // 0: no answer
	ResponseHeaders map[string]string `json:"response_headers"`
	ResponseBody    string            `json:"response_body"`
	Error           string            `json:"error,omitempty"`
	Outcome         string            `json:"outcome"` // delivered, retry, failed, endpoint_disabled, in_progress
	// The endpoint's format at the attempt and the exact body sent (null
	// when no request went out).
	Format      string          `json:"format,omitempty"`
	RequestBody json.RawMessage `json:"request_body"`
}

func newDeliveryAnswer(d deliverylog.Summary) deliveryAnswer {
	a := deliveryAnswer{
		ID: d.ID, RunID: d.RunID, EventType: d.EventType, EndpointID: d.EndpointID,
		CodeID: nonEmpty(d.CodeID), ScanID: nonEmpty(d.ScanID),
		State: d.State, Attempts: d.Attempts, StartedAt: d.StartedAt.UTC(), FinishedAt: optionalTime(d.FinishedAt),
		Failure: d.Failure, LastStatus: d.LastStatus,
	}
	if d.LastAttempt != nil {
		last := newAttemptAnswer(*d.LastAttempt)
		a.LastAttempt = &last
	}
	return a
}

func newDeliveryDetailAnswer(d deliverylog.Delivery) deliveryDetailAnswer {
	a := deliveryDetailAnswer{
		deliveryAnswer: newDeliveryAnswer(d.Summary),
		EventID:        d.EventID,
		NextAttemptAt:  optionalTime(d.NextAttemptAt),
		Payload:        d.Payload,
		Runs:           make([]runAnswer, len(d.Runs)),
	}
	if len(a.Payload) == 0 {
		a.Payload = json.RawMessage("null")
	}
	for i, r := range d.Runs {
		run := runAnswer{
			RunID: r.RunID, Replay: r.ReplayedBy != "", ReplayReason: r.ReplayedBy, State: r.State,
			StartedAt: r.StartedAt.UTC(), FinishedAt: optionalTime(r.FinishedAt), Failure: r.Failure,
			NextAttemptAt: optionalTime(r.NextAttempt), Attempts: make([]attemptAnswer, len(r.Attempts)),
		}
		for j, at := range r.Attempts {
			run.Attempts[j] = newAttemptAnswer(at)
		}
		a.Runs[i] = run
	}
	return a
}

func newAttemptAnswer(at deliverylog.Attempt) attemptAnswer {
	outcome := at.Outcome
	if at.InProgress {
		outcome = "in_progress"
	}
	return attemptAnswer{
		Attempt: at.Number, StartedAt: at.StartedAt.UTC(), DurationMS: at.Duration.Milliseconds(), URL: at.URL,
		RequestHeaders: emptyIfNil(at.RequestHeaders), ResponseStatus: at.StatusCode,
		ResponseHeaders: emptyIfNil(at.ResponseHeaders), ResponseBody: at.ResponseBody,
		Error: at.Error, Outcome: outcome, Format: at.Format, RequestBody: at.RequestBody,
	}
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func emptyIfNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// requestedBy names the caller in reset reasons: never the key itself.
func requestedBy(c *gin.Context) string {
	return "API key " + callerKeyPrefix(c)
}

// listDeliveries: GET /deliveries?endpoint_id=&code_id=&scan_id=&state=&since=&until=&limit=&cursor=
func (s *server) listDeliveries(c *gin.Context) {
	f, limit, cursor, err := deliveryListQuery(c)
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	page, err := s.deliveries.List(c.Request.Context(), workspaceID(c), f, cursor, limit)
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	out := listAnswer[deliveryAnswer]{Data: make([]deliveryAnswer, len(page.Deliveries))}
	for i, d := range page.Deliveries {
		out.Data[i] = newDeliveryAnswer(d)
	}
	if page.Next != "" {
		out.NextCursor = &page.Next
	}
	c.JSON(http.StatusOK, out)
}

var deliveryListParams = []string{"endpoint_id", "code_id", "scan_id", "state", "since", "until", "limit", "cursor"}

// deliveryListQuery reads and checks the query string of a listing.
func deliveryListQuery(c *gin.Context) (deliverylog.Filter, int, string, error) {
	var f deliverylog.Filter
	q, err := url.ParseQuery(c.Request.URL.RawQuery)
	if err != nil {
		return f, 0, "", errBadRequest("", "query string is malformed")
	}
	// A misspelt filter must not silently list everything.
	for _, name := range slices.Sorted(maps.Keys(q)) {
		if !slices.Contains(deliveryListParams, name) {
			return f, 0, "", errBadRequest(name, "unknown query parameter "+strconv.Quote(name))
		}
		if len(q[name]) > 1 {
			return f, 0, "", errBadRequest(name, name+" is given more than once")
		}
	}
	for _, p := range []struct {
		name, prefix string
		dst          *string
	}{
		{"endpoint_id", endpointPrefix, &f.EndpointID},
		{"code_id", codePrefix, &f.CodeID},
		{"scan_id", id.Scan, &f.ScanID},
	} {
		if v := q.Get(p.name); v != "" {
			if !isObjectID(p.prefix, v) {
				return f, 0, "", errBadRequest(p.name, p.name+" is not a valid ID")
			}
			*p.dst = v
		}
	}
	if v := q.Get("state"); v != "" {
		if !slices.Contains(deliverylog.States(), v) {
			return f, 0, "", errBadRequest("state", "state must be one of pending, retrying, delivered, failed, canceled")
		}
		f.State = v
	}
	if f.Since, err = queryTime(q, "since"); err != nil {
		return f, 0, "", err
	}
	if f.Until, err = queryTime(q, "until"); err != nil {
		return f, 0, "", err
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return f, 0, "", errBadRequest("until", "until must be after since")
	}
	limit := defaultPageLimit
	if raw := q.Get("limit"); raw != "" {
		n, convErr := strconv.Atoi(raw)
		if convErr != nil || n < 1 || n > maxPageLimit {
			return f, 0, "", errBadRequest("limit", "limit must be an integer from 1 to 100")
		}
		limit = n
	}
	return f, limit, q.Get("cursor"), nil
}

func queryTime(q url.Values, name string) (time.Time, error) {
	v := q.Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, errBadRequest(name, name+" must be an RFC 3339 time, e.g. 2026-11-27T03:00:00Z")
	}
	return t, nil
}

// getDelivery: GET /deliveries/:id
func (s *server) getDelivery(c *gin.Context) {
	d, err := s.deliveries.Get(c.Request.Context(), workspaceID(c), c.Param("id"))
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	c.JSON(http.StatusOK, newDeliveryDetailAnswer(d))
}

// replayDelivery: POST /deliveries/:id/replay {"endpoint_id" or "url": …, "dry_run": …}
// The body is optional: without it the delivery runs again as it was.
func (s *server) replayDelivery(c *gin.Context) {
	to, dryRun, err := s.readReplayTarget(c)
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	if to.ID == "" && to.URL == "" && !dryRun {
		r, err := s.deliveries.Replay(c.Request.Context(), workspaceID(c), c.Param("id"), requestedBy(c))
		if err != nil {
			writeError(c, s.log, err)
			return
		}
		c.JSON(http.StatusAccepted, gin.H{"id": r.ID, "run_id": r.RunID})
		return
	}
	plan, err := s.deliveries.ReplayTo(c.Request.Context(), workspaceID(c), c.Param("id"), to, requestedBy(c), dryRun)
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	if !dryRun {
		c.JSON(http.StatusAccepted, gin.H{"id": plan.ID, "run_id": plan.RunID})
		return
	}
	url := to.URL
	if url == "" {
		if ep, err := s.store.GetEndpoint(c.Request.Context(), workspaceID(c), plan.EndpointID); err == nil {
			url = ep.URL
		}
	}
	c.JSON(http.StatusOK, gin.H{
		"dry_run": true, "id": plan.ID, "endpoint_id": plan.EndpointID, "url": url,
		"event_id": plan.EventID, "event_type": plan.EventType, "payload": plan.Payload,
	})
}

// retryDelivery: POST /deliveries/:id/retry
func (s *server) retryDelivery(c *gin.Context) {
	deliveryID := c.Param("id")
	if err := s.deliveries.RetryNow(c.Request.Context(), workspaceID(c), deliveryID); err != nil {
		writeError(c, s.log, err)
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"id": deliveryID})
}

var bulkReplayFields = []string{"state", "since", "until"}

// replayEndpoint: POST /endpoints/:id/replay {"state": "failed", "since": …, "until": …}
// Every field is optional, and so is the body.
func (s *server) replayEndpoint(c *gin.Context) {
	ep, err := s.loadEndpoint(c)
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	f, err := readBulkFilter(c.Request)
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	res, err := s.deliveries.ReplayEndpoint(c.Request.Context(), ep.WorkspaceID, ep.ID, f, requestedBy(c))
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"replayed": res.Replayed, "failed": res.Failed, "truncated": res.Truncated})
}

func readBulkFilter(r *http.Request) (deliverylog.BulkFilter, error) {
	f := deliverylog.BulkFilter{State: "failed"}
	if r.ContentLength == 0 && r.Header.Get("Transfer-Encoding") == "" {
		return f, nil
	}
	obj, err := readObject(r, bulkReplayFields...)
	if err != nil {
		return f, err
	}
	if v, ok, err := obj.String("state"); err != nil {
		return f, err
	} else if ok {
		if !slices.Contains([]string{"delivered", "failed", "canceled"}, v) {
			return f, models.Invalid("state", "must be one of delivered, failed, canceled")
		}
		f.State = v
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		v, ok, err := obj.String(p.name)
		if err != nil {
			return f, err
		}
		if !ok {
			continue
		}
		if *p.dst, err = time.Parse(time.RFC3339Nano, v); err != nil {
			return f, models.Invalid(p.name, "must be an RFC 3339 time, e.g. 2026-11-27T03:00:00Z")
		}
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return f, models.Invalid("until", "must be after since")
	}
	return f, nil
}

// testEndpoint: POST /endpoints/:id/test
func (s *server) testEndpoint(c *gin.Context) {
	ep, err := s.loadEndpoint(c)
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	deliveryID, err := s.deliveries.SendTest(c.Request.Context(), deliverylog.Endpoint{ID: ep.ID, WorkspaceID: ep.WorkspaceID, URL: ep.URL, Fields: ep.Fields})
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"id": deliveryID})
}
