package webhook

import (
	"encoding/json"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"
)

// vector is one known answer from testdata/vectors.json, computed by
// testdata/gen_vectors.py with Python's hmac module, not with this package.
type vector struct {
	Name               string   `json:"name"`
	Secrets            []string `json:"secrets"`
	MsgID              string   `json:"msg_id"`
	Timestamp          int64    `json:"timestamp"`
	Body               string   `json:"body"`
	ScanForgeSignature string   `json:"scanforge_signature"`
	WebhookSignature   string   `json:"webhook_signature"`
	BodySignature      string   `json:"body_signature"`
}

func loadVectors(t *testing.T) []vector {
	t.Helper()
	raw, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(raw, &vs); err != nil {
		t.Fatal(err)
	}
	rotation := false
	for _, v := range vs {
		rotation = rotation || len(v.Secrets) > 1
	}
	if len(vs) < 5 || !rotation {
		t.Fatalf("want at least 5 vectors including a rotation one, got %d (rotation %v)", len(vs), rotation)
	}
	return vs
}

func TestSignReproducesVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			got, err := Sign(v.Secrets, v.MsgID, time.Unix(v.Timestamp, 0), []byte(v.Body))
			if err != nil {
				t.Fatal(err)
			}
			want := Signature{
				ScanForge:        v.ScanForgeSignature,
				WebhookID:        v.MsgID,
				WebhookTimestamp: strconv.FormatInt(v.Timestamp, 10),
				WebhookSignature: v.WebhookSignature,
			}
			if got != want {
				t.Errorf("Sign:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestVerifyAcceptsVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		now := time.Unix(v.Timestamp, 0)
		body := []byte(v.Body)
		ts := strconv.FormatInt(v.Timestamp, 10)
		both := http.Header{}
		both.Set(HeaderSignature, v.ScanForgeSignature)
		both.Set(HeaderWebhookID, v.MsgID)
		both.Set(HeaderWebhookTimestamp, ts)
		both.Set(HeaderWebhookSignature, v.WebhookSignature)
		standardOnly := both.Clone()
		standardOnly.Del(HeaderSignature)
		// Each secret alone must verify: a receiver holds either the old or
		// the new one during a rotation.
		for i, secret := range v.Secrets {
			t.Run(v.Name+"/secret"+strconv.Itoa(i), func(t *testing.T) {
				if err := Verify(secret, both, body, 0, now); err != nil {
					t.Errorf("Verify both forms: %v", err)
				}
				if err := Verify(secret, standardOnly, body, 0, now); err != nil {
					t.Errorf("Verify standard only: %v", err)
				}
				if err := VerifyScanForge(secret, v.ScanForgeSignature, body, 0, now); err != nil {
					t.Errorf("VerifyScanForge: %v", err)
				}
				if err := VerifyStandard(secret, v.MsgID, ts, v.WebhookSignature, body, 0, now); err != nil {
					t.Errorf("VerifyStandard: %v", err)
				}
			})
		}
	}
}
