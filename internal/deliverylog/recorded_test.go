package deliverylog

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/scanforge/scanforge/workflows"
)

// The expected values below are read off the recorded histories in
// workflows/testdata (attempt results of ActivityTaskCompleted events and
// LocalActivity markers, event times, close events).

func at(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

var plainText = map[string]string{"Content-Type": "text/plain; charset=utf-8"}

// answered is an attempt the receiver answered, as its result recorded it.
func answered(t *testing.T, n int, startedAt, url string, status int, body, outcome string) Attempt {
	return Attempt{
		Number: n, StartedAt: at(t, startedAt), URL: url, StatusCode: status,
		ResponseHeaders: plainText, ResponseBody: body, Outcome: outcome, Format: "scanforge",
	}
}

// recordedCase is what one recorded history must read as.
type recordedCase struct {
	file     string
	revision int
	eventID  string
	run      Run // RequestHeaders and RequestBody of attempts are checked apart
	signed   bool
}

func recordedCases(t *testing.T) []recordedCase {
	const (
		rev0URL   = "http://127.0.0.1:40837"
		stateURL  = "http://127.0.0.1:44833"
		v1URL     = "http://127.0.0.1:45487"
		v1FailURL = "http://127.0.0.1:46387"
		v2URL     = "http://127.0.0.1:35525"
		v2FailURL = "http://127.0.0.1:34831"
	)
	limited := answered(t, 1, "2026-12-06T22:11:32.411507151Z", "http://127.0.0.1:39197", 200, "", "delivered")
	limited.ResponseHeaders = nil
	slack := answered(t, 1, "2026-12-06T19:12:58.436892829Z", "http://127.0.0.1:40281", 404, "channel_not_found", "failed")
	slack.Duration = 5 * time.Millisecond
	slack.Error = "Slack answered 404 channel_not_found; endpoint disabled"
	slack.Format = "slack"
	v1Delivered := answered(t, 3, "2026-11-27T19:36:17.8018753Z", v1URL, 200, "OK", "delivered")
	v1Delivered.Duration = time.Millisecond
	return []recordedCase{
		{
			file: "recorded-503-503-200.json", revision: workflows.RevisionOriginal, eventID: "evt_01m8exk48xs1r2m0y49hz2pqt8",
			run: Run{
				State: workflows.StateDelivered, StartedAt: at(t, "2026-11-27T16:32:07.459162657Z"), FinishedAt: at(t, "2026-11-27T16:32:09.497682072Z"),
				Attempts: []Attempt{
					answered(t, 1, "2026-11-27T16:32:07.468399866Z", rev0URL, 503, "Service Unavailable", "retry"),
					answered(t, 2, "2026-11-27T16:32:08.480055051Z", rev0URL, 503, "Service Unavailable", "retry"),
					answered(t, 3, "2026-11-27T16:32:09.490895991Z", rev0URL, 200, "OK", "delivered"),
				},
			},
		},
		{
			file: "recorded-state-503-503-400.json", revision: workflows.RevisionOriginal, eventID: "evt_01m8ez0ryz0b0zkkn1j6212m95", signed: true,
			run: Run{
				State: workflows.StateFailed, StartedAt: at(t, "2026-11-27T16:57:03.220581557Z"), FinishedAt: at(t, "2026-11-27T16:57:05.302913197Z"),
				Failure: "HTTP 400: Bad Request",
				Attempts: []Attempt{
					answered(t, 1, "2026-11-27T16:57:03.243188063Z", stateURL, 503, "Service Unavailable", "retry"),
					answered(t, 2, "2026-11-27T16:57:04.266756413Z", stateURL, 503, "Service Unavailable", "retry"),
					answered(t, 3, "2026-11-27T16:57:05.2855965Z", stateURL, 400, "Bad Request", "failed"),
				},
			},
		},
		{
			// The replay of the previous run; its upsert-delivery-state
			// version marker is no attempt.
			file: "recorded-replay-200.json", revision: workflows.RevisionOriginal, eventID: "evt_01m8ez0ryz0b0zkkn1j6212m95", signed: true,
			run: Run{
				State: workflows.StateDelivered, StartedAt: at(t, "2026-11-27T16:57:05.493010886Z"), FinishedAt: at(t, "2026-11-27T16:57:05.579149494Z"),
				ReplayedBy: "replay requested by API key sf_e41689a4",
				Attempts: []Attempt{
					answered(t, 1, "2026-11-27T16:57:05.544836566Z", stateURL, 200, "OK", "delivered"),
				},
			},
		},
		{
			file: "recorded-v1-503-503-200.json", revision: workflows.RevisionLeanState, eventID: "evt_01m8f849kwnnnxfyjje02zx48p", signed: true,
			run: Run{
				State: workflows.StateDelivered, StartedAt: at(t, "2026-11-27T19:36:15.752837479Z"), FinishedAt: at(t, "2026-11-27T19:36:17.813599925Z"),
				Attempts: []Attempt{
					answered(t, 1, "2026-11-27T19:36:15.77022629Z", v1URL, 503, "Service Unavailable", "retry"),
					answered(t, 2, "2026-11-27T19:36:16.786728554Z", v1URL, 503, "Service Unavailable", "retry"),
					v1Delivered,
				},
			},
		},
		{
			file: "recorded-v1-503-503-400.json", revision: workflows.RevisionLeanState, eventID: "evt_01m8f84bwcxjzqnfzsq75ttyjk", signed: true,
			run: Run{
				State: workflows.StateFailed, StartedAt: at(t, "2026-11-27T19:36:18.076632122Z"), FinishedAt: at(t, "2026-11-27T19:36:20.131019148Z"),
				Failure: "HTTP 400: Bad Request",
				Attempts: []Attempt{
					answered(t, 1, "2026-11-27T19:36:18.093265885Z", v1FailURL, 503, "Service Unavailable", "retry"),
					answered(t, 2, "2026-11-27T19:36:19.10876936Z", v1FailURL, 503, "Service Unavailable", "retry"),
					answered(t, 3, "2026-11-27T19:36:20.123710515Z", v1FailURL, 400, "Bad Request", "failed"),
				},
			},
		},
		{
			file: "recorded-v1-replay-200.json", revision: workflows.RevisionLeanState, eventID: "evt_01m8f84bwcxjzqnfzsq75ttyjk", signed: true,
			run: Run{
				State: workflows.StateDelivered, StartedAt: at(t, "2026-11-27T19:36:20.168550287Z"), FinishedAt: at(t, "2026-11-27T19:36:20.192516019Z"),
				ReplayedBy: "replay requested by API key sf_0fb67c07",
				Attempts: []Attempt{
					answered(t, 1, "2026-11-27T19:36:20.184149533Z", v1FailURL, 200, "OK", "delivered"),
				},
			},
		},
		{
			// The first attempt is the LocalActivity marker (event 5).
			file: "recorded-v2-503-503-200.json", revision: workflows.RevisionLocalFirst, eventID: "evt_01m963qjeexg24ga1207f7xb3b", signed: true,
			run: Run{
				State: workflows.StateDelivered, StartedAt: at(t, "2026-12-06T16:41:56.439684932Z"), FinishedAt: at(t, "2026-12-06T16:41:58.488725805Z"),
				Attempts: []Attempt{
					answered(t, 1, "2026-12-06T16:41:56.458356281Z", v2URL, 503, "Service Unavailable", "retry"),
					answered(t, 2, "2026-12-06T16:41:57.462489544Z", v2URL, 503, "Service Unavailable", "retry"),
					answered(t, 3, "2026-12-06T16:41:58.479507303Z", v2URL, 200, "OK", "delivered"),
				},
			},
		},
		{
			file: "recorded-v2-503-503-400.json", revision: workflows.RevisionLocalFirst, eventID: "evt_01m963qmwg75ea41rdbm0wjxsc", signed: true,
			run: Run{
				State: workflows.StateFailed, StartedAt: at(t, "2026-12-06T16:41:58.935871035Z"), FinishedAt: at(t, "2026-12-06T16:42:00.99039998Z"),
				Failure: "HTTP 400: Bad Request",
				Attempts: []Attempt{
					answered(t, 1, "2026-12-06T16:41:58.939007665Z", v2FailURL, 503, "Service Unavailable", "retry"),
					answered(t, 2, "2026-12-06T16:41:59.95902473Z", v2FailURL, 503, "Service Unavailable", "retry"),
					answered(t, 3, "2026-12-06T16:42:00.977395343Z", v2FailURL, 400, "Bad Request", "failed"),
				},
			},
		},
		{
			file: "recorded-v2-replay-200.json", revision: workflows.RevisionLocalFirst, eventID: "evt_01m963qmwg75ea41rdbm0wjxsc", signed: true,
			run: Run{
				State: workflows.StateDelivered, StartedAt: at(t, "2026-12-06T16:42:01.048937693Z"), FinishedAt: at(t, "2026-12-06T16:42:01.056629992Z"),
				ReplayedBy: "replay requested by API key sf_8331fe20",
				Attempts: []Attempt{
					answered(t, 1, "2026-12-06T16:42:01.055011654Z", v2FailURL, 200, "OK", "delivered"),
				},
			},
		},
		{
			file: "recorded-v2-slack-404.json", revision: workflows.RevisionLocalFirst, eventID: "evt_01m96cc3yc6a6thj49qdpy5m4s", signed: true,
			run: Run{
				State: workflows.StateFailed, StartedAt: at(t, "2026-12-06T19:12:58.320541103Z"), FinishedAt: at(t, "2026-12-06T19:12:58.455053721Z"),
				Failure:  "HTTP 404: channel_not_found (Slack answered 404 channel_not_found; endpoint disabled)",
				Attempts: []Attempt{slack},
			},
		},
		{
			// Rate-limited: a throttled check (nothing sent) came back first
			// and the run waited for its send slot; only the request is listed.
			file: "recorded-v4-rate-limited-200.json", revision: workflows.RevisionPacing, eventID: "evt_01m96pg8rzs48emnkxqkgbjxpz", signed: true,
			run: Run{
				State: workflows.StateDelivered, StartedAt: at(t, "2026-12-06T22:11:03.187116734Z"), FinishedAt: at(t, "2026-12-06T22:11:32.417104844Z"),
				Attempts: []Attempt{limited},
			},
		},
	}
}

// Every recorded history decodes to the runs, attempts and states written
// above; the request each attempt sent is checked on its own.
func TestRecordedHistoriesDecode(t *testing.T) {
	for _, c := range recordedCases(t) {
		t.Run(c.file, func(t *testing.T) {
			run, in := recordedRun(t, c.file)
			if in.Revision != c.revision || in.EventID != c.eventID || in.EventType != "scan.created" || len(in.Payload) == 0 {
				t.Errorf("input: revision %d, event %s %s, %d bytes of payload; want revision %d, event %s scan.created",
					in.Revision, in.EventID, in.EventType, len(in.Payload), c.revision, c.eventID)
			}
			want := c.run
			want.RunID = "run"
			if diff := cmp.Diff(want, run, cmpopts.IgnoreFields(Attempt{}, "RequestHeaders", "RequestBody")); diff != "" {
				t.Errorf("run (-want +got):\n%s", diff)
			}
			for _, a := range run.Attempts {
				checkRequest(t, a, in.Payload, c.signed)
			}
		})
	}
}

// checkRequest checks the request an attempt recorded: none before
// attempts recorded their requests; else masked signatures and the body
// sent, the event itself unless a chat format rendered a message.
func checkRequest(t *testing.T, a Attempt, payload json.RawMessage, signed bool) {
	t.Helper()
	if !signed {
		if a.RequestHeaders != nil || a.RequestBody != nil {
			t.Errorf("attempt %d: request %v %s, want none recorded", a.Number, a.RequestHeaders, a.RequestBody)
		}
		return
	}
	h := a.RequestHeaders
	if h["Webhook-Signature"] != "v1,masked" || !strings.HasSuffix(h["X-Scanforge-Signature"], ",v1=masked") ||
		h["X-Scanforge-Attempt"] != strconv.Itoa(a.Number) || h["Webhook-Id"] == "" {
		t.Errorf("attempt %d: request headers %v", a.Number, h)
	}
	if a.Format == "scanforge" {
		if string(a.RequestBody) != string(payload) {
			t.Errorf("attempt %d: body sent %s, want the payload %s", a.Number, a.RequestBody, payload)
		}
		return
	}
	var msg struct{ Text string }
	if err := json.Unmarshal(a.RequestBody, &msg); err != nil || msg.Text != "Scan of Spring sale poster (/gone)" {
		t.Errorf("attempt %d: body sent %s, want the rendered message", a.Number, a.RequestBody)
	}
}

// A failed delivery's close event carries the last attempt: closeFailureOf
// reads the reason and that attempt, as listings show them.
func TestRecordedFailuresCarryTheLastAttempt(t *testing.T) {
	for _, c := range recordedCases(t) {
		events := recordedEvents(t, c.file)
		msg, last := closeFailureOf(events[len(events)-1])
		if c.run.State != workflows.StateFailed {
			if msg != "" || last != nil {
				t.Errorf("%s: close failure %q %+v, want none", c.file, msg, last)
			}
			continue
		}
		want := c.run.Attempts[len(c.run.Attempts)-1]
		if msg != c.run.Failure || last == nil {
			t.Fatalf("%s: close failure %q, last attempt %+v; want %q with the last attempt", c.file, msg, last, c.run.Failure)
		}
		if diff := cmp.Diff(want, *last, cmpopts.IgnoreFields(Attempt{}, "RequestHeaders", "RequestBody")); diff != "" {
			t.Errorf("%s: last attempt (-want +got):\n%s", c.file, diff)
		}
	}
}

// A run cut short reads as running: pending before any attempt ended,
// retrying after one, waiting for the timer the workflow started, and an
// attempt scheduled but not finished is in progress.
func TestRecordedHistoryPrefixesReadAsRunning(t *testing.T) {
	const file = "recorded-v2-503-503-400.json"
	events := recordedEvents(t, file)
	// Event ids are 1-based: events[:n] ends with event n.
	for _, c := range []struct {
		name        string
		upTo        int // last event kept
		state       string
		attempts    int // finished ones
		inProgress  bool
		nextAttempt string // "" for none
	}{
		{"first workflow task", 3, workflows.StatePending, 0, false, ""},
		// Event 5: the marker of attempt 1 (503); event 7: the 0.171956997s
		// timer started at 16:41:58.941065331.
		{"after the marker", 5, workflows.StateRetrying, 1, false, ""},
		{"waiting on the timer", 7, workflows.StateRetrying, 1, false, "2026-12-06T16:41:59.113022328Z"},
		// Event 8 fires the timer, event 12 schedules attempt 2.
		{"attempt 2 scheduled", 12, workflows.StateRetrying, 1, true, ""},
		{"attempt 2 answered", 14, workflows.StateRetrying, 2, false, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := events[c.upTo-1].GetEventId(); got != int64(c.upTo) {
				t.Fatalf("event %d has id %d", c.upTo, got)
			}
			run, _ := decodeEvents(t, file, events[:c.upTo])
			finished, inProgress := 0, false
			for _, a := range run.Attempts {
				if a.InProgress {
					inProgress = true
				} else {
					finished++
				}
			}
			var next time.Time
			if c.nextAttempt != "" {
				next = at(t, c.nextAttempt)
			}
			if run.State != c.state || finished != c.attempts || inProgress != c.inProgress || !run.NextAttempt.Equal(next) || !run.FinishedAt.IsZero() {
				t.Errorf("state %q, %d finished attempts, in progress %v, next attempt %v, finished %v; want %q, %d, %v, %v, zero",
					run.State, finished, inProgress, run.NextAttempt, run.FinishedAt, c.state, c.attempts, c.inProgress, next)
			}
		})
	}
	// The attempt in progress is the one event 12 (ActivityTaskScheduled)
	// names, started when it was scheduled.
	if events[11].GetEventType() != enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED {
		t.Fatalf("event 12 is %v", events[11].GetEventType())
	}
	run, _ := decodeEvents(t, file, events[:12])
	want := Attempt{Number: 2, StartedAt: at(t, "2026-12-06T16:41:59.957146577Z"), InProgress: true}
	if diff := cmp.Diff(want, run.Attempts[1]); diff != "" {
		t.Errorf("attempt in progress (-want +got):\n%s", diff)
	}
}

