package workflows

import "go.temporal.io/sdk/workflow"

// MetricDeliveries counts deliveries that reached a final state (label
// "state": delivered, failed or canceled). It is emitted through the
// workflow's metrics handler, which stays silent during replay, so each
// delivery counts once however often its history is replayed; the worker's
// Temporal client carries it to Prometheus (internal/metrics).
const MetricDeliveries = "scanforge_deliveries_total"

// countFinalState counts a delivery ending in state; other states are not
// final and count nothing. Metrics are not commands: this changes no
// history.
func countFinalState(ctx workflow.Context, state string) {
	switch state {
	case StateDelivered, StateFailed, StateCanceled:
		workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"state": state}).Counter(MetricDeliveries).Inc(1)
	}
}
