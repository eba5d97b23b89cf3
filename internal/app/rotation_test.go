package app_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/scanforge/scanforge/internal/testdb"
	"github.com/scanforge/scanforge/models"
	"github.com/scanforge/scanforge/webhook"
	"github.com/scanforge/scanforge/workflows"
)

// logBuffer collects the app's log output; safe for its goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

// secretForms are the ways a secret could show up somewhere: as written,
// its base64 part, and the raw HMAC key bytes it encodes.
func secretForms(t *testing.T, secret string) [][]byte {
	t.Helper()
	b64 := strings.TrimPrefix(secret, webhook.SecretPrefix)
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatalf("secret is not whsec_ + base64: %v", err)
	}
	return [][]byte{[]byte(secret), []byte(b64), key}
}

// verifyBoth checks a delivery with one secret in both header forms.
func verifyBoth(d delivery, secret string) (scanforge, standard error) {
	now := time.Now()
	scanforge = webhook.VerifyScanForge(secret, d.Header.Get(webhook.HeaderSignature), d.Body, 0, now)
	standard = webhook.VerifyStandard(secret, d.Header.Get(webhook.HeaderWebhookID), d.Header.Get(webhook.HeaderWebhookTimestamp),
		d.Header.Get(webhook.HeaderWebhookSignature), d.Body, 0, now)
	return scanforge, standard
}

// TestSecretRotationEndToEnd rotates an endpoint's secret through the API
// while scans are delivered: before the rotation the old secret signs;
// during the overlap a receiver knowing only the old secret and one knowing
// only the new one both verify every delivery (both header forms); after
// the window only the new one does. Throughout, no secret is stored in
// plaintext, written to the app's logs or recorded in Temporal history.
func TestSecretRotationEndToEnd(t *testing.T) {
	for _, kind := range testdb.Kinds {
		t.Run(kind, func(t *testing.T) {
			logs := &logBuffer{}
			logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			s := newStack(t, kind, withLogger(logger))
			rcv := newReceiver(t, http.StatusOK)
			_, endpointID, oldSecret := s.setup("rotating", rcv.URL+"/hook")

			deliver := func() delivery {
				t.Helper()
				s.scan("/q/rotating", nil)
				return rcv.next(t)
			}
			signatures := func(d delivery) (int, int) {
				return strings.Count(d.Header.Get(webhook.HeaderSignature), "v1="), len(strings.Fields(d.Header.Get(webhook.HeaderWebhookSignature)))
			}

			before := deliver()
			if a, b := verifyBoth(before, oldSecret); a != nil || b != nil {
				t.Fatalf("before the rotation: %v / %v", a, b)
			}

			rotated := s.call(http.MethodPost, "/api/v1/endpoints/"+endpointID+"/rotate-secret", map[string]any{"overlap": "24h"}, http.StatusOK)
			newSecret, _ := rotated["secret"].(string)
			if !strings.HasPrefix(newSecret, webhook.SecretPrefix) || newSecret == oldSecret {
				t.Fatalf("rotate answer = %v", rotated)
			}

			// During the overlap: two deliveries, each verified by a receiver
			// that knows only one of the secrets.
			for i := range 2 {
				d := deliver()
				if sf, std := signatures(d); sf != 2 || std != 2 {
					t.Fatalf("delivery %d in the overlap has %d/%d signatures, want 2/2", i, sf, std)
				}
				for name, secret := range map[string]string{"old": oldSecret, "new": newSecret} {
					if a, b := verifyBoth(d, secret); a != nil || b != nil {
						t.Fatalf("delivery %d in the overlap, receiver with the %s secret: %v / %v", i, name, a, b)
					}
				}
			}

			// The window ends: what the clock does in a day, done to the row.
			err := s.store.DB().Model(&models.Endpoint{}).Where("id = ?", endpointID).
				Update("previous_secret_expires_at", time.Now().Add(-time.Second)).Error
			if err != nil {
				t.Fatal(err)
			}
			after := deliver()
			if sf, std := signatures(after); sf != 1 || std != 1 {
				t.Fatalf("after the window: %d/%d signatures, want 1/1", sf, std)
			}
			if a, b := verifyBoth(after, newSecret); a != nil || b != nil {
				t.Fatalf("after the window, new secret: %v / %v", a, b)
			}
			if a, b := verifyBoth(after, oldSecret); !errors.Is(a, webhook.ErrNoMatchingSignature) || !errors.Is(b, webhook.ErrNoMatchingSignature) {
				t.Fatalf("after the window the old secret still verifies: %v / %v", a, b)
			}

			forms := append(secretForms(t, oldSecret), secretForms(t, newSecret)...)

			// At rest: the endpoints row holds neither secret.
			var row struct{ Secret, PreviousSecret string }
			if err := s.store.DB().Raw("SELECT secret, previous_secret FROM endpoints WHERE id = ?", endpointID).Scan(&row).Error; err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(row.Secret, "v1:") {
				t.Fatalf("secret column is not encrypted: %.12q…", row.Secret)
			}
			for _, f := range forms {
				if bytes.Contains([]byte(row.Secret+row.PreviousSecret), f) {
					t.Fatal("a secret is stored in plaintext")
				}
			}

			// The API shows when, never what.
			got := s.call(http.MethodGet, "/api/v1/endpoints/"+endpointID, nil, http.StatusOK)
			if _, ok := got["secret"]; ok || got["secret_rotated_at"] == nil || got["previous_secret_expires_at"] == nil {
				t.Fatalf("GET endpoint = %v", got)
			}

			// Temporal history of every delivery: wait for each to finish, then
			// search the binary form of every event (payloads are raw bytes there).
			var scans []models.Scan
			if err := s.store.DB().Order("id").Find(&scans).Error; err != nil || len(scans) != 4 {
				t.Fatalf("%d scans (%v), want 4", len(scans), err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			events := 0
			for _, sc := range scans {
				workflowID := workflows.DeliveryWorkflowID(sc.ID, endpointID)
				if err := s.temporal.GetWorkflow(ctx, workflowID, "").Get(ctx, nil); err != nil {
					t.Fatalf("delivery %s: %v", workflowID, err)
				}
				results, history := s.attempts(workflowID)
				if len(results) != 1 || results[0].StatusCode != http.StatusOK {
					t.Fatalf("delivery %s attempts = %+v", workflowID, results)
				}
				for _, ev := range history.Events {
					raw, err := proto.Marshal(ev)
					if err != nil {
						t.Fatal(err)
					}
					for i, f := range forms {
						if bytes.Contains(raw, f) {
							t.Fatalf("secret form %d is in event %d (%s) of %s", i, ev.GetEventId(), ev.GetEventType(), workflowID)
						}
					}
					events++
				}
			}
			if events < 4*5 {
				t.Fatalf("only %d history events searched", events)
			}

			// The app logged the deliveries (so the search below means
			// something), and no secret in any form.
			out := logs.Bytes()
			if !bytes.Contains(out, []byte(endpointID)) {
				t.Fatalf("the captured log never mentions the endpoint; is the logger wired? %s", out)
			}
			for i, f := range forms {
				if bytes.Contains(out, f) {
					t.Fatalf("secret form %d is in the logs", i)
				}
			}
			t.Logf("searched %d history events and %d bytes of logs", events, len(out))
		})
	}
}
