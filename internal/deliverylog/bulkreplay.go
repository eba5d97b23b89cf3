package deliverylog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	workflowpb "go.temporal.io/api/workflow/v1"

	"github.com/scanforge/scanforge/internal/destination"
	"github.com/scanforge/scanforge/internal/id"
	"github.com/scanforge/scanforge/internal/outbox"
	"github.com/scanforge/scanforge/workflows"
)

// Bounds of a bulk replay.
const (
	// bulkSampleSize is how many deliveries an answer shows; a dry run
	// reads the history of each to show its payload.
	bulkSampleSize = 5
	// idempotencyTTL is how long an Idempotency-Key answers its first
	// request again.
	idempotencyTTL = 24 * time.Hour
)

// ErrIdempotencyKeyReused: an Idempotency-Key sent again with another
// request.
var ErrIdempotencyKeyReused = errors.New("idempotency key already used with another request")

// BulkReplay selects deliveries of a workspace to send again, to their own
// endpoints or to one other endpoint.
type BulkReplay struct {
	Filter Filter // State must be a final state; "" means failed
	Cursor string // a BulkReplayAnswer.NextCursor of the same filter
	Limit  int    // at most BulkLimit; 0 means BulkLimit
	// To is the endpoint every selected scan's event goes to; zero: each
	// delivery's own endpoint (a reset, as Replay). With To, only scan
	// deliveries are selected.
	To     Endpoint
	DryRun bool
	// IdempotencyKey, when set, makes a repeat of this request within 24 h
	// answer the first one's answer instead of replaying again.
	IdempotencyKey string
}

// BulkReplayItem is one selected delivery and the delivery that replays it.
type BulkReplayItem struct {
	ID     string // the selected delivery
	Target string // the delivery that runs the replay: ID itself, or To's delivery of the scan
	// Plan is what would be sent (dry runs only).
	Plan *ReplayPlan

	listed Summary // as selected
}

// run is the selected run of the delivery.
func (i BulkReplayItem) run() *workflowpb.WorkflowExecutionInfo {
	return &workflowpb.WorkflowExecutionInfo{Execution: &commonpb.WorkflowExecution{WorkflowId: i.listed.ID, RunId: i.listed.RunID}}
}

// BulkReplayAnswer says what a bulk replay accepted, or for a dry run what
// it would.
type BulkReplayAnswer struct {
	ID         string // of the replay; "" for a dry run
	DryRun     bool
	Accepted   int    // deliveries selected (and, unless a dry run, being replayed)
	Truncated  bool   // more may match: call again with NextCursor
	NextCursor string // "" unless Truncated
	Sample     []BulkReplayItem
	// Rate is the pace, in replays per second, shared by every bulk
	// replay of the process.
	Rate       float64
	AcceptedAt time.Time
	// Repeated: the same request was accepted before (its Idempotency-Key,
	// or it is still running); nothing new was started.
	Repeated bool
}

// bulkJobs remembers running bulk replays and idempotency keys, so that a
// double submit does not replay twice.
type bulkJobs struct {
	mu      sync.Mutex
	running map[string]BulkReplayAnswer // request fingerprint → its answer
	keys    map[string]keyedAnswer      // workspace + key → the first answer
}

type keyedAnswer struct {
	fingerprint string
	answer      BulkReplayAnswer
	at          time.Time
}

