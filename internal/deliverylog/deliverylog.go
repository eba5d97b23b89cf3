// Package deliverylog reads and acts on the delivery log, which is Temporal
// itself: one delivery is one workflow ID, its runs and their histories are
// the attempts, visibility with ScanForge's search attributes is the index.
// It lists deliveries of a workspace, reads one with every attempt of every
// run, replays deliveries (a reset to the first workflow task, exactly what
// the Temporal UI's Reset does), signals retry-now and sends test events.
//
// Every call is scoped to a workspace: visibility queries filter on the
// ScanForgeWorkspace search attribute, and single-delivery calls check it,
// answering ErrNotFound for another workspace's delivery.
package deliverylog

import (
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	"golang.org/x/time/rate"

	"github.com/scanforge/scanforge/webhook"
	"github.com/scanforge/scanforge/workflows"
)

// Errors of the delivery log; the API maps them to statuses.
var (
	// ErrNotFound: no such delivery in the workspace (it may exist in
	// another one, which the caller must not learn).
	ErrNotFound = errors.New("delivery not found")
	// ErrStillRunning: a replay of a delivery that has not finished yet.
	ErrStillRunning = errors.New("delivery is still running")
	// ErrNotRunning: a retry-now of a delivery that has finished.
	ErrNotRunning = errors.New("delivery has finished")
	// ErrInvalidCursor: a cursor that no listing returned.
	ErrInvalidCursor = errors.New("invalid cursor")
)

// States lists the states a delivery can be in; see workflows.State*.
func States() []string {
	return []string{
		workflows.StatePending, workflows.StateRetrying, workflows.StatePaused, workflows.StateDelivered,
		workflows.StateFailed, workflows.StateCanceled,
	}
}

// Defaults of Options.
const (
	DefaultBulkLimit = 1000
	DefaultBulkRate  = 20 // resets per second
	DefaultDrainRate = 20 // parked deliveries resumed per second
)

// Options configure a Log.
type Options struct {
	// Namespace of the deliveries; "" means "default". It must be the
	// namespace the client was dialled with.
	Namespace string
	// Schedule is the retry schedule of test events, as the outbox uses it.
	Schedule workflows.RetrySchedule
	// BulkLimit caps the deliveries one bulk replay resets; default 1000.
	BulkLimit int
	// BulkRate bounds resets per second over all bulk replays of this
	// process, so a large replay cannot starve the deliveries; default 20.
	BulkRate float64
	// EagerStart lets test events go to a worker in this process at once.
	EagerStart bool
	Now        func() time.Time
	Logger     *slog.Logger
	// DrainRate is how many parked deliveries per second a drain resumes
	// (DefaultDrainRate when zero).
	DrainRate float64
}

// Log is the delivery log of one Temporal namespace.
type Log struct {
	temporal client.Client
	opts     Options
	bulk     *rate.Limiter
	drains   drains
	jobs     bulkJobs
}

