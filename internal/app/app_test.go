package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/scanforge/scanforge/activities"
	"github.com/scanforge/scanforge/internal/outbox"
	"github.com/scanforge/scanforge/internal/testdb"
	"github.com/scanforge/scanforge/internal/visitor"
	"github.com/scanforge/scanforge/models"
	"github.com/scanforge/scanforge/webhook"
	"github.com/scanforge/scanforge/workflows"
)

const iPhoneSafari = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"

// setup creates a code and an endpoint subscribed to it through the API and
// returns the code ID, endpoint ID and the endpoint's secret.
func (s *stack) setup(slug, receiverURL string) (codeID, endpointID, secret string) {
	code := s.call(http.MethodPost, "/api/v1/codes", map[string]any{
		"slug": slug, "name": "Spring sale poster", "destination_url": "https://shop.example.com/spring",
	}, http.StatusCreated)
	ep := s.call(http.MethodPost, "/api/v1/endpoints", map[string]any{
		"url": receiverURL, "description": "test receiver", "code_ids": []string{code["id"].(string)},
	}, http.StatusCreated)
	return code["id"].(string), ep["id"].(string), ep["secret"].(string)
}

// onlyScan returns the one scan recorded in the store.
func (s *stack) onlyScan() models.Scan {
	s.t.Helper()
	var scans []models.Scan
	if err := s.store.DB().Find(&scans).Error; err != nil || len(scans) != 1 {
		s.t.Fatalf("want exactly one scan, got %d (%v)", len(scans), err)
	}
	return scans[0]
}

// attempts reads the delivery log of a workflow from Temporal history: the
// result of every attempt activity, in order.
func (s *stack) attempts(workflowID string) ([]activities.AttemptResult, *historypb.History) {
	s.t.Helper()
	ctx := context.Background()
	iter := s.temporal.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	history := &historypb.History{}
	var out []activities.AttemptResult
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			s.t.Fatal(err)
		}
		history.Events = append(history.Events, ev)
		result := ev.GetActivityTaskCompletedEventAttributes().GetResult()
		// The first attempt of workflows.RevisionLocalFirst: a local activity's marker.
		if m := ev.GetMarkerRecordedEventAttributes(); m.GetMarkerName() == "LocalActivity" && m.GetFailure() == nil {
			result = m.GetDetails()["result"]
		}
		if result != nil {
			var r activities.AttemptResult
			if err := converter.GetDefaultDataConverter().FromPayloads(result, &r); err != nil {
				s.t.Fatal(err)
			}
			out = append(out, r)
		}
	}
	return out, history
}

func TestScanBecomesSignedWebhook(t *testing.T) {
	for _, kind := range testdb.Kinds {
		t.Run(kind, func(t *testing.T) {
			s := newStack(t, kind)
			rcv := newReceiver(t, http.StatusOK)
			codeID, endpointID, secret := s.setup("spring", rcv.URL)

			loc := s.scan("/q/spring", http.Header{
				"User-Agent":      {iPhoneSafari},
				"Referer":         {"https://instagram.com/"},
				"X-Forwarded-For": {"81.2.69.142"}, // no trusted proxy: ignored
			})
			if loc != "https://shop.example.com/spring" {
				t.Fatalf("Location = %q", loc)
			}
			d := rcv.next(t)
			scan := s.onlyScan()

			if err := webhook.Verify(secret, d.Header, d.Body, 5*time.Minute, time.Now()); err != nil {
				t.Fatalf("signature does not verify: %v", err)
			}
			if err := webhook.Verify("whsec_"+strings.Repeat("A", 44), d.Header, d.Body, 5*time.Minute, time.Now()); err == nil {
				t.Fatal("signature verifies with a wrong secret")
			}
			ev, err := webhook.ParseEvent(d.Body)
			if err != nil {
				t.Fatal(err)
			}
			data, err := ev.ScanCreated()
			if err != nil {
				t.Fatal(err)
			}
			if ev.Type != "scan.created" || ev.ID != outbox.EventID(scan.ID) || ev.APIVersion != webhook.APIVersion {
				t.Fatalf("event envelope: %+v", ev)
			}
			if d.Header.Get("Webhook-Id") != ev.ID {
				t.Fatalf("webhook-id %q != event id %q", d.Header.Get("Webhook-Id"), ev.ID)
			}
			// ISO 8601 in UTC on the wire.
			var raw struct {
				CreatedAt string `json:"created_at"`
				Data      struct {
					Timestamp string `json:"timestamp"`
				} `json:"data"`
			}
			json.Unmarshal(d.Body, &raw)
			for _, ts := range []string{raw.CreatedAt, raw.Data.Timestamp} {
				if _, err := time.Parse(time.RFC3339Nano, ts); err != nil || !strings.HasSuffix(ts, "Z") {
					t.Fatalf("timestamp %q is not RFC 3339 UTC", ts)
				}
			}
			want := webhook.ScanCreated{
				ScanID:         scan.ID,
				Code:           webhook.Code{ID: codeID, Slug: "spring", Name: "Spring sale poster"},
				Timestamp:      scan.Timestamp,
				Source:         "qr",
				Referrer:       "https://instagram.com/",
				UserAgent:      iPhoneSafari,
				DestinationURL: "https://shop.example.com/spring",
				Device:         webhook.Device{Type: "mobile", Browser: "Safari", BrowserVersion: data.Device.BrowserVersion, OS: "iOS", OSVersion: data.Device.OSVersion},
				Bot:            webhook.Bot{IsBot: false},
				Unique:         true, // the visitor's first scan of the code today
			}
			if !data.Timestamp.Equal(want.Timestamp) {
				t.Fatalf("timestamp %v, want %v", data.Timestamp, want.Timestamp)
			}
			data.Timestamp = want.Timestamp
			if data.Geo != (webhook.Geo{}) {
				t.Fatalf("geo without a database should be empty, got %+v", data.Geo)
			}
			data.Geo = want.Geo
			if !strings.HasPrefix(data.Device.BrowserVersion, "17") || !strings.HasPrefix(data.Device.OSVersion, "17") {
				t.Fatalf("device versions: %+v", data.Device)
			}
			if diff := cmp.Diff(want, data); diff != "" {
				t.Fatalf("event data (-want +got):\n%s", diff)
			}
			// The visitor is the peer: X-Forwarded-For from an untrusted peer
			// is ignored. No IP is stored, only the day's visitor key.
			keyer, _ := visitor.New(testEncryptionKey)
			if want := keyer.Key(scan.Timestamp, netip.MustParseAddr("127.0.0.1"), iPhoneSafari, codeID); scan.VisitorKey != want {
				t.Fatalf("visitor key %q, want %q (of 127.0.0.1)", scan.VisitorKey, want)
			}

			// Serve's roller folds the scan into the stats rollups, off the
			// redirect path, within a second or so.
			rolled := time.Now().Add(10 * time.Second)
			for {
				var humans int64
				err := s.store.DB().Raw(`SELECT coalesce(sum(humans), 0) FROM scan_rollups WHERE code_id = ? AND grain = 'd' AND dim = 'source'`, codeID).
					Row().Scan(&humans)
				if err != nil {
					t.Fatal(err)
				}
				if humans == 1 {
					break
				}
				if humans > 1 || time.Now().After(rolled) {
					t.Fatalf("rollups count %d scans of the code, want 1", humans)
				}
				time.Sleep(50 * time.Millisecond)
			}

			var res workflows.DeliveryResult
			wfID := workflows.DeliveryWorkflowID(scan.ID, endpointID)
			if err := s.temporal.GetWorkflow(context.Background(), wfID, "").Get(context.Background(), &res); err != nil {
				t.Fatal(err)
			}
			if res.Attempts != 1 || res.StatusCode != 200 {
				t.Fatalf("delivery result %+v", res)
			}
		})
	}
}

