package api_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// chosenSecret is a secret as a user would make one: whsec_ + base64 of n
// random bytes.
func chosenSecret(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

func jsonBody(t *testing.T, v map[string]any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestEndpointSecretYouSet: a secret given on create and on rotate-secret is
// the one that signs, stored encrypted like a generated one.
func TestEndpointSecretYouSet(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		e := newEnv(t, kind)
		ctx := context.Background()
		first := chosenSecret(t, 64) // the longest allowed
		created := e.call("POST", "/api/v1/endpoints", jsonBody(t, map[string]any{"url": "https://hooks.example.com/a", "secret": first}), http.StatusCreated)
		id := created["id"].(string)
		if created["secret"] != first {
			t.Fatalf("create answered secret %v, want the one given", created["secret"])
		}
		ep, err := e.store.GetEndpointByID(ctx, id)
		if err != nil || ep.Secret != first {
			t.Fatalf("stored secret differs from the one given (%v)", err)
		}
		var stored string
		if err := e.store.DB().Raw("SELECT secret FROM endpoints WHERE id = ?", id).Scan(&stored).Error; err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(stored, "v1:") || strings.Contains(stored, strings.TrimPrefix(first, "whsec_")) {
			t.Fatalf("the given secret is not stored encrypted: %.10q…", stored)
		}

		second := chosenSecret(t, 24) // the shortest allowed
		rotated := e.call("POST", "/api/v1/endpoints/"+id+"/rotate-secret", jsonBody(t, map[string]any{"secret": second, "overlap": "1h"}), http.StatusOK)
		if rotated["secret"] != second {
			t.Fatalf("rotate answered secret %v, want the one given", rotated["secret"])
		}
		ep, _ = e.store.GetEndpointByID(ctx, id)
		rotatedAt, _ := time.Parse(time.RFC3339Nano, rotated["secret_rotated_at"].(string))
		if got := ep.SigningSecrets(rotatedAt); len(got) != 2 || got[0] != second || got[1] != first {
			t.Fatal("during the overlap the signing secrets are not [given second, given first]")
		}

		// A generated secret is still the default, on create and on rotate.
		generated := e.call("POST", "/api/v1/endpoints", `{"url":"https://hooks.example.com/b","secret":null}`, http.StatusCreated)
		again := e.call("POST", "/api/v1/endpoints/"+generated["id"].(string)+"/rotate-secret", `{"overlap":"0s"}`, http.StatusOK)
		for _, s := range []any{generated["secret"], again["secret"]} {
			if s, _ := s.(string); !strings.HasPrefix(s, "whsec_") || s == first || s == second {
				t.Fatalf("generated secret = %q", s)
			}
		}
		if strings.Contains(e.logs.String(), first) || strings.Contains(e.logs.String(), second) {
			t.Fatal("a given secret is in the logs")
		}
	})
}

