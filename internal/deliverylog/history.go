package deliverylog

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/converter"

	"github.com/scanforge/scanforge/activities"
	"github.com/scanforge/scanforge/internal/destination"
	"github.com/scanforge/scanforge/workflows"
)

// Get reads delivery id of workspaceID from history: every attempt of
// every run, oldest run first.
func (l *Log) Get(ctx context.Context, workspaceID, id string) (Delivery, error) {
	current, err := l.describe(ctx, workspaceID, id)
	if err != nil {
		return Delivery{}, err
	}
	runs, err := l.listAll(ctx, fmt.Sprintf("%s = '%s' AND WorkflowId = '%s'", workflows.SearchWorkspace, workspaceID, id))
	if err != nil {
		return Delivery{}, err
	}
	// Visibility lags history by about a second: the current run may not be
	// listed yet.
	if !slices.ContainsFunc(runs, func(r *workflowpb.WorkflowExecutionInfo) bool {
		return r.GetExecution().GetRunId() == current.GetExecution().GetRunId()
	}) {
		runs = append(runs, current)
	}
	slices.SortFunc(runs, compareRuns)

	d := Delivery{Summary: summaryOf(current)}
	for _, info := range runs {
		run, in, err := l.readRun(ctx, info)
		if err != nil {
			return Delivery{}, err
		}
		if d.Payload == nil {
			d.EventID, d.Payload = in.EventID, in.Payload
		}
		d.Runs = append(d.Runs, run)
	}
	d.takeLastRun()
	return d, nil
}

// takeLastRun sets the delivery's state and attempts from its last run:
// history is exact where the search attributes lag (see Summary), and it is
// read after the description, so it is the later word.
func (d *Delivery) takeLastRun() {
	last := d.Runs[len(d.Runs)-1]
	d.State, d.FinishedAt, d.Failure, d.NextAttemptAt = last.State, last.FinishedAt, last.Failure, last.NextAttempt
	d.Attempts, d.LastStatus = 0, nil
	for _, a := range last.Attempts {
		if !a.InProgress {
			d.Attempts++
			d.LastStatus = &a.StatusCode
			if d.State == workflows.StateFailed {
				d.LastAttempt = &a
			}
		}
	}
}

// describe returns the current run of delivery id if it belongs to
// workspaceID, and ErrNotFound otherwise.
func (l *Log) describe(ctx context.Context, workspaceID, id string) (*workflowpb.WorkflowExecutionInfo, error) {
	if !ValidID(id) || !isIDChars(workspaceID) {
		return nil, ErrNotFound
	}
	resp, err := l.temporal.DescribeWorkflowExecution(ctx, id, "")
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("describe delivery %s: %w", id, err)
	}
	info := resp.GetWorkflowExecutionInfo()
	if !isDelivery(info, workspaceID) {
		return nil, ErrNotFound
	}
	return info, nil
}

// readRun reads one run's history into a Run, with the run's input.
func (l *Log) readRun(ctx context.Context, info *workflowpb.WorkflowExecutionInfo) (Run, workflows.DeliveryInput, error) {
	exec := info.GetExecution()
	iter := l.temporal.GetWorkflowHistory(ctx, exec.GetWorkflowId(), exec.GetRunId(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var events []*historypb.HistoryEvent
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			return Run{}, workflows.DeliveryInput{}, fmt.Errorf("read history of %s run %s: %w", exec.GetWorkflowId(), exec.GetRunId(), err)
		}
		events = append(events, ev)
	}
	return decodeRun(exec, events)
}

