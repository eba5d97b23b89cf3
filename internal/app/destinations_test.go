package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	enumspb "go.temporal.io/api/enums/v1"
	"google.golang.org/protobuf/proto"

	"github.com/scanforge/scanforge/internal/destination"
	"github.com/scanforge/scanforge/webhook"
	"github.com/scanforge/scanforge/workflows"
)

// chatReceiver is a real HTTP endpoint answering status and body, as a
// chat tool's webhook would, and handing every request to the test.
func chatReceiver(t *testing.T, status int, body string) *receiver {
	t.Helper()
	r := &receiver{got: make(chan delivery, 10)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.got <- delivery{Header: req.Header.Clone(), Body: b}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(r.Close)
	return r
}

// attemptSent is the part of an attempt in GET /deliveries/{id} that says
// what was sent.
type attemptSent struct {
	Format      string          `json:"format"`
	RequestBody json.RawMessage `json:"request_body"`
	Outcome     string          `json:"outcome"`
}

func (s *stack) attemptsSent(id string) []attemptSent {
	s.t.Helper()
	_, raw := s.getDelivery(id)
	var d struct {
		Runs []struct {
			Attempts []attemptSent `json:"attempts"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		s.t.Fatal(err)
	}
	var out []attemptSent
	for _, r := range d.Runs {
		out = append(out, r.Attempts...)
	}
	return out
}

// sameJSON reports whether a and b are the same JSON value: the API's
// encoder writes <, > and & of a body as \u003c, \u003e and \u0026.
func sameJSON(a, b []byte) bool {
	var va, vb any
	return json.Unmarshal(a, &va) == nil && json.Unmarshal(b, &vb) == nil && reflect.DeepEqual(va, vb)
}

func destinationSchema(t *testing.T, format string) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	s, err := c.Compile(filepath.Join("..", "destination", "testdata", format+".schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// One scan reaches an endpoint of every chat format through real
// deliveries: each receiver gets its destination's body (matching the
// destination's schema), signed like any delivery, and the delivery log
// shows the format and that exact body.
func TestChatFormatsDeliverEndToEnd(t *testing.T) {
	s := newStack(t, "sqlite")
	code := s.call(http.MethodPost, "/api/v1/codes", map[string]any{
		"slug": "menu", "name": "Spring menu", "destination_url": "https://shop.example.com/menu",
	}, http.StatusCreated)
	type target struct {
		format string
		rcv    *receiver
		id     string
		secret string
	}
	var targets []*target
	for _, f := range []string{destination.FormatSlack, destination.FormatDiscord, destination.FormatGoogleChat, destination.FormatTeams} {
		status := map[string]int{destination.FormatDiscord: http.StatusNoContent, destination.FormatTeams: http.StatusAccepted}[f]
		rcv := chatReceiver(t, max(status, http.StatusOK), "ok")
		ep := s.call(http.MethodPost, "/api/v1/endpoints", map[string]any{
			"url": rcv.URL, "format": f, "code_ids": []string{code["id"].(string)},
		}, http.StatusCreated)
		targets = append(targets, &target{f, rcv, ep["id"].(string), ep["secret"].(string)})
	}

	s.scan("/q/menu", http.Header{"User-Agent": {iPhoneSafari}})
	scan := s.onlyScan()
	for _, tg := range targets {
		t.Run(tg.format, func(t *testing.T) {
			d := tg.rcv.next(t)
			if err := webhook.Verify(tg.secret, d.Header, d.Body, 5*time.Minute, time.Now()); err != nil {
				t.Errorf("chat body not signed: %v", err)
			}
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(d.Body))
			if err != nil {
				t.Fatal(err)
			}
			if err := destinationSchema(t, tg.format).Validate(doc); err != nil {
				t.Errorf("body does not match the %s schema: %v\n%s", tg.format, err, d.Body)
			}
			if !strings.Contains(string(d.Body), "Spring menu") || !strings.Contains(string(d.Body), "mobile") {
				t.Errorf("body does not show the code and device: %s", d.Body)
			}
			id := workflows.DeliveryWorkflowID(scan.ID, tg.id)
			if err := s.waitClosed(id); err != nil {
				t.Fatalf("delivery: %v", err)
			}
			attempts := s.attemptsSent(id)
			if len(attempts) != 1 || attempts[0].Format != tg.format || attempts[0].Outcome != "delivered" ||
				!sameJSON(attempts[0].RequestBody, d.Body) {
				t.Errorf("delivery log shows %+v; want format %s and the body received %s", attempts, tg.format, d.Body)
			}
		})
	}
}

// Slack's answer for a channel that is gone fails the delivery and
// disables the endpoint with Slack's reason.
func TestSlackChannelNotFoundDisablesTheEndpoint(t *testing.T) {
	s := newStack(t, "sqlite")
	rcv := chatReceiver(t, http.StatusNotFound, "channel_not_found")
	_, endpointID, _ := s.setup("gone", rcv.URL)
	s.call(http.MethodPatch, "/api/v1/endpoints/"+endpointID, map[string]any{"format": "slack"}, http.StatusOK)

	s.scan("/q/gone", http.Header{"User-Agent": {iPhoneSafari}})
	rcv.next(t)
	id := workflows.DeliveryWorkflowID(s.onlyScan().ID, endpointID)
	if err := s.waitClosed(id); err == nil {
		t.Fatal("delivery to a missing Slack channel succeeded")
	}
	recordRun(t, s, id, "", "recorded-v2-slack-404.json")
	ep := s.call(http.MethodGet, "/api/v1/endpoints/"+endpointID, nil, http.StatusOK)
	if ep["enabled"] != false || ep["disabled_reason"] != "Slack answered 404 channel_not_found" {
		t.Fatalf("endpoint after Slack's 404: enabled %v, reason %q", ep["enabled"], ep["disabled_reason"])
	}
}

// A restricted endpoint receives, and its delivery's history stores, no
// user agent or referrer: the policy applies before the workflow starts.
// An unrestricted endpoint of the same scan shows the check can see them.
func TestFieldPrivacyKeepsFieldsOutOfHistory(t *testing.T) {
	s := newStack(t, "sqlite")
	code := s.call(http.MethodPost, "/api/v1/codes", map[string]any{
		"slug": "private", "destination_url": "https://shop.example.com/",
	}, http.StatusCreated)
	full, restricted := newReceiver(t, http.StatusOK), newReceiver(t, http.StatusOK)
	fullEp := s.call(http.MethodPost, "/api/v1/endpoints", map[string]any{"url": full.URL, "code_ids": []string{code["id"].(string)}}, http.StatusCreated)
	restrictedEp := s.call(http.MethodPost, "/api/v1/endpoints", map[string]any{
		"url": restricted.URL, "code_ids": []string{code["id"].(string)},
		"fields": map[string]any{"exclude": []string{"user_agent", "referrer"}, "geo": "country"},
	}, http.StatusCreated)

	s.scan("/q/private", http.Header{"User-Agent": {iPhoneSafari}, "Referer": {"https://instagram.com/"}})
	scan := s.onlyScan()
	sent := restricted.next(t)
	for _, secret := range []string{"user_agent", "referrer", "iPhone", "instagram", `"city"`} {
		if strings.Contains(string(sent.Body), secret) {
			t.Errorf("restricted endpoint received %s: %s", secret, sent.Body)
		}
	}
	if !strings.Contains(string(full.next(t).Body), "iPhone") {
		t.Fatal("the unrestricted endpoint did not get the user agent")
	}

	history := func(endpointID string) []byte {
		id := workflows.DeliveryWorkflowID(scan.ID, endpointID)
		if err := s.waitClosed(id); err != nil {
			t.Fatalf("delivery %s: %v", id, err)
		}
		iter := s.temporal.GetWorkflowHistory(context.Background(), id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		var all []byte
		for iter.HasNext() {
			ev, err := iter.Next()
			if err != nil {
				t.Fatal(err)
			}
			b, err := proto.Marshal(ev) // payloads stay raw JSON bytes in the wire form
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, b...)
		}
		return all
	}
	if h := history(fullEp["id"].(string)); !bytes.Contains(h, []byte("user_agent")) || !bytes.Contains(h, []byte("iPhone")) {
		t.Fatal("the unrestricted delivery's history lacks the user agent: the check cannot see it")
	}
	h := history(restrictedEp["id"].(string))
	for _, secret := range []string{"user_agent", "referrer", "iPhone", "instagram"} {
		if bytes.Contains(h, []byte(secret)) {
			t.Errorf("the restricted delivery's history holds %s", secret)
		}
	}
	attempts := s.attemptsSent(workflows.DeliveryWorkflowID(scan.ID, restrictedEp["id"].(string)))
	if len(attempts) != 1 || !sameJSON(attempts[0].RequestBody, sent.Body) || attempts[0].Format != "scanforge" {
		t.Errorf("delivery log shows %+v; want the body sent %s", attempts, sent.Body)
	}
}
