package webhook_test

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/scanforge/scanforge/webhook"
)

func ExampleVerifier() {
	const secret = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	now := time.Date(2026, 1, 1, 0, 0, 10, 0, time.UTC)

	// A receiver's handler. In production leave Now nil (time.Now).
	verifier := webhook.Verifier{Secret: secret, Now: func() time.Time { return now }}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := verifier.VerifyRequest(r)
		if errors.Is(err, webhook.ErrBodyTooLarge) {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		if err != nil {
			http.Error(w, "invalid signature", http.StatusUnauthorized)
			return
		}
		event, err := webhook.ParseEvent(body)
		if err != nil {
			http.Error(w, "invalid event", http.StatusBadRequest)
			return
		}
		// Deduplicate on event.ID: retries and replays repeat it.
		if event.Type == webhook.TypeScanCreated {
			scan, err := event.ScanCreated()
			if err != nil {
				http.Error(w, "invalid event", http.StatusBadRequest)
				return
			}
			fmt.Printf("%s: %s scanned via %s\n", event.ID, scan.Code.Slug, scan.Source)
		}
		w.WriteHeader(http.StatusNoContent)
	})
	srv := httptest.NewServer(handler)
	defer srv.Close()

	// What ScanForge sends (signed ten seconds before now).
	body := []byte(`{"id":"evt_1","type":"scan.created","data":{"code":{"slug":"menu"},"source":"qr"}}`)
	sig, err := webhook.Sign([]string{secret}, "evt_1", now.Add(-10*time.Second), body)
	if err != nil {
		panic(err)
	}
	post := func(body []byte) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
		sig.Apply(req.Header)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		fmt.Println(resp.Status)
	}
	post(body)
	post(bytes.Replace(body, []byte("menu"), []byte("evil"), 1))
	// Output:
	// evt_1: menu scanned via qr
	// 204 No Content
	// 401 Unauthorized
}

// The body-only signature (X-ScanForge-Signature-256), for endpoints with
// body_signature on: an HMAC of the body alone, keyed with the whole secret
// string. It has no timestamp, so prefer Verifier where you can.
func ExampleVerifyBody() {
	const secret = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	body := []byte(`{"id":"evt_1","type":"scan.created"}`)

	header, _ := webhook.SignBody([]string{secret}, body) // what ScanForge sends
	fmt.Println(header)
	fmt.Println(webhook.VerifyBody(secret, header, body))
	fmt.Println(webhook.VerifyBody(secret, header, append(body, ' ')))
	// Output:
	// sha256=58f9baa1dd455afdd3347c6c97703a6c69cb38e60777421dbc6943c623ee2be6
	// <nil>
	// webhook: no matching signature
}