// New returns the Log that reads and acts through c.
func New(c client.Client, opts Options) *Log {
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if opts.BulkLimit <= 0 {
		opts.BulkLimit = DefaultBulkLimit
	}
	if opts.BulkRate <= 0 {
		opts.BulkRate = DefaultBulkRate
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.DrainRate <= 0 {
		opts.DrainRate = DefaultDrainRate
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	burst := max(1, int(opts.BulkRate))
	return &Log{temporal: c, opts: opts, bulk: rate.NewLimiter(rate.Limit(opts.BulkRate), burst)}
}

// Filter narrows a listing. Zero fields do not filter.
type Filter struct {
	EndpointID string
	CodeID     string
	ScanID     string
	State      string    // one of States()
	Since      time.Time // started at or after
	Until      time.Time // started before
}

// Summary is a delivery as a listing shows it, from visibility alone
// (plus, for a failed delivery, its close event: the answer it gave up on).
type Summary struct {
	ID          string // the workflow ID
	RunID       string // the current run
	EventType   string
	WorkspaceID string
	EndpointID  string
	CodeID      string
	ScanID      string
	State       string
	// Attempts and LastStatus are those of the current run as of its last
	// state change: exact once it has finished, possibly behind while it
	// retries (Get reads them from history). LastStatus is nil before the
	// first answer, and in a listing of a delivery that succeeded at its
	// first attempt (the workflow spends no visibility write on it); 0 is
	// no answer.
	Attempts   int
	LastStatus *int
	StartedAt  time.Time
	FinishedAt time.Time // zero while running
	// Failure and LastAttempt say why a failed delivery gave up.
	Failure     string
	LastAttempt *Attempt
}

// Page is one page of a listing; Next is "" on the last page.
type Page struct {
	Deliveries []Summary
	Next       string
}

// Delivery is one delivery read from history: every attempt of every run.
type Delivery struct {
	Summary
	EventID       string
	Payload       json.RawMessage // the event that was (and will be) sent
	NextAttemptAt time.Time       // while waiting for the next attempt; zero otherwise
	Runs          []Run           // oldest first; replays add runs
}

// Run is one execution of the delivery workflow: the first one, or a replay.
type Run struct {
	RunID       string
	State       string
	StartedAt   time.Time
	FinishedAt  time.Time // zero while running
	ReplayedBy  string    // the reset reason of a replay ("" for the first run)
	Failure     string    // why a failed or canceled run ended
	Attempts    []Attempt // in order
	NextAttempt time.Time // zero unless the run waits for its next attempt
}

// Attempt is one delivery attempt, as the attempt activity recorded it.
type Attempt struct {
	Number          int
	StartedAt       time.Time
	Duration        time.Duration
	URL             string
	RequestHeaders  map[string]string // signature values masked
	StatusCode      int               // 0: no answer
	ResponseHeaders map[string]string // the ones of interest
	ResponseBody    string            // cut at 4 KiB
	Error           string
	Outcome         string // delivered, retry, failed, endpoint_disabled; "" while running
	InProgress      bool
	// Format is the endpoint's body format at the attempt ("scanforge"
	// for the event itself); RequestBody is the exact body sent: the
	// rendered message the attempt recorded for a chat format, else the
	// run's payload. Empty before the attempt has finished.
	Format      string
	RequestBody json.RawMessage
}

// ValidID reports whether id can be a delivery's ID: a workflow ID made by
// workflows.DeliveryWorkflowID, TestWorkflowID or OperationalWorkflowID. Only such IDs
// ever reach a visibility query, so no input can change a query's meaning.
func ValidID(id string) bool {
	parts := strings.Split(id, ":")
	if len(parts) != 3 {
		return false
	}
	var wantPrefix string
	to := "ep_"
	switch parts[0] {
	case "delivery":
		wantPrefix = "scan_"
	case "replay": // to a bare URL
		wantPrefix, to = "evt_", "url_"
	case "test", webhook.TypeEndpointDisabled, webhook.TypeEndpointEnabled, webhook.TypeDeliveryGaveUp, webhook.TypeEndpointPausedBacklog:
		wantPrefix = "evt_"
	default:
		return false
	}
	return strings.HasPrefix(parts[1], wantPrefix) && isIDChars(parts[1]) &&
		strings.HasPrefix(parts[2], to) && isIDChars(parts[2])
}

// isIDChars reports whether s holds only what internal/id makes: lowercase
// letters, digits and underscores.
func isIDChars(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// eventTypeOf tells the event type from the workflow ID.
func eventTypeOf(workflowID string) string {
	switch prefix, _, _ := strings.Cut(workflowID, ":"); prefix {
	case "test":
		return webhook.TypeTest
	case webhook.TypeEndpointDisabled, webhook.TypeEndpointEnabled, webhook.TypeDeliveryGaveUp, webhook.TypeEndpointPausedBacklog:
		return prefix
	}
	return webhook.TypeScanCreated
}