// A delivery shows its last run: a failed one with its last attempt, and
// after a replay that delivered, the replay's single attempt.
func TestDeliveryTakesItsLastRun(t *testing.T) {
	failed, _ := recordedRun(t, "recorded-v2-503-503-400.json")
	replay, _ := recordedRun(t, "recorded-v2-replay-200.json")

	d := Delivery{Runs: []Run{failed}}
	d.takeLastRun()
	status := func(s *int) string {
		if s == nil {
			return "nil"
		}
		return strconv.Itoa(*s)
	}
	if d.State != workflows.StateFailed || d.Attempts != 3 || status(d.LastStatus) != "400" || d.Failure != "HTTP 400: Bad Request" ||
		!d.FinishedAt.Equal(failed.FinishedAt) || d.LastAttempt == nil || d.LastAttempt.Number != 3 || d.LastAttempt.StatusCode != 400 {
		t.Errorf("failed delivery: state %q, %d attempts, last status %s, failure %q, last attempt %+v",
			d.State, d.Attempts, status(d.LastStatus), d.Failure, d.LastAttempt)
	}

	d = Delivery{Runs: []Run{failed, replay}}
	d.takeLastRun()
	if d.State != workflows.StateDelivered || d.Attempts != 1 || status(d.LastStatus) != "200" || d.Failure != "" ||
		!d.FinishedAt.Equal(replay.FinishedAt) || d.LastAttempt != nil || !d.NextAttemptAt.IsZero() {
		t.Errorf("replayed delivery: state %q, %d attempts, last status %s, failure %q, last attempt %+v",
			d.State, d.Attempts, status(d.LastStatus), d.Failure, d.LastAttempt)
	}
}
