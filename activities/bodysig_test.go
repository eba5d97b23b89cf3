package activities_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scanforge/scanforge/activities"
	"github.com/scanforge/scanforge/webhook"
)

// TestAttemptAddsBodySignatureOnlyWhenAsked: an endpoint with
// BodySignature gets X-ScanForge-Signature-256 over the exact body sent,
// verifiable with its secret (with either secret during a rotation), and
// masked in the delivery log; other endpoints do not get the header.
func TestAttemptAddsBodySignatureOnlyWhenAsked(t *testing.T) {
	rcv := newReceiver(t, answer(http.StatusOK, nil, "ok"))
	d, store, secret := setup(t, rcv.URL)

	if _, err := d.Attempt(context.Background(), testInput); err != nil {
		t.Fatal(err)
	}
	if v := rcv.received()[0].header.Values(webhook.HeaderBodySignature); len(v) != 0 {
		t.Fatalf("endpoint without body_signature got %s: %v", webhook.HeaderBodySignature, v)
	}

	store.mu.Lock()
	ep := store.endpoints["ep_1"]
	ep.BodySignature = true
	store.endpoints["ep_1"] = ep
	store.mu.Unlock()
	res, err := d.Attempt(context.Background(), testInput)
	if err != nil || res.Outcome != activities.OutcomeDelivered {
		t.Fatalf("Attempt = %+v, %v", res, err)
	}
	got := rcv.received()[1]
	value := got.header.Get(webhook.HeaderBodySignature)
	if !strings.HasPrefix(value, "sha256=") || len(value) != len("sha256=")+64 {
		t.Fatalf("%s = %q, want sha256= and 64 hex digits", webhook.HeaderBodySignature, value)
	}
	if err := webhook.VerifyBody(secret, value, got.body); err != nil {
		t.Fatalf("VerifyBody: %v", err)
	}
	if err := webhook.VerifyBody(secret, value, append(got.body, ' ')); err == nil {
		t.Fatal("a changed body verifies")
	}
	// The timestamped signatures are still there.
	if err := webhook.Verify(secret, got.header, got.body, time.Minute, testNow); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if logged := res.RequestHeaders["X-Scanforge-Signature-256"]; logged != "sha256=masked" {
		t.Errorf("logged %s = %q, want sha256=masked", webhook.HeaderBodySignature, logged)
	}
	if raw, _ := json.Marshal(res); strings.Contains(string(raw), strings.TrimPrefix(value, "sha256=")) {
		t.Error("the attempt result carries the body signature")
	}

	// Rotation overlap: one value per secret, either verifies.
	newSecret := newSecret(t)
	expires := testNow.Add(time.Hour)
	store.mu.Lock()
	ep = store.endpoints["ep_1"]
	ep.Secret, ep.PreviousSecret, ep.PreviousSecretExpiresAt = newSecret, secret, &expires
	store.endpoints["ep_1"] = ep
	store.mu.Unlock()
	res, err = d.Attempt(context.Background(), testInput)
	if err != nil {
		t.Fatal(err)
	}
	got = rcv.received()[2]
	value = got.header.Get(webhook.HeaderBodySignature)
	if n := strings.Count(value, "sha256="); n != 2 {
		t.Fatalf("%s during the overlap = %q, want two values", webhook.HeaderBodySignature, value)
	}
	for _, s := range []string{secret, newSecret} {
		if err := webhook.VerifyBody(s, value, got.body); err != nil {
			t.Errorf("VerifyBody during the overlap: %v", err)
		}
	}
	if logged := res.RequestHeaders["X-Scanforge-Signature-256"]; logged != "sha256=masked, sha256=masked" {
		t.Errorf("logged %q", logged)
	}
}
