package app_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scanforge/scanforge/internal/app"
	"github.com/scanforge/scanforge/internal/outbox"
	"github.com/scanforge/scanforge/models"
	"github.com/scanforge/scanforge/workflows"
)

// A scan that got its 302 but whose process died before its deliveries were
// started is delivered when the process comes back: the scans table is the
// outbox. Draining it again never delivers twice.
func TestScanRecordedBeforeACrashIsDeliveredAfterRestart(t *testing.T) {
	s := newStack(t, "sqlite")
	rcv := newReceiver(t, http.StatusOK)
	codeID, endpointID, _ := s.setup("crash", rcv.URL)
	s.stop()

	// What the redirect had made durable when the process died.
	ws, _ := s.store.ListWorkspaces(context.Background())
	scan := models.Scan{
		ID: "scan_01crashcrashcrashcrashcrash", WorkspaceID: ws[0].ID, CodeID: codeID, Slug: "crash",
		Timestamp: time.Now().UTC().Truncate(time.Microsecond), Source: "qr", DestinationURL: "https://shop.example.com/spring",
	}
	writer := outbox.NewWriter(s.store)
	if _, err := writer.InsertScans(context.Background(), []models.Scan{scan}); err != nil {
		t.Fatal(err)
	}

	s.start(func(a *app.App, ln net.Listener, ctx context.Context) error { return a.Run(ctx, ln) })
	d := rcv.next(t)
	if d.Header.Get("Webhook-Id") != outbox.EventID(scan.ID) {
		t.Fatalf("delivered event %q, want %q", d.Header.Get("Webhook-Id"), outbox.EventID(scan.ID))
	}
	wfID := workflows.DeliveryWorkflowID(scan.ID, endpointID)
	run := s.temporal.GetWorkflow(context.Background(), wfID, "")
	if err := run.Get(context.Background(), nil); err != nil {
		t.Fatal(err)
	}

	// Drain the same scan again, as a replica that crashed before marking it would.
	if err := s.store.DB().Model(&models.Scan{}).Where("id = ?", scan.ID).Update("dispatched_at", nil).Error; err != nil {
		t.Fatal(err)
	}
	d2 := outbox.New(writer, s.temporal, outbox.Options{Schedule: app.Schedule(testConfig())})
	if n, err := d2.DrainOnce(context.Background()); err != nil || n != 1 {
		t.Fatalf("second drain: n=%d err=%v", n, err)
	}
	desc, err := s.temporal.DescribeWorkflowExecution(context.Background(), wfID, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := desc.GetWorkflowExecutionInfo().GetExecution().GetRunId(); got != run.GetRunID() {
		t.Fatalf("second drain started a new run %s (first %s)", got, run.GetRunID())
	}
	pending, _ := writer.PendingScans(context.Background(), time.Now(), 10)
	if len(pending) != 0 {
		t.Fatalf("scan still pending after the second drain: %+v", pending)
	}
}

// A worker that stops in the middle of an attempt loses nothing: a new
// worker picks the delivery up and it arrives.
func TestWorkerStoppedMidDeliveryStillDelivers(t *testing.T) {
	s := newStack(t, "postgres")
	s.stop() // run serve and the workers separately below
	s.start(func(a *app.App, ln net.Listener, ctx context.Context) error { return a.Serve(ctx, ln) })

	firstArrived := make(chan struct{})
	var calls atomic.Int32
	delivered := make(chan struct{})
	release := make(chan struct{})
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // only then does net/http notice the client leaving
		n := calls.Add(1)
		if n == 1 {
			close(firstArrived)
			select { // hang until the attempt gives up on us
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		w.WriteHeader(http.StatusOK)
		if n == 2 {
			close(delivered)
		}
	}))
	defer rcv.Close()
	defer close(release)
	_, endpointID, _ := s.setup("worker", rcv.URL)

	workerA := &app.App{Config: testConfig(), Store: s.store, Temporal: s.temporal, Logger: testLogger()}
	ctxA, stopA := context.WithCancel(context.Background())
	doneA := make(chan error, 1)
	go func() { doneA <- workerA.Work(ctxA) }()

	s.scan("/q/worker", nil)
	waitFor(t, firstArrived, "first attempt")
	stopA()
	if err := <-doneA; err != nil {
		t.Fatal(err)
	}

	workerB := &app.App{Config: testConfig(), Store: s.store, Temporal: s.temporal, Logger: testLogger()}
	ctxB, stopB := context.WithCancel(context.Background())
	defer stopB()
	go workerB.Work(ctxB)

	waitFor(t, delivered, "delivery after the worker restart")
	scan := s.onlyScan()
	var res workflows.DeliveryResult
	if err := s.temporal.GetWorkflow(context.Background(), workflows.DeliveryWorkflowID(scan.ID, endpointID), "").Get(context.Background(), &res); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || res.Attempts < 1 {
		t.Fatalf("result %+v", res)
	}
}

func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(90 * time.Second): // a hang guard, not a speed assertion
		t.Fatalf("timed out waiting for %s", what)
	}
}
