package deliverylog

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	commonpb "go.temporal.io/api/common/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"

	"github.com/scanforge/scanforge/workflows"
)

// recordedEvents loads a recorded history of workflows/testdata.
func recordedEvents(t *testing.T, name string) []*historypb.HistoryEvent {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "workflows", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return h.GetEvents()
}

func recordedRun(t *testing.T, name string) (Run, workflows.DeliveryInput) {
	t.Helper()
	return decodeEvents(t, name, recordedEvents(t, name))
}

func decodeEvents(t *testing.T, name string, events []*historypb.HistoryEvent) (Run, workflows.DeliveryInput) {
	t.Helper()
	run, in, err := decodeRun(&commonpb.WorkflowExecution{WorkflowId: "delivery:x:y", RunId: "run"}, events)
	if err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
	return run, in
}

// TestLocalAttemptReadsLikeAnActivityAttempt reads the same delivery (503,
// 503, then a permanent 400) recorded by revision 1, every attempt an
// activity, and by revision 2, the first attempt a local activity marker:
// the log shows the same attempts.
func TestLocalAttemptReadsLikeAnActivityAttempt(t *testing.T) {
	before, inBefore := recordedRun(t, "recorded-v1-503-503-400.json")
	after, inAfter := recordedRun(t, "recorded-v2-503-503-400.json")
	if inBefore.Revision != workflows.RevisionLeanState || inAfter.Revision != workflows.RevisionLocalFirst {
		t.Fatalf("recorded revisions %d and %d, want %d and %d", inBefore.Revision, inAfter.Revision,
			workflows.RevisionLeanState, workflows.RevisionLocalFirst)
	}
	if before.State != workflows.StateFailed || after.State != workflows.StateFailed {
		t.Fatalf("states %q and %q, want failed", before.State, after.State)
	}
	if len(before.Attempts) != 3 || len(after.Attempts) != 3 {
		t.Fatalf("%d and %d attempts, want 3 each", len(before.Attempts), len(after.Attempts))
	}
	// The two recordings are different runs: the receiver's URL, the times
	// and the request (its signatures, timestamps and event) differ.
	runOwn := cmpopts.IgnoreFields(Attempt{}, "URL", "StartedAt", "Duration", "RequestHeaders", "RequestBody")
	for i := range after.Attempts {
		b, a := before.Attempts[i], after.Attempts[i]
		if diff := cmp.Diff(b, a, runOwn); diff != "" {
			t.Errorf("attempt %d (-revision 1 +revision 2):\n%s", i+1, diff)
		}
		if a.InProgress || a.Number != i+1 || a.URL == "" || a.StartedAt.IsZero() {
			t.Errorf("attempt %d: revision 2 reads %+v", i+1, a)
		}
		for _, h := range []map[string]string{a.RequestHeaders, b.RequestHeaders} {
			if h["Webhook-Signature"] != "v1,masked" {
				t.Errorf("attempt %d: signature not masked in %v", i+1, h)
			}
		}
	}
}

// TestFirstAttemptDeliveryReadsFromItsMarker reads a delivery that revision 2
// delivered at its first attempt: one attempt, from the marker alone.
func TestFirstAttemptDeliveryReadsFromItsMarker(t *testing.T) {
	run, _ := recordedRun(t, "recorded-v2-replay-200.json")
	if run.State != workflows.StateDelivered || run.ReplayedBy == "" {
		t.Fatalf("state %q, replayed by %q; want a delivered replay", run.State, run.ReplayedBy)
	}
	if len(run.Attempts) != 1 {
		t.Fatalf("%d attempts, want the one of the replay: %+v", len(run.Attempts), run.Attempts)
	}
	a := run.Attempts[0]
	if a.Number != 1 || a.StatusCode != 200 || a.Outcome != "delivered" || a.InProgress || a.RequestHeaders["Webhook-Signature"] != "v1,masked" {
		t.Errorf("attempt: %+v", a)
	}
}
