package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/scanforge/scanforge/internal/app"
	"github.com/scanforge/scanforge/internal/config"
	"github.com/scanforge/scanforge/internal/id"
	"github.com/scanforge/scanforge/internal/outbox"
	"github.com/scanforge/scanforge/models"
	"github.com/scanforge/scanforge/webhook"
	"github.com/scanforge/scanforge/workflows"
)

// The minimal one-activity workflow: the engine's own cost of a workflow
// with one activity, the baseline of the delivery throughput.
const (
	minimalTaskQueue    = "scanforge-bench-minimal"
	minimalWorkflowName = "BenchMinimal"
	minimalActivityName = "BenchNoop"
)

func registerMinimal(w worker.Registry) {
	w.RegisterWorkflowWithOptions(minimalWorkflow, workflow.RegisterOptions{Name: minimalWorkflowName})
	w.RegisterActivityWithOptions(noopActivity, activity.RegisterOptions{Name: minimalActivityName})
}

func minimalWorkflow(ctx workflow.Context, seq int) (int, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second})
	var out int
	err := workflow.ExecuteActivity(ctx, minimalActivityName, seq).Get(ctx, &out)
	return out, err
}

func noopActivity(_ context.Context, seq int) (int, error) { return seq, nil }

// control is the harness's door into a stack process: it runs workflows
// from inside the process (so they start eagerly, as the outbox's do) and
// reports how much of the outbox is still pending.
type control struct {
	store       *models.Store
	temporal    client.Client
	cfg         config.Config
	workspaceID string
	revision    int // of the deliveries it starts

	profileMu sync.Mutex
	profile   *os.File // the CPU profile being written, if any
}

// startProfile starts a CPU profile of the process into path.
func (c *control) startProfile(path string) error {
	c.profileMu.Lock()
	defer c.profileMu.Unlock()
	if c.profile != nil {
		return errors.New("a profile is already running")
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return err
	}
	c.profile = f
	return nil
}

func (c *control) stopProfile() error {
	c.profileMu.Lock()
	defer c.profileMu.Unlock()
	if c.profile == nil {
		return nil
	}
	pprof.StopCPUProfile()
	err := c.profile.Close()
	c.profile = nil
	return err
}

// workflowsRequest asks for N workflows of Kind, Concurrency at a time.
type workflowsRequest struct {
	Kind        string `json:"kind"` // "minimal" or "delivery"
	N           int    `json:"n"`
	Concurrency int    `json:"concurrency"`
	CodeID      string `json:"code_id"`     // delivery: the scanned code
	EndpointID  string `json:"endpoint_id"` // delivery: the receiver
	Group       string `json:"group"`       // delivery: Referer marker group
}

// workflowsResult is what a workflows run measured inside the process:
// start to result of every workflow.
type workflowsResult struct {
	N         int           `json:"n"`
	Errors    int           `json:"errors"`
	FirstErr  string        `json:"first_error,omitempty"`
	Elapsed   time.Duration `json:"elapsed"`
	Latencies []int64       `json:"latencies_us"`
	Repolls   int           `json:"repolls"` // result waits that ran out their second (awaitRun)
}

