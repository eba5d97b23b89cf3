package activities_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scanforge/scanforge/activities"
	"github.com/scanforge/scanforge/internal/destination"
	"github.com/scanforge/scanforge/webhook"
)

// setupFormat is setup with an endpoint of format f.
func setupFormat(t *testing.T, url, f string) (*activities.Deliverer, *fakeStore, string) {
	t.Helper()
	d, store, secret := setup(t, url)
	ep := store.endpoints["ep_1"]
	ep.Format = f
	store.endpoints["ep_1"] = ep
	return d, store, secret
}

var scanInput = activities.AttemptInput{
	EndpointID: "ep_1",
	EventID:    "evt_123",
	Payload: json.RawMessage(`{"id":"evt_123","type":"scan.created","api_version":"2026-11-01","created_at":"2026-11-27T16:37:10Z",` +
		`"data":{"scan_id":"scan_1","code":{"id":"code_1","slug":"spring","name":"Spring menu"},"timestamp":"2026-11-27T16:37:10Z",` +
		`"geo":{"country":"Portugal","city":"Lisbon"},"bot":{"is_bot":false}}}`),
	Attempt: 1,
}

// A chat endpoint is sent its rendered body, signed like any delivery, and
// the result records the format and the exact body; the ScanForge format
// records neither (the input holds its body).
func TestAttemptSendsTheFormatsBodyAndRecordsIt(t *testing.T) {
	for _, f := range []string{destination.FormatSlack, destination.FormatDiscord, destination.FormatGoogleChat, destination.FormatTeams} {
		t.Run(f, func(t *testing.T) {
			rcv := newReceiver(t, answer(200, nil, "ok"))
			d, _, secret := setupFormat(t, rcv.URL, f)
			res, err := d.Attempt(context.Background(), scanInput)
			if err != nil {
				t.Fatal(err)
			}
			want, err := destination.Render(f, scanInput.Payload)
			if err != nil {
				t.Fatal(err)
			}
			got := rcv.received()[0]
			if string(got.body) != string(want) {
				t.Errorf("sent %s, want %s", got.body, want)
			}
			if res.Outcome != activities.OutcomeDelivered || res.Format != f || string(res.SentBody) != string(want) {
				t.Errorf("result: outcome %q format %q body %s", res.Outcome, res.Format, res.SentBody)
			}
			if err := webhook.Verify(secret, got.header, got.body, time.Minute, testNow); err != nil {
				t.Errorf("chat body is not signed: %v", err)
			}
		})
	}
	rcv := newReceiver(t, answer(200, nil, "ok"))
	d, _, _ := setupFormat(t, rcv.URL, destination.FormatScanForge)
	res, err := d.Attempt(context.Background(), scanInput)
	if err != nil {
		t.Fatal(err)
	}
	if string(rcv.received()[0].body) != string(scanInput.Payload) || res.Format != "" || res.SentBody != nil {
		t.Errorf("scanforge: sent %s, recorded format %q body %s", rcv.received()[0].body, res.Format, res.SentBody)
	}
	stored, _ := json.Marshal(res)
	if strings.Contains(string(stored), "SentBody") || strings.Contains(string(stored), "Format") {
		t.Errorf("scanforge result records a body: %s", stored)
	}
}

// Slack's and Discord's answers for a webhook that is gone disable the
// endpoint with the reason; their other errors do not.
func TestAttemptChatAnswersDisableTheEndpoint(t *testing.T) {
	for _, c := range []struct {
		format, body string
		status       int
		reason       string
	}{
		{destination.FormatSlack, "channel_not_found", 404, "Slack answered 404 channel_not_found"},
		{destination.FormatSlack, "no_service", 404, "Slack answered 404 no_service"},
		{destination.FormatSlack, "channel_is_archived", 410, "Slack answered 410 channel_is_archived"},
		{destination.FormatDiscord, `{"message": "Unknown Webhook", "code": 10015}`, 404, "Discord answered 404 Unknown Webhook (10015)"},
		{destination.FormatSlack, "invalid_payload", 400, ""},
		{destination.FormatDiscord, `{"message": "404: Not Found", "code": 0}`, 404, ""},
	} {
		t.Run(c.format+" "+c.body, func(t *testing.T) {
			rcv := newReceiver(t, answer(c.status, nil, c.body))
			d, store, _ := setupFormat(t, rcv.URL, c.format)
			res, err := d.Attempt(context.Background(), scanInput)
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome != activities.OutcomeFailed {
				t.Errorf("outcome %q, want failed", res.Outcome)
			}
			reason, disabled := store.disabledReason("ep_1")
			if c.reason == "" {
				if disabled {
					t.Errorf("disabled with %q", reason)
				}
				return
			}
			if reason != c.reason || res.Error != c.reason+"; endpoint disabled" {
				t.Errorf("disabled %v with %q, result error %q; want %q", disabled, reason, res.Error, c.reason)
			}
		})
	}
}

// Discord's 429 is retried after the wait it asks for: the Retry-After
// header when it has one, else the body's exact retry_after.
func TestAttemptDiscordRateLimit(t *testing.T) {
	body := `{"message": "You are being rate limited.", "retry_after": 2.5, "global": false}`
	for _, c := range []struct {
		headers map[string]string
		want    time.Duration
	}{
		{map[string]string{"Retry-After": "3"}, 3 * time.Second},
		{nil, 2500 * time.Millisecond},
	} {
		rcv := newReceiver(t, answer(http.StatusTooManyRequests, c.headers, body))
		d, _, _ := setupFormat(t, rcv.URL, destination.FormatDiscord)
		res, err := d.Attempt(context.Background(), scanInput)
		if err != nil {
			t.Fatal(err)
		}
		if res.Outcome != activities.OutcomeRetry || res.RetryAfter != c.want {
			t.Errorf("headers %v: outcome %q retry after %s; want retry after %s", c.headers, res.Outcome, res.RetryAfter, c.want)
		}
	}
}

// An event a chat format cannot read fails the attempt, sending nothing.
func TestAttemptUnrenderableEventFails(t *testing.T) {
	rcv := newReceiver(t, answer(200, nil, "ok"))
	d, _, _ := setupFormat(t, rcv.URL, destination.FormatSlack)
	in := scanInput
	in.Payload = json.RawMessage(`{"type":"scan.created"}`)
	res, err := d.Attempt(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != activities.OutcomeFailed || !strings.HasPrefix(res.Error, "cannot render the body") || len(rcv.received()) != 0 {
		t.Errorf("outcome %q error %q, %d requests", res.Outcome, res.Error, len(rcv.received()))
	}
}