// StartBulkReplay selects up to Limit deliveries of workspaceID matching
// r.Filter and replays them in the background at BulkRate (the pace the
// endpoint bulk replay shares), or, for a dry run, says what would be
// sent. The selection happens now; the replays follow. The caller checks
// that r.To and the filter's endpoint are the workspace's.
func (l *Log) StartBulkReplay(ctx context.Context, workspaceID string, r BulkReplay, requestedBy string) (BulkReplayAnswer, error) {
	if r.Filter.State == "" {
		r.Filter.State = workflows.StateFailed
	}
	switch r.Filter.State {
	case workflows.StateDelivered, workflows.StateFailed, workflows.StateCanceled:
	default:
		return BulkReplayAnswer{}, fmt.Errorf("%w: only finished deliveries are replayed, not %s ones", ErrInvalidFilter, r.Filter.State)
	}
	if r.Limit <= 0 || r.Limit > l.opts.BulkLimit {
		r.Limit = l.opts.BulkLimit
	}
	fingerprint := bulkFingerprint(workspaceID, r)
	if !r.DryRun {
		if answer, ok, err := l.jobs.repeat(workspaceID, r.IdempotencyKey, fingerprint, l.opts.Now()); ok || err != nil {
			return answer, err
		}
	}

	items, truncated, next, err := l.selectForReplay(ctx, workspaceID, r)
	if err != nil {
		return BulkReplayAnswer{}, err
	}
	answer := BulkReplayAnswer{
		DryRun: r.DryRun, Accepted: len(items), Truncated: truncated, NextCursor: next,
		Rate: l.opts.BulkRate, AcceptedAt: l.opts.Now().UTC(),
	}
	answer.Sample = items[:min(len(items), bulkSampleSize)]
	if r.DryRun {
		for i := range answer.Sample {
			plan, err := l.planReplay(ctx, answer.Sample[i], r.To)
			if err != nil {
				return BulkReplayAnswer{}, err
			}
			answer.Sample[i].Plan = &plan
		}
		return answer, nil
	}
	answer.ID = id.New("rpl", answer.AcceptedAt)
	if prior, ok := l.jobs.begin(workspaceID, r.IdempotencyKey, fingerprint, answer); ok {
		return prior, nil // the same request, accepted meanwhile
	}
	go l.runBulkReplay(workspaceID, items, r.To, "bulk replay "+answer.ID+" requested by "+requestedBy, fingerprint)
	return answer, nil
}

// selectForReplay lists up to r.Limit deliveries matching r, from r.Cursor
// on; it reports whether more may match and where to go on.
func (l *Log) selectForReplay(ctx context.Context, workspaceID string, r BulkReplay) ([]BulkReplayItem, bool, string, error) {
	var items []BulkReplayItem
	cursor := r.Cursor
	for len(items) < r.Limit {
		page, err := l.list(ctx, workspaceID, r.Filter, cursor, r.Limit-len(items))
		if err != nil {
			return nil, false, "", err
		}
		for _, d := range page.Deliveries {
			item := BulkReplayItem{ID: d.ID, Target: d.ID, listed: d}
			if r.To.ID == "" && r.To.URL != "" {
				if d.ScanID == "" {
					continue // a test or operational event is not sent elsewhere
				}
				item.Target = workflows.ReplayURLWorkflowID(outbox.EventID(d.ScanID), r.To.URL)
			} else if r.To.ID != "" && r.To.ID != d.EndpointID {
				if d.ScanID == "" {
					continue // a test or operational event is not sent elsewhere
				}
				item.Target = workflows.DeliveryWorkflowID(d.ScanID, r.To.ID)
			}
			items = append(items, item)
		}
		if page.Next == "" {
			return items, false, "", nil
		}
		cursor = page.Next
	}
	return items, true, cursor, nil
}

// planReplay reads what item would send.
func (l *Log) planReplay(ctx context.Context, item BulkReplayItem, to Endpoint) (ReplayPlan, error) {
	_, in, err := l.readRun(ctx, item.run())
	if err != nil {
		return ReplayPlan{}, err
	}
	plan := ReplayPlan{DryRun: true, ID: item.Target, EndpointID: in.EndpointID, EventID: in.EventID, EventType: in.EventType, Payload: in.Payload}
	if to.ID == "" && to.URL != "" {
		plan.URL = to.URL // the body already sent, to another receiver
		return plan, nil
	}
	if item.Target != item.ID {
		plan.EndpointID = to.ID
		if plan.Payload, err = destination.PayloadFor(to.Fields, in.Payload); err != nil {
			return ReplayPlan{}, fmt.Errorf("plan replay of %s: %w", item.ID, err)
		}
	}
	return plan, nil
}

