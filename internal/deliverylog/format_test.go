package deliverylog

import (
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
