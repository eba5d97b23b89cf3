package workflows_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"

	"github.com/scanforge/scanforge/workflows"
)

// TestDeliveryUpsertsStateOnlyWhenItChanges checks the visibility writes of
// a delivery: one when it starts retrying, one when the endpoint's answer
// changes, one at the end; none for a repeated answer.
func TestDeliveryUpsertsStateOnlyWhenItChanges(t *testing.T) {
	got := upsertedStates(t, deliveryInput(), reply{status: 503}, reply{status: 503}, reply{status: 500}, reply{status: 200})
	want := "retrying/503/1 retrying/500/3 delivered/200/4"
	if strings.Join(got, " ") != want {
		t.Fatalf("upserts %q, want %q", strings.Join(got, " "), want)
	}
}

// upsertedStates runs a delivery of in against receiver answers and returns
// the states it upserted, as "state/status/attempts".
func upsertedStates(t *testing.T, in workflows.DeliveryInput, answers ...reply) []string {
	t.Helper()
	rcv := newScriptedReceiver(t, answers...)
	env := newEnv(t, newMemStore(t, enabledEndpoint(rcv.URL)))
	upserts := []string{}
	env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		sa := args.Get(0).(temporal.SearchAttributes)
		state, _ := sa.GetKeyword(temporal.NewSearchAttributeKeyKeyword(workflows.SearchState))
		status, _ := sa.GetInt64(temporal.NewSearchAttributeKeyInt64(workflows.SearchLastStatus))
		attempts, _ := sa.GetInt64(temporal.NewSearchAttributeKeyInt64(workflows.SearchAttempts))
		upserts = append(upserts, fmt.Sprintf("%s/%d/%d", state, status, attempts))
	}).Return(nil)
	env.ExecuteWorkflow(workflows.WorkflowName, in)
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	return upserts
}

// A delivery that never failed upserts nothing: its Completed status is its
// state. Runs started before RevisionLeanState keep their upsert at the end.
func TestFirstAttemptDeliveryUpsertsNothing(t *testing.T) {
	if got := upsertedStates(t, deliveryInput(), reply{status: 204}); len(got) != 0 {
		t.Fatalf("lean revision upserted %v", got)
	}
	if got := upsertedStates(t, deliveryInput(), reply{status: 503}, reply{status: 200}); strings.Join(got, " ") != "retrying/503/1 delivered/200/2" {
		t.Fatalf("lean revision after a failure upserted %v", got)
	}
	old := deliveryInput()
	old.Revision = workflows.RevisionOriginal
	if got := upsertedStates(t, old, reply{status: 204}); strings.Join(got, " ") != "delivered/204/1" {
		t.Fatalf("original revision upserted %v", got)
	}
}

func TestDeliveryUpsertsFailedStateWhenItGivesUp(t *testing.T) {
	rcv := newScriptedReceiver(t, reply{status: 400})
	env := newEnv(t, newMemStore(t, enabledEndpoint(rcv.URL)))
	var states []string
	env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		state, _ := args.Get(0).(temporal.SearchAttributes).GetKeyword(temporal.NewSearchAttributeKeyKeyword(workflows.SearchState))
		states = append(states, state)
	}).Return(nil)

	env.ExecuteWorkflow(workflows.WorkflowName, deliveryInput())

	if env.GetWorkflowError() == nil {
		t.Fatal("a 400 should fail the delivery")
	}
	if strings.Join(states, " ") != "failed" {
		t.Fatalf("states upserted: %v", states)
	}
}

func TestStartSearchAttributes(t *testing.T) {
	in := deliveryInput()
	sa := workflows.StartSearchAttributes(in)
	for name, want := range map[string]string{
		workflows.SearchWorkspace: in.WorkspaceID,
		workflows.SearchEndpoint:  in.EndpointID,
		workflows.SearchCode:      in.CodeID,
		workflows.SearchScan:      in.ScanID,
		workflows.SearchState:     workflows.StatePending,
	} {
		if got, _ := sa.GetKeyword(temporal.NewSearchAttributeKeyKeyword(name)); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	// A test event has no code and no scan: the attributes are left unset.
	in.CodeID, in.ScanID = "", ""
	sa = workflows.StartSearchAttributes(in)
	if sa.ContainsKey(temporal.NewSearchAttributeKeyKeyword(workflows.SearchScan)) || sa.Size() != 3 {
		t.Errorf("test event attributes: %d set", sa.Size())
	}
	if len(workflows.SearchAttributeTypes()) != 7 {
		t.Errorf("%d attributes to register, want 7", len(workflows.SearchAttributeTypes()))
	}
}
