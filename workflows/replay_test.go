package workflows_test

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/scanforge/scanforge/workflows"
)

// TestReplayRecordedHistories replays every history in testdata/ against the
// current Delivery code: a change that alters the commands a recorded run
// made (without workflow.GetVersion) fails here before it breaks running
// deliveries.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	// Every revision a running delivery may have started with needs its
	// recordings: recorded-vN-*.json for revision N, recorded-*.json
	// without a vN for revision 0 (testdata/README.md).
	perRevision := make([]int, workflows.CurrentRevision+1)
	for _, file := range files {
		revision, ok := revisionOfRecording(filepath.Base(file))
		if !ok {
			t.Errorf("%s: no revision %d..%d in its name", file, workflows.RevisionOriginal, workflows.CurrentRevision)
			continue
		}
		perRevision[revision]++
	}
	for revision, n := range perRevision {
		if n == 0 {
			t.Errorf("no recorded history of revision %d in workflows/testdata/: record one (testdata/README.md)", revision)
		}
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			replayer := worker.NewWorkflowReplayer()
			replayer.RegisterWorkflowWithOptions(workflows.Delivery, workflow.RegisterOptions{Name: workflows.WorkflowName})
			if err := replayer.ReplayWorkflowHistoryFromJSONFile(nil, file); err != nil {
				t.Fatalf("replay %s: %v", file, err)
			}
		})
	}
}

// revisionOfRecording reads the revision from a recording's file name:
// recorded-v2-503-503-200.json is revision 2, recorded-503-503-200.json 0.
func revisionOfRecording(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, "recorded-v")
	if !ok {
		return 0, true
	}
	digits, _, _ := strings.Cut(rest, "-")
	n, err := strconv.Atoi(digits)
	return n, err == nil && n >= 0 && n <= workflows.CurrentRevision
}