func TestFailingReceiverIsRetriedAndEveryAttemptIsLogged(t *testing.T) {
	for _, kind := range testdb.Kinds {
		t.Run(kind, func(t *testing.T) {
			s := newStack(t, kind)
			rcv := newReceiver(t, http.StatusServiceUnavailable, http.StatusServiceUnavailable, http.StatusOK)
			_, endpointID, secret := s.setup("retry", rcv.URL)
			s.scan("/l/retry", http.Header{"User-Agent": {iPhoneSafari}})

			var eventIDs []string
			for i := 0; i < 3; i++ {
				d := rcv.next(t)
				if err := webhook.Verify(secret, d.Header, d.Body, 0, time.Now()); err != nil {
					t.Fatalf("attempt %d: %v", i+1, err)
				}
				eventIDs = append(eventIDs, d.Header.Get("Webhook-Id"))
			}
			if eventIDs[0] != eventIDs[1] || eventIDs[1] != eventIDs[2] {
				t.Fatalf("event id changed across retries: %v", eventIDs)
			}

			scan := s.onlyScan()
			if scan.Source != "link" {
				t.Fatalf("source = %q", scan.Source)
			}
			wfID := workflows.DeliveryWorkflowID(scan.ID, endpointID)
			var res workflows.DeliveryResult
			if err := s.temporal.GetWorkflow(context.Background(), wfID, "").Get(context.Background(), &res); err != nil {
				t.Fatal(err)
			}
			got, history := s.attempts(wfID)
			if res.Attempts != 3 || len(got) != 3 {
				t.Fatalf("result %+v with %d attempts in history, want 3", res, len(got))
			}
			for i, wantStatus := range []int{503, 503, 200} {
				if got[i].Attempt != i+1 || got[i].StatusCode != wantStatus || got[i].Body != http.StatusText(wantStatus) {
					t.Fatalf("attempt %d in history: %+v", i+1, got[i])
				}
			}
			for _, ev := range history.Events {
				if b, _ := protojson.Marshal(ev); strings.Contains(string(b), strings.TrimPrefix(secret, "whsec_")) {
					t.Fatal("the endpoint secret is in Temporal history")
				}
			}
			recordHistory(t, kind, history)
		})
	}
}

// recordHistory writes a real history for the replay test in workflows/ when
// SCANFORGE_RECORD_HISTORY is set.
func recordHistory(t *testing.T, kind string, h *historypb.History) {
	if os.Getenv("SCANFORGE_RECORD_HISTORY") == "" || kind != "sqlite" {
		return
	}
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "..", "workflows", "testdata", "recorded-v4-503-503-200.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("recorded history to %s", path)
}

func TestPermanentFailureFailsAtOnce(t *testing.T) {
	s := newStack(t, "postgres")
	rcv := newReceiver(t, http.StatusBadRequest)
	_, endpointID, _ := s.setup("bad", rcv.URL)
	s.scan("/q/bad", nil)
	rcv.next(t)
	scan := s.onlyScan()
	err := s.temporal.GetWorkflow(context.Background(), workflows.DeliveryWorkflowID(scan.ID, endpointID), "").Get(context.Background(), nil)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != workflows.ErrTypeDeliveryFailed {
		t.Fatalf("workflow error = %v, want %s", err, workflows.ErrTypeDeliveryFailed)
	}
	if got, _ := s.attempts(workflows.DeliveryWorkflowID(scan.ID, endpointID)); len(got) != 1 {
		t.Fatalf("%d attempts, want 1", len(got))
	}
}