// TestEndpointSecretYouSetIsChecked: anything but whsec_ + standard base64
// of 24 to 64 bytes is a 422 naming the field and the rule, without the
// value, on create and on rotate-secret; PATCH refuses a secret.
func TestEndpointSecretYouSetIsChecked(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		e := newEnv(t, kind)
		ctx := context.Background()
		created := e.call("POST", "/api/v1/endpoints", `{"url":"https://hooks.example.com/a"}`, http.StatusCreated)
		id, current := created["id"].(string), created["secret"].(string)
		good := chosenSecret(t, 32)
		bad := map[string]string{
			"no prefix":   strings.TrimPrefix(good, "whsec_"),
			"23 bytes":    chosenSecret(t, 23),
			"65 bytes":    chosenSecret(t, 65),
			"no padding":  "whsec_" + base64.RawStdEncoding.EncodeToString(make([]byte, 32)),
			"URL-safe":    "whsec_" + strings.Repeat("-_", 22),
			"line break":  good[:20] + "\n" + good[20:],
			"not base64":  "whsec_this is not base64 at all, is it?!",
			"empty":       "",
			"only prefix": "whsec_",
		}
		for name, secret := range bad {
			for _, call := range []struct{ method, path, body string }{
				{"POST", "/api/v1/endpoints", jsonBody(t, map[string]any{"url": "https://hooks.example.com/b", "secret": secret})},
				{"POST", "/api/v1/endpoints/" + id + "/rotate-secret", jsonBody(t, map[string]any{"secret": secret})},
			} {
				rec := e.do(request{Method: call.method, Path: call.path, Body: call.body, Key: e.key})
				if rec.Code != http.StatusUnprocessableEntity {
					t.Errorf("%s, %s %s: %d %s", name, call.method, call.path, rec.Code, rec.Body)
					continue
				}
				errObj := errorOf(t, rec)
				msg, _ := errObj["message"].(string)
				if errObj["field"] != "secret" || errObj["code"] != "validation_failed" || !strings.Contains(msg, `"whsec_"`) || !strings.Contains(msg, "24 to 64") {
					t.Errorf("%s: error %v", name, errObj)
				}
				if len(secret) > len("whsec_") && strings.Contains(rec.Body.String(), strings.TrimPrefix(secret, "whsec_")) {
					t.Errorf("%s: the error repeats the secret: %s", name, rec.Body)
				}
			}
		}
		if rec := e.do(request{Method: "POST", Path: "/api/v1/endpoints", Body: `{"url":"https://hooks.example.com/b","secret":42}`, Key: e.key}); rec.Code != http.StatusBadRequest || errorOf(t, rec)["field"] != "secret" {
			t.Errorf("a number as secret: %d %s", rec.Code, rec.Body)
		}
		rec := e.do(request{Method: "PATCH", Path: "/api/v1/endpoints/" + id, Body: jsonBody(t, map[string]any{"secret": good}), Key: e.key})
		if rec.Code != http.StatusUnprocessableEntity || errorOf(t, rec)["field"] != "secret" || !strings.Contains(rec.Body.String(), "rotate-secret") {
			t.Errorf("PATCH with a secret: %d %s", rec.Code, rec.Body)
		}
		// Nothing refused changed anything.
		if ep, err := e.store.GetEndpointByID(ctx, id); err != nil || ep.Secret != current || ep.SecretRotatedAt != nil {
			t.Fatalf("a refused secret changed the endpoint (%v)", err)
		}
		var n int64
		e.store.DB().Table("endpoints").Count(&n)
		if n != 1 {
			t.Fatalf("%d endpoints, want 1: a refused create stored one", n)
		}
	})
}

// TestEndpointBodySignatureOption: off by default, set on create, changed
// by PATCH, shown in every answer.
func TestEndpointBodySignatureOption(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		e := newEnv(t, kind)
		ctx := context.Background()
		plain := e.call("POST", "/api/v1/endpoints", `{"url":"https://hooks.example.com/a"}`, http.StatusCreated)
		if plain["body_signature"] != false {
			t.Fatalf("default body_signature = %v, want false", plain["body_signature"])
		}
		on := e.call("POST", "/api/v1/endpoints", `{"url":"https://hooks.example.com/b","body_signature":true}`, http.StatusCreated)
		id := on["id"].(string)
		if on["body_signature"] != true || e.call("GET", "/api/v1/endpoints/"+id, "", http.StatusOK)["body_signature"] != true {
			t.Fatalf("body_signature not kept: %v", on)
		}
		if ep, _ := e.store.GetEndpointByID(ctx, id); !ep.BodySignature {
			t.Fatal("the store lost body_signature")
		}
		if got := e.call("PATCH", "/api/v1/endpoints/"+id, `{"description":"zapier"}`, http.StatusOK); got["body_signature"] != true {
			t.Fatalf("PATCH without the field changed it: %v", got)
		}
		if got := e.call("PATCH", "/api/v1/endpoints/"+id, `{"body_signature":false}`, http.StatusOK); got["body_signature"] != false {
			t.Fatalf("PATCH body_signature false: %v", got)
		}
		if ep, _ := e.store.GetEndpointByID(ctx, id); ep.BodySignature {
			t.Fatal("the store kept body_signature after PATCH false")
		}
		e.call("POST", "/api/v1/endpoints/"+id+"/disable", "", http.StatusOK)
		if ep, _ := e.store.GetEndpointByID(ctx, id); ep.BodySignature {
			t.Fatal("disable turned body_signature on")
		}
		list := e.call("GET", "/api/v1/endpoints", "", http.StatusOK)["data"].([]any)
		for _, item := range list {
			if _, ok := item.(map[string]any)["body_signature"].(bool); !ok {
				t.Fatalf("list item without body_signature: %v", item)
			}
		}
		rec := e.do(request{Method: "POST", Path: "/api/v1/endpoints", Body: `{"url":"https://hooks.example.com/c","body_signature":"yes"}`, Key: e.key})
		if rec.Code != http.StatusBadRequest || errorOf(t, rec)["field"] != "body_signature" {
			t.Fatalf("body_signature \"yes\": %d %s", rec.Code, rec.Body)
		}
	})
}
