package deliverylog

import (
	"strings"
	"testing"

	"github.com/scanforge/scanforge/activities"
)

// Attempts recorded before formats existed read as the ScanForge format
// with the run's payload as the body sent.
func TestRecordedAttemptsShowTheEventAsTheBodySent(t *testing.T) {
	run, in := recordedRun(t, "recorded-v2-503-503-400.json")
	for _, a := range run.Attempts {
		if a.Format != "scanforge" || string(a.RequestBody) != string(in.Payload) || len(in.Payload) == 0 {
			t.Errorf("attempt %d: format %q body %s; want scanforge and the payload", a.Number, a.Format, a.RequestBody)
		}
	}
}

// A chat format's attempt shows the body it recorded.
func TestChatAttemptShowsTheBodyItSent(t *testing.T) {
	a := attemptOf(activities.AttemptResult{Attempt: 1, Format: "slack", SentBody: []byte(`{"text":"hi"}`), RequestHeaders: map[string]string{}})
	if a.Format != "slack" || string(a.RequestBody) != `{"text":"hi"}` {
		t.Errorf("attempt: format %q body %s", a.Format, a.RequestBody)
	}
}

// A recorded Slack delivery shows the rendered message, not the event, as
// the body sent.
func TestRecordedSlackAttemptShowsTheMessage(t *testing.T) {
	run, in := recordedRun(t, "recorded-v2-slack-404.json")
	if len(run.Attempts) != 1 {
		t.Fatalf("%d attempts, want 1", len(run.Attempts))
	}
	a := run.Attempts[0]
	if a.Format != "slack" || string(a.RequestBody) == string(in.Payload) || !strings.Contains(string(a.RequestBody), `"blocks"`) ||
		a.StatusCode != 404 || !strings.Contains(a.Error, "Slack answered 404 channel_not_found") {
		t.Errorf("attempt: format %q status %d error %q body %s", a.Format, a.StatusCode, a.Error, a.RequestBody)
	}
}