func (c *control) routes() http.Handler {
	mux := http.NewServeMux()
	// The runtime's profiles (heap, goroutine, …) of the stack process.
	mux.HandleFunc("GET /memstats", func(w http.ResponseWriter, r *http.Request) {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		writeJSON(w, map[string]uint64{
			"sys": m.Sys, "heap_sys": m.HeapSys, "heap_inuse": m.HeapInuse, "heap_alloc": m.HeapAlloc,
			"heap_released": m.HeapReleased, "stack_sys": m.StackSys, "next_gc": m.NextGC,
			"goroutines": uint64(runtime.NumGoroutine()),
		})
	})
	mux.HandleFunc("GET /profile/{name}", func(w http.ResponseWriter, r *http.Request) {
		p := pprof.Lookup(r.PathValue("name"))
		if p == nil {
			http.Error(w, "no such profile", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		_ = p.WriteTo(w, 0)
	})
	mux.HandleFunc("GET /pending", func(w http.ResponseWriter, r *http.Request) {
		var n int64
		if err := c.store.DB().WithContext(r.Context()).Model(&models.Scan{}).
			Where("dispatched_at IS NULL").Count(&n).Error; err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		writeJSON(w, map[string]int64{"pending": n})
	})
	mux.HandleFunc("POST /profile/start", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Path string }
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Path == "" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		if err := c.startProfile(req.Path); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		writeJSON(w, map[string]string{"profiling": req.Path})
	})
	mux.HandleFunc("POST /profile/stop", func(w http.ResponseWriter, r *http.Request) {
		if err := c.stopProfile(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		writeJSON(w, map[string]string{"profiling": ""})
	})
	mux.HandleFunc("POST /workflows", func(w http.ResponseWriter, r *http.Request) {
		var req workflowsRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.N <= 0 || req.Concurrency <= 0 {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		res, err := c.runWorkflows(r.Context(), req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		writeJSON(w, res)
	})
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// runWorkflows keeps Concurrency workflows in flight until N have
// completed, each started and awaited like the outbox starts deliveries.
func (c *control) runWorkflows(ctx context.Context, req workflowsRequest) (workflowsResult, error) {
	var start func(ctx context.Context, seq int) (client.WorkflowRun, error)
	switch req.Kind {
	case "minimal":
		runID := strconv.FormatInt(time.Now().UnixNano(), 36)
		start = func(ctx context.Context, seq int) (client.WorkflowRun, error) {
			return c.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
				ID:                       "bench-minimal-" + runID + "-" + strconv.Itoa(seq),
				TaskQueue:                minimalTaskQueue,
				WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
				WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
				EnableEagerStart:         true,
			}, minimalWorkflowName, seq)
		}
	case "delivery":
		code, err := c.store.GetCode(ctx, c.workspaceID, req.CodeID)
		if err != nil {
			return workflowsResult{}, err
		}
		ep, err := c.store.GetEndpoint(ctx, c.workspaceID, req.EndpointID)
		if err != nil {
			return workflowsResult{}, err
		}
		start = func(ctx context.Context, seq int) (client.WorkflowRun, error) {
			return c.startDelivery(ctx, code, ep, marker(req.Group, seq))
		}
	default:
		return workflowsResult{}, fmt.Errorf("unknown workflow kind %q", req.Kind)
	}

	res := workflowsResult{N: req.N, Latencies: make([]int64, req.N)}
	var next atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	began := time.Now()
	for range req.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				seq := int(next.Add(1)) - 1
				if seq >= req.N {
					return
				}
				t0 := time.Now()
				run, err := start(ctx, seq)
				repolls := 0
				if err == nil {
					repolls, err = awaitRun(ctx, run)
				}
				res.Latencies[seq] = time.Since(t0).Microseconds()
				mu.Lock()
				res.Repolls += repolls
				if err != nil {
					res.Errors++
					if res.FirstErr == "" {
						res.FirstErr = err.Error()
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(began)
	if err := ctx.Err(); err != nil {
		return res, err
	}
	return res, nil
}

// awaitRun waits for run's result, asking again every second. The server
// answers a result wait when the workflow closes, but in a full run of the
// sixth round one workflow of 8,000 got its answer only when the wait
// expired after 20 s, the server's long-poll interval, although its
// webhook had arrived long before (a missed notification, as far as the
// logs tell): that one workflow held up a whole round. Asking
// again costs a request per second per workflow still running; repolls
// counts them.
func awaitRun(ctx context.Context, run client.WorkflowRun) (repolls int, err error) {
	for {
		waitCtx, cancel := context.WithTimeout(ctx, time.Second)
		err := run.Get(waitCtx, nil)
		expired := waitCtx.Err() != nil
		cancel()
		if err == nil || !expired || ctx.Err() != nil {
			return repolls, err
		}
		repolls++
	}
}

// startDelivery starts the product's delivery workflow for a fresh scan of
// code, through the door the outbox uses (workflows.StartDelivery).
func (c *control) startDelivery(ctx context.Context, code models.Code, ep models.Endpoint, referrer string) (client.WorkflowRun, error) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	scan := models.Scan{
		ID: id.New(id.Scan, now), WorkspaceID: code.WorkspaceID, CodeID: code.ID, Slug: code.Slug,
		CodeName: code.Name, Timestamp: now, Source: "qr", DestinationURL: code.DestinationURL,
		Referrer: referrer, UserAgent: iPhoneSafari,
	}
	payload, err := outbox.ScanCreatedEvent(scan)
	if err != nil {
		return nil, err
	}
	run, err := workflows.StartDelivery(ctx, c.temporal, workflows.Start{
		WorkflowID: workflows.DeliveryWorkflowID(scan.ID, ep.ID),
		Input: workflows.DeliveryInput{
			WorkspaceID: scan.WorkspaceID,
			EndpointID:  ep.ID,
			CodeID:      scan.CodeID,
			ScanID:      scan.ID,
			EventID:     outbox.EventID(scan.ID),
			EventType:   webhook.TypeScanCreated,
			Payload:     payload,
			OccurredAt:  scan.Timestamp,
			Schedule:    app.Schedule(c.cfg),
			Revision:    c.revision,
		},
		Fields:  ep.Fields,
		Summary: fmt.Sprintf("%s /%s → %s", webhook.TypeScanCreated, scan.Slug, ep.URL),
		Eager:   true,
	})
	if err != nil {
		return nil, fmt.Errorf("start delivery: %w", err)
	}
	return run, nil
}
