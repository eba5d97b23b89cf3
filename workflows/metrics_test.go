package workflows_test

import (
	"testing"

	"go.temporal.io/sdk/testsuite"

	"github.com/scanforge/scanforge/activities"
	"github.com/scanforge/scanforge/internal/metrics"
	"github.com/scanforge/scanforge/workflows"
)

func TestFinishedDeliveriesAreCountedByState(t *testing.T) {
	m := metrics.New()
	for _, status := range []int{200, 200, 400} {
		rcv := newScriptedReceiver(t, reply{status: status})
		var suite testsuite.WorkflowTestSuite
		suite.SetMetricsHandler(m.Temporal())
		env := suite.NewTestWorkflowEnvironment()
		env.SetStartTime(scanTime)
		workflows.Register(env, activities.NewDeliverer(newMemStore(t, enabledEndpoint(rcv.URL)), activities.Options{}))
		env.ExecuteWorkflow(workflows.WorkflowName, deliveryInput())
		if !env.IsWorkflowCompleted() {
			t.Fatal("workflow did not complete")
		}
	}

	families, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		if f.GetName() != workflows.MetricDeliveries {
			continue
		}
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				if l.GetName() == "state" {
					got[l.GetValue()] += s.GetCounter().GetValue()
				}
			}
		}
	}
	if got[workflows.StateDelivered] != 2 || got[workflows.StateFailed] != 1 || len(got) != 2 {
		t.Fatalf("deliveries by state = %v, want 2 delivered, 1 failed", got)
	}
}
