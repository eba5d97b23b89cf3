package app_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/scanforge/scanforge/api"
	"github.com/scanforge/scanforge/internal/testdb"
	"github.com/scanforge/scanforge/webhook"
)

func chosenSecret(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return webhook.SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// eventSchema fetches the published JSON Schema of an event type from the
// running app, without a key, and compiles it (formats asserted).
func (s *stack) eventSchema(eventType string) *jsonschema.Schema {
	s.t.Helper()
	url := s.baseURL + api.EventSchemaPath(eventType)
	res, err := http.Get(url)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		s.t.Fatalf("GET %s: %d %s", url, res.StatusCode, raw)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		s.t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(url, doc); err != nil {
		s.t.Fatal(err)
	}
	sch, err := c.Compile(url)
	if err != nil {
		s.t.Fatal(err)
	}
	return sch
}

func conforms(t *testing.T, sch *jsonschema.Schema, body []byte) {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("delivered body is not JSON: %v", err)
	}
	if err := sch.Validate(v); err != nil {
		t.Fatalf("delivered body does not match its published schema: %v\n%s", err, body)
	}
}

// TestSecretYouSetSignsRealDeliveries: an endpoint created through the API
// with a secret of the user's and body_signature on receives scans signed
// with that secret in all three headers; after a rotation to another
// chosen secret (no overlap) only that one verifies. Every delivered body,
// scan.created and test, matches the JSON Schema the app publishes.
func TestSecretYouSetSignsRealDeliveries(t *testing.T) {
	for _, kind := range testdb.Kinds {
		t.Run(kind, func(t *testing.T) {
			s := newStack(t, kind)
			rcv := newReceiver(t, http.StatusOK)
			code := s.call(http.MethodPost, "/api/v1/codes", map[string]any{
				"slug": "chosen", "name": "Menü & more", "destination_url": "https://shop.example.com/?a=1&b=2",
			}, http.StatusCreated)
			first := chosenSecret(t, 48)
			ep := s.call(http.MethodPost, "/api/v1/endpoints", map[string]any{
				"url": rcv.URL, "code_ids": []string{code["id"].(string)}, "secret": first, "body_signature": true,
			}, http.StatusCreated)
			endpointID := ep["id"].(string)
			if ep["secret"] != first || ep["body_signature"] != true {
				t.Fatalf("create answer: secret given back %v, body_signature %v", ep["secret"] == first, ep["body_signature"])
			}
			scanSchema := s.eventSchema(webhook.TypeScanCreated)

			s.scan("/q/chosen", http.Header{"User-Agent": {iPhoneSafari}, "Referer": {"https://example.org/?x=<1>&y=2"}})
			d := rcv.next(t)
			if a, b := verifyBoth(d, first); a != nil || b != nil {
				t.Fatalf("the chosen secret does not verify the delivery: %v / %v", a, b)
			}
			if err := webhook.VerifyBody(first, d.Header.Get(webhook.HeaderBodySignature), d.Body); err != nil {
				t.Fatalf("%s: %v", webhook.HeaderBodySignature, err)
			}
			conforms(t, scanSchema, d.Body)

			second := chosenSecret(t, 24)
			rotated := s.call(http.MethodPost, "/api/v1/endpoints/"+endpointID+"/rotate-secret", map[string]any{"secret": second, "overlap": "0s"}, http.StatusOK)
			if rotated["secret"] != second {
				t.Fatal("rotate-secret did not answer the chosen secret")
			}
			s.scan("/q/chosen", nil) // no User-Agent: a bot verdict, still delivered
			d = rcv.next(t)
			if a, b := verifyBoth(d, second); a != nil || b != nil {
				t.Fatalf("after rotating to the chosen secret: %v / %v", a, b)
			}
			if err := webhook.VerifyBody(second, d.Header.Get(webhook.HeaderBodySignature), d.Body); err != nil {
				t.Fatalf("%s after the rotation: %v", webhook.HeaderBodySignature, err)
			}
			if err := webhook.VerifyBody(first, d.Header.Get(webhook.HeaderBodySignature), d.Body); !errors.Is(err, webhook.ErrNoMatchingSignature) {
				t.Fatalf("the replaced secret still verifies the body signature: %v", err)
			}
			if a, _ := verifyBoth(d, first); !errors.Is(a, webhook.ErrNoMatchingSignature) {
				t.Fatalf("the replaced secret still verifies: %v", a)
			}
			conforms(t, scanSchema, d.Body)

			s.call(http.MethodPost, "/api/v1/endpoints/"+endpointID+"/test", nil, http.StatusAccepted)
			d = rcv.next(t)
			if a, b := verifyBoth(d, second); a != nil || b != nil {
				t.Fatalf("test event: %v / %v", a, b)
			}
			conforms(t, s.eventSchema(webhook.TypeTest), d.Body)
		})
	}
}
