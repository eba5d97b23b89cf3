package app_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/scanforge/scanforge/internal/app"
	"github.com/scanforge/scanforge/internal/devserver"
	"github.com/scanforge/scanforge/internal/outbox"
	"github.com/scanforge/scanforge/internal/recorder"
	"github.com/scanforge/scanforge/internal/testdb"
	"github.com/scanforge/scanforge/internal/tracing"
	"github.com/scanforge/scanforge/models"
	"github.com/scanforge/scanforge/workflows"
)

// withTracing runs the stack's app, and dials its Temporal client, with tr.
func withTracing(tr *tracing.Tracing) func(*stack) {
	return func(s *stack) { s.tracing = tr }
}

// dialTracedTemporal is a client of srv with tr's interceptors, as the
// binary dials it when tracing is on.
func dialTracedTemporal(t *testing.T, srv *devserver.Server, tr *tracing.Tracing) client.Client {
	t.Helper()
	interceptors, err := tr.TemporalInterceptors()
	if err != nil || len(interceptors) == 0 {
		t.Fatalf("interceptors %v, %v", interceptors, err)
	}
	c, err := client.Dial(client.Options{
		HostPort: srv.FrontendAddress(), Namespace: srv.Namespace(),
		Logger: sdklog.NewStructuredLogger(testLogger()), Interceptors: interceptors,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// The chain of spans of one delivered scan, each the parent of the next.
var deliveryChain = []string{
	"record scan", "dispatch", "StartWorkflow:" + workflows.WorkflowName, "RunWorkflow:" + workflows.WorkflowName,
	"StartActivity:" + workflows.AttemptActivityName, "RunActivity:" + workflows.AttemptActivityName, "POST",
}

// A scan is one trace: the redirect, its recording, the dispatch, the
// workflow, the attempt (the first runs as a local activity) and the POST,
// each the child of the one before; the receiver gets a traceparent whose
// parent is the POST, so its own span would join the scan's trace.
func TestOneTraceFromScanToReceiver(t *testing.T) {
	for _, kind := range testdb.Kinds {
		t.Run(kind, func(t *testing.T) {
			spans := tracetest.NewInMemoryExporter()
			s := newStack(t, kind, withTracing(tracing.WithSyncer(spans)))
			rcv := newReceiver(t, http.StatusOK)
			s.setup("traced", rcv.URL)

			s.scan("/q/traced", http.Header{"User-Agent": {iPhoneSafari}})
			d := rcv.next(t)
			scan := s.onlyScan()

			got := waitForSpans(t, spans, append([]string{"redirect"}, deliveryChain...))
			redirect := got["redirect"]
			if redirect.Parent.IsValid() {
				t.Errorf("the redirect span has a parent %v: it must start the trace", redirect.Parent)
			}
			if !hasAttribute(redirect, "scanforge.scan.id", scan.ID) {
				t.Errorf("redirect span attributes %v lack the scan ID %s", redirect.Attributes, scan.ID)
			}
			checkChain(t, spans, got, "redirect", redirect.SpanContext.TraceID())
			checkReceived(t, d.Header, got["POST"])
			if want := got["record scan"].SpanContext; scan.TraceParent != traceParentOf(want) {
				t.Errorf("stored traceparent %q, want the record span's %q", scan.TraceParent, traceParentOf(want))
			}
		})
	}
}

// An attempt after a failed one runs as a regular activity, later: it is
// in the scan's trace too, and the receiver's traceparent names its POST.
func TestRetriedAttemptStaysInTheScansTrace(t *testing.T) {
	spans := tracetest.NewInMemoryExporter()
	s := newStack(t, "sqlite", withTracing(tracing.WithSyncer(spans)))
	rcv := newReceiver(t, http.StatusServiceUnavailable, http.StatusOK)
	_, endpointID, _ := s.setup("retried", rcv.URL)
	s.scan("/q/retried", nil)
	first, second := rcv.next(t), rcv.next(t)
	scan := s.onlyScan()
	if err := s.temporal.GetWorkflow(context.Background(), workflows.DeliveryWorkflowID(scan.ID, endpointID), "").Get(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	got := waitForSpans(t, spans, []string{"redirect", "POST"})
	traceID := got["redirect"].SpanContext.TraceID()
	var posts []tracetest.SpanStub
	deadline := time.Now().Add(30 * time.Second)
	for len(posts) < 2 && time.Now().Before(deadline) {
		posts = posts[:0]
		for _, span := range spans.GetSpans() {
			if span.Name == "POST" {
				posts = append(posts, span)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(posts) != 2 {
		t.Fatalf("%d POST spans, want 2", len(posts))
	}
	for i, d := range []delivery{first, second} {
		if posts[i].SpanContext.TraceID() != traceID {
			t.Errorf("POST %d is in trace %s, want the scan's %s", i+1, posts[i].SpanContext.TraceID(), traceID)
		}
		checkReceived(t, d.Header, posts[i])
	}
}

// A scan that the dispatcher did not get from memory — recorded while no
// dispatcher ran, then found by its poll — goes on with the trace of its
// recording, through the traceparent stored with it.
func TestPolledScanContinuesItsTrace(t *testing.T) {
	for _, kind := range testdb.Kinds {
		t.Run(kind, func(t *testing.T) {
			spans := tracetest.NewInMemoryExporter()
			tr := tracing.WithSyncer(spans)
			s := newStack(t, kind, withTracing(tr))
			rcv := newReceiver(t, http.StatusOK)
			codeID, endpointID, _ := s.setup("polled", rcv.URL)
			s.stop()

			// The redirect of a process that died before handing the scan over.
			ws, _ := s.store.ListWorkspaces(context.Background())
			rec := recorder.New(outbox.NewWriter(s.store), recorder.Options{Tracing: tr})
			recCtx, stopRecorder := context.WithCancel(context.Background())
			recDone := make(chan struct{})
			go func() { rec.Run(recCtx); close(recDone) }()
			ctx, root := tr.Start(context.Background(), "redirect", trace.SpanKindServer)
			scan := models.Scan{
				ID: "scan_01polledpolledpolledpolled", WorkspaceID: ws[0].ID, CodeID: codeID, Slug: "polled",
				Timestamp: time.Now().UTC().Truncate(time.Microsecond), Source: "qr", DestinationURL: "https://shop.example.com/spring",
			}
			if err := rec.Record(ctx, scan); err != nil {
				t.Fatal(err)
			}
			root.End()
			stopRecorder()
			<-recDone
			if stored := s.onlyScan(); stored.TraceParent == "" || stored.DispatchedAt != nil {
				t.Fatalf("stored scan: traceparent %q, dispatched at %v", stored.TraceParent, stored.DispatchedAt)
			}

			// The restarted process's dispatcher finds it by its first poll.
			s.start(func(a *app.App, ln net.Listener, ctx context.Context) error { return a.Run(ctx, ln) })
			d := rcv.next(t)
			if err := s.temporal.GetWorkflow(context.Background(), workflows.DeliveryWorkflowID(scan.ID, endpointID), "").Get(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			got := waitForSpans(t, spans, append([]string{"redirect"}, deliveryChain...))
			checkChain(t, spans, got, "redirect", root.SpanContext().TraceID())
			checkReceived(t, d.Header, got["POST"])
		})
	}
}

// checkChain checks that deliveryChain's spans follow first, one the
// child of the one before, all in trace, and that there are no others.
func checkChain(t *testing.T, spans *tracetest.InMemoryExporter, got map[string]tracetest.SpanStub, first string, traceID trace.TraceID) {
	t.Helper()
	if all := spans.GetSpans(); len(all) != len(deliveryChain)+1 {
		var names []string
		for _, span := range all {
			names = append(names, span.Name)
		}
		t.Errorf("spans %v, want %s and %v", names, first, deliveryChain)
	}
	parent := got[first]
	for _, name := range deliveryChain {
		span := got[name]
		if span.SpanContext.TraceID() != traceID {
			t.Errorf("span %q is in trace %s, want %s", name, span.SpanContext.TraceID(), traceID)
		}
		if span.Parent.SpanID() != parent.SpanContext.SpanID() {
			t.Errorf("span %q has parent %s, want %q (%s)", name, span.Parent.SpanID(), parent.Name, parent.SpanContext.SpanID())
		}
		parent = span
	}
}

// checkReceived checks the receiver's traceparent: the POST span's trace,
// the POST span as the parent, sampled.
func checkReceived(t *testing.T, h http.Header, post tracetest.SpanStub) {
	t.Helper()
	if got, want := h.Get("Traceparent"), traceParentOf(post.SpanContext); got != want {
		t.Errorf("receiver got traceparent %q, want %q (the POST span)", got, want)
	}
}

func traceParentOf(sc trace.SpanContext) string {
	return "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-" + sc.TraceFlags().String()
}

// waitForSpans waits until a span of each name has ended and returns the
// first of each by name. The bound only keeps a broken build from hanging.
func waitForSpans(t *testing.T, exporter *tracetest.InMemoryExporter, names []string) map[string]tracetest.SpanStub {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		byName := map[string]tracetest.SpanStub{}
		for _, span := range exporter.GetSpans() {
			if _, ok := byName[span.Name]; !ok {
				byName[span.Name] = span
			}
		}
		missing := []string{}
		for _, name := range names {
			if _, ok := byName[name]; !ok {
				missing = append(missing, name)
			}
		}
		if len(missing) == 0 {
			return byName
		}
		if time.Now().After(deadline) {
			var have []string
			for name := range byName {
				have = append(have, name)
			}
			t.Fatalf("spans %v never ended; have %s", missing, strings.Join(have, ", "))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func hasAttribute(span tracetest.SpanStub, key, value string) bool {
	for _, kv := range span.Attributes {
		if string(kv.Key) == key && kv.Value.AsString() == value {
			return true
		}
	}
	return false
}
