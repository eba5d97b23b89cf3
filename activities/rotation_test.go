package activities_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scanforge/scanforge/webhook"
)

// TestAttemptSignsWithBothSecretsDuringOverlap follows one endpoint through
// a secret rotation with a 24 h overlap window: a receiver that knows only
// the old secret and one that knows only the new one both verify every
// delivery inside the window, in both header forms; from its end on, only
// the new secret signs.
func TestAttemptSignsWithBothSecretsDuringOverlap(t *testing.T) {
	rcv := newReceiver(t, answer(http.StatusNoContent, nil, ""))
	d, store, oldSecret := setup(t, rcv.URL)
	newSecret := newSecret(t)
	rotatedAt := testNow
	expires := rotatedAt.Add(24 * time.Hour)

	store.mu.Lock()
	ep := store.endpoints["ep_1"]
	ep.Secret, ep.PreviousSecret, ep.PreviousSecretExpiresAt = newSecret, oldSecret, &expires
	store.endpoints["ep_1"] = ep
	store.mu.Unlock()

	tests := []struct {
		name      string
		at        time.Time
		oldSigns  bool
		wantSigns int
	}{
		{"right after the rotation", rotatedAt, true, 2},
		{"mid-window", rotatedAt.Add(12 * time.Hour), true, 2},
		{"last second of the window", expires.Add(-time.Second), true, 2},
		{"window ended", expires, false, 1},
		{"a day later", expires.Add(24 * time.Hour), false, 1},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d.Now = func() time.Time { return tt.at }
			res, err := d.Attempt(context.Background(), testInput)
			if err != nil || res.StatusCode != http.StatusNoContent {
				t.Fatalf("Attempt = %+v, %v", res, err)
			}
			got := rcv.received()
			if len(got) != i+1 {
				t.Fatalf("receiver has %d requests, want %d", len(got), i+1)
			}
			req := got[i]
			sf := req.header.Get(webhook.HeaderSignature)
			std := req.header.Get(webhook.HeaderWebhookSignature)
			if n := strings.Count(sf, "v1="); n != tt.wantSigns {
				t.Errorf("%s has %d signatures, want %d: %s", webhook.HeaderSignature, n, tt.wantSigns, sf)
			}
			if n := len(strings.Fields(std)); n != tt.wantSigns {
				t.Errorf("%s has %d signatures, want %d: %s", webhook.HeaderWebhookSignature, n, tt.wantSigns, std)
			}

			verify := func(secret string) (scanforge, standard error) {
				scanforge = webhook.VerifyScanForge(secret, sf, req.body, time.Minute, tt.at)
				standard = webhook.VerifyStandard(secret, req.header.Get(webhook.HeaderWebhookID),
					req.header.Get(webhook.HeaderWebhookTimestamp), std, req.body, time.Minute, tt.at)
				return scanforge, standard
			}
			if a, b := verify(newSecret); a != nil || b != nil {
				t.Errorf("receiver with the new secret: %v / %v", a, b)
			}
			a, b := verify(oldSecret)
			if tt.oldSigns && (a != nil || b != nil) {
				t.Errorf("receiver with the old secret, inside the window: %v / %v", a, b)
			}
			if !tt.oldSigns && (!errors.Is(a, webhook.ErrNoMatchingSignature) || !errors.Is(b, webhook.ErrNoMatchingSignature)) {
				t.Errorf("receiver with the old secret, after the window: %v / %v; want no matching signature", a, b)
			}

			// The result goes into Temporal history: no secret in it.
			raw, _ := json.Marshal(res)
			for _, secret := range []string{oldSecret, newSecret} {
				if strings.Contains(string(raw), secret) || strings.Contains(string(raw), strings.TrimPrefix(secret, webhook.SecretPrefix)) {
					t.Errorf("a secret is in the attempt result: %s", raw)
				}
			}
		})
	}
}
