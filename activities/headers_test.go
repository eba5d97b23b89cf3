package activities_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/scanforge/scanforge/webhook"
)

func TestAttemptLogsRequestHeadersWithSignaturesMasked(t *testing.T) {
	rcv := newReceiver(t, answer(200, nil, "ok"))
	d, _, _ := setup(t, rcv.URL)

	res, err := d.Attempt(context.Background(), testInput)
	if err != nil {
		t.Fatal(err)
	}
	sent := rcv.received()[0].header
	ts := strconv.FormatInt(testNow.Unix(), 10)
	want := map[string]string{
		"Content-Type":                 "application/json",
		"User-Agent":                   "ScanForge-Webhooks/1.0",
		"X-Scanforge-Event-Id":         "evt_123",
		"X-Scanforge-Attempt":          "3",
		webhook.HeaderWebhookID:        "evt_123",
		webhook.HeaderWebhookTimestamp: ts,
		webhook.HeaderSignature:        "t=" + ts + ",v1=masked",
		webhook.HeaderWebhookSignature: "v1,masked",
	}
	for name, value := range want {
		if got := res.RequestHeaders[http.CanonicalHeaderKey(name)]; got != value {
			t.Errorf("logged %s = %q, want %q", name, got, value)
		}
	}
	stored, _ := json.Marshal(res)
	for _, name := range []string{webhook.HeaderSignature, webhook.HeaderWebhookSignature} {
		real := sent.Get(name)
		if real == "" {
			t.Fatalf("receiver got no %s", name)
		}
		if strings.Contains(string(stored), real) {
			t.Errorf("the result carries the %s value %q", name, real)
		}
	}
}