// runBulkReplay replays items one after another at the bulk pace.
func (l *Log) runBulkReplay(workspaceID string, items []BulkReplayItem, to Endpoint, reason, fingerprint string) {
	defer l.jobs.end(fingerprint)
	ctx := context.Background()
	var replayed, skipped, failed int
	for _, item := range items {
		if err := l.bulk.Wait(ctx); err != nil {
			break
		}
		ok, err := l.replayItem(ctx, workspaceID, item, to, reason)
		switch {
		case err != nil:
			failed++
			l.opts.Logger.Warn("bulk replay: delivery not replayed", "delivery", item.ID, "to", item.Target, "error", err)
		case ok:
			replayed++
		default:
			skipped++
		}
	}
	l.opts.Logger.Info("bulk replay finished", "reason", reason, "replayed", replayed, "skipped", skipped, "failed", failed)
}

// replayItem replays one selected delivery; false: skipped, because it
// changed since it was selected (replayed by someone else) or its target
// is running.
func (l *Log) replayItem(ctx context.Context, workspaceID string, item BulkReplayItem, to Endpoint, reason string) (bool, error) {
	if item.Target == item.ID {
		return l.replayListed(ctx, workspaceID, item.listed, reason)
	}
	_, in, err := l.readRun(ctx, item.run())
	if err != nil {
		return false, err
	}
	if to.ID == "" && to.URL != "" {
		_, err = l.startAtURL(ctx, item.ID, in, to.URL, reason)
	} else {
		_, err = l.startElsewhere(ctx, item.ID, in, to, reason)
	}
	if errors.Is(err, ErrStillRunning) {
		return false, nil
	}
	return err == nil, err
}

// bulkFingerprint identifies a request: the same selection and target.
func bulkFingerprint(workspaceID string, r BulkReplay) string {
	b, _ := json.Marshal(struct {
		W     string
		F     Filter
		C     string
		L     int
		To    string
		ToURL string
		DryRn bool
	}{workspaceID, r.Filter, r.Cursor, r.Limit, r.To.ID, r.To.URL, r.DryRun})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// repeat answers a request seen before: an Idempotency-Key's first answer
// (ErrIdempotencyKeyReused for another request), or a running replay of
// the same request.
func (j *bulkJobs) repeat(workspaceID, key, fingerprint string, now time.Time) (BulkReplayAnswer, bool, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for k, v := range j.keys {
		if now.Sub(v.at) > idempotencyTTL {
			delete(j.keys, k)
		}
	}
	if key != "" {
		if v, ok := j.keys[workspaceID+"\x00"+key]; ok {
			if v.fingerprint != fingerprint {
				return BulkReplayAnswer{}, false, ErrIdempotencyKeyReused
			}
			v.answer.Repeated = true
			return v.answer, true, nil
		}
	}
	if answer, ok := j.running[fingerprint]; ok {
		answer.Repeated = true
		return answer, true, nil
	}
	return BulkReplayAnswer{}, false, nil
}

// begin records a replay about to run; if the same request began
// meanwhile, it answers that one instead.
func (j *bulkJobs) begin(workspaceID, key, fingerprint string, answer BulkReplayAnswer) (BulkReplayAnswer, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if prior, ok := j.running[fingerprint]; ok {
		prior.Repeated = true
		return prior, true
	}
	if j.running == nil {
		j.running, j.keys = map[string]BulkReplayAnswer{}, map[string]keyedAnswer{}
	}
	j.running[fingerprint] = answer
	if key != "" {
		j.keys[workspaceID+"\x00"+key] = keyedAnswer{fingerprint: fingerprint, answer: answer, at: answer.AcceptedAt}
	}
	return BulkReplayAnswer{}, false
}

func (j *bulkJobs) end(fingerprint string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	delete(j.running, fingerprint)
}