// decodeRun reads one run's history, its events in order, into a Run, with
// the run's input.
func decodeRun(exec *commonpb.WorkflowExecution, events []*historypb.HistoryEvent) (Run, workflows.DeliveryInput, error) {
	run := Run{RunID: exec.GetRunId()}
	var in workflows.DeliveryInput
	attempts := map[int64]int{} // scheduled event ID → index in run.Attempts
	var timerFires map[string]time.Time
	dc := converter.GetDefaultDataConverter()

	for _, ev := range events {
		at := ev.GetEventTime().AsTime()
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
			run.StartedAt = at
			if err := dc.FromPayloads(ev.GetWorkflowExecutionStartedEventAttributes().GetInput(), &in); err != nil {
				return Run{}, in, fmt.Errorf("decode input of %s: %w", exec.GetWorkflowId(), err)
			}
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED:
			a := ev.GetWorkflowTaskFailedEventAttributes()
			// A replay of a replay copies the earlier reset's event too:
			// the last one is this run's.
			if a.GetCause() == enumspb.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW {
				run.ReplayedBy = a.GetFailure().GetMessage()
				run.StartedAt = at // the replay started here; earlier events are copies
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			var input activities.AttemptInput
			_ = dc.FromPayloads(ev.GetActivityTaskScheduledEventAttributes().GetInput(), &input)
			attempts[ev.GetEventId()] = len(run.Attempts)
			run.Attempts = append(run.Attempts, Attempt{Number: input.Attempt, StartedAt: at, InProgress: true})
		case enumspb.EVENT_TYPE_MARKER_RECORDED:
			res, ok, err := localAttempt(dc, ev.GetMarkerRecordedEventAttributes())
			if err != nil {
				return Run{}, in, fmt.Errorf("decode attempt of %s: %w", exec.GetWorkflowId(), err)
			}
			if ok {
				run.Attempts = append(run.Attempts, attemptOf(res))
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
			a := ev.GetActivityTaskCompletedEventAttributes()
			if i, ok := attempts[a.GetScheduledEventId()]; ok {
				var res activities.AttemptResult
				if err := dc.FromPayloads(a.GetResult(), &res); err != nil {
					return Run{}, in, fmt.Errorf("decode attempt of %s: %w", exec.GetWorkflowId(), err)
				}
				run.Attempts[i] = attemptOf(res)
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED:
			a := ev.GetActivityTaskFailedEventAttributes()
			endAttempt(run.Attempts, attempts, a.GetScheduledEventId(), at, failureMessage(a.GetFailure()))
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
			a := ev.GetActivityTaskTimedOutEventAttributes()
			endAttempt(run.Attempts, attempts, a.GetScheduledEventId(), at, failureMessage(a.GetFailure()))
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCELED:
			a := ev.GetActivityTaskCanceledEventAttributes()
			endAttempt(run.Attempts, attempts, a.GetScheduledEventId(), at, "canceled")
		case enumspb.EVENT_TYPE_TIMER_STARTED:
			a := ev.GetTimerStartedEventAttributes()
			if timerFires == nil {
				timerFires = map[string]time.Time{}
			}
			timerFires[a.GetTimerId()] = at.Add(a.GetStartToFireTimeout().AsDuration())
		case enumspb.EVENT_TYPE_TIMER_FIRED:
			delete(timerFires, ev.GetTimerFiredEventAttributes().GetTimerId())
		case enumspb.EVENT_TYPE_TIMER_CANCELED:
			delete(timerFires, ev.GetTimerCanceledEventAttributes().GetTimerId())
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
			enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
			enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
			enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
			enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
			run.FinishedAt = at
			run.State = closeState(ev.GetEventType())
			run.Failure, _ = closeFailureOf(ev)
		}
	}
	// A throttled check sent nothing (the endpoint's rate limit): the log
	// lists requests, and the wait it caused shows as the next attempt's time.
	run.Attempts = slices.DeleteFunc(run.Attempts, func(a Attempt) bool {
		return a.Outcome == string(activities.OutcomeThrottled)
	})
	for i, a := range run.Attempts {
		if a.RequestBody == nil && a.RequestHeaders != nil { // a request went out
			run.Attempts[i].RequestBody = in.Payload // the event itself
		}
	}
	if run.FinishedAt.IsZero() {
		// Running: an attempt that finished without ending the run failed.
		run.State = workflows.StatePending
		if slices.ContainsFunc(run.Attempts, func(a Attempt) bool { return !a.InProgress }) {
			run.State = workflows.StateRetrying
		}
		for _, fireAt := range timerFires { // at most one: the wait before the next attempt
			run.NextAttempt = fireAt
		}
	}
	return run, in, nil
}

// closeState is the delivery state a run's close event leaves it in.
func closeState(t enumspb.EventType) string {
	switch t {
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
		return workflows.StateDelivered
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
		return workflows.StateCanceled
	default: // failed, timed out
		return workflows.StateFailed
	}
}

// Local activity markers, as the Temporal SDK records them: the marker's
// name, and the keys of its details holding the SDK's own record (which
// names the activity) and the activity's result.
const (
	localActivityMarker = "LocalActivity"
	markerDataKey       = "data"
	markerResultKey     = "result"
)

// localAttempt reads the attempt a delivery's local activity marker
// recorded (workflows.RevisionLocalFirst). ok is false for other markers
// and for a local attempt that failed: that was an infrastructure fault,
// and the same attempt follows as an activity.
func localAttempt(dc converter.DataConverter, m *historypb.MarkerRecordedEventAttributes) (res activities.AttemptResult, ok bool, err error) {
	if m.GetMarkerName() != localActivityMarker || m.GetFailure() != nil {
		return res, false, nil
	}
	var data struct{ ActivityType string }
	if err := dc.FromPayloads(m.GetDetails()[markerDataKey], &data); err != nil || data.ActivityType != workflows.AttemptActivityName {
		return res, false, nil // not a delivery attempt
	}
	result, found := m.GetDetails()[markerResultKey]
	if !found {
		return res, false, nil
	}
	if err := dc.FromPayloads(result, &res); err != nil {
		return res, false, err
	}
	return res, true, nil
}

func attemptOf(res activities.AttemptResult) Attempt {
	return Attempt{
		Number:          res.Attempt,
		StartedAt:       res.StartedAt,
		Duration:        time.Duration(res.DurationMS) * time.Millisecond,
		URL:             res.URL,
		RequestHeaders:  res.RequestHeaders,
		StatusCode:      res.StatusCode,
		ResponseHeaders: res.Headers,
		ResponseBody:    res.Body,
		Error:           res.Error,
		Outcome:         string(res.Outcome),
		Format:          cmp.Or(res.Format, destination.FormatScanForge),
		RequestBody:     res.SentBody,
	}
}

// endAttempt records an attempt that could not run (an infrastructure
// fault outlasted its retries, or the delivery was canceled).
func endAttempt(list []Attempt, index map[int64]int, scheduledID int64, at time.Time, msg string) {
	i, ok := index[scheduledID]
	if !ok {
		return
	}
	list[i].InProgress = false
	list[i].Duration = at.Sub(list[i].StartedAt)
	list[i].Error = msg
}

// closeFailure reads why a finished run failed from its close event alone.
func (l *Log) closeFailure(ctx context.Context, id, runID string) (string, *Attempt, error) {
	iter := l.temporal.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			return "", nil, fmt.Errorf("read close event of %s: %w", id, err)
		}
		msg, last := closeFailureOf(ev)
		if msg != "" || last != nil {
			return msg, last, nil
		}
	}
	return "", nil, nil
}

// closeFailureOf returns the message of a run's close event and, for a
// failed delivery, the last attempt the workflow put in the failure details.
func closeFailureOf(ev *historypb.HistoryEvent) (string, *Attempt) {
	switch ev.GetEventType() {
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
		f := ev.GetWorkflowExecutionFailedEventAttributes().GetFailure()
		var last *Attempt
		if details := f.GetApplicationFailureInfo().GetDetails(); details != nil {
			var res activities.AttemptResult
			if converter.GetDefaultDataConverter().FromPayloads(details, &res) == nil && res.Attempt > 0 {
				a := attemptOf(res)
				last = &a
			}
		}
		return failureMessage(f), last
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
		return "terminated: " + ev.GetWorkflowExecutionTerminatedEventAttributes().GetReason(), nil
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
		return "canceled", nil
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
		return "timed out", nil
	}
	return "", nil
}

// failureMessage joins a failure's message with its causes'.
func failureMessage(f *failurepb.Failure) string {
	msg := f.GetMessage()
	for c := f.GetCause(); c != nil; c = c.GetCause() {
		if c.GetMessage() != "" {
			msg += ": " + c.GetMessage()
		}
	}
	return msg
}
