package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestRotateEndpointSecret(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		e := newEnv(t, kind)
		ctx := context.Background()
		created := e.call("POST", "/api/v1/endpoints", `{"url":"https://hooks.example.com/scan"}`, http.StatusCreated)
		id, oldSecret := created["id"].(string), created["secret"].(string)
		if _, ok := created["secret_rotated_at"]; ok {
			t.Fatalf("a never-rotated endpoint shows secret_rotated_at: %v", created)
		}

		rotated := e.call("POST", "/api/v1/endpoints/"+id+"/rotate-secret", "", http.StatusOK)
		newSecret, _ := rotated["secret"].(string)
		if !strings.HasPrefix(newSecret, "whsec_") || newSecret == oldSecret || rotated["id"] != id {
			t.Fatalf("rotated = %v", rotated)
		}
		rotatedAt, err1 := time.Parse(time.RFC3339Nano, rotated["secret_rotated_at"].(string))
		expires, err2 := time.Parse(time.RFC3339Nano, rotated["previous_secret_expires_at"].(string))
		if err1 != nil || err2 != nil || expires.Sub(rotatedAt) != 24*time.Hour {
			t.Fatalf("default overlap: rotated %v, expires %v (%v %v)", rotatedAt, expires, err1, err2)
		}

		// Both secrets sign during the overlap.
		ep, err := e.store.GetEndpointByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if got := ep.SigningSecrets(rotatedAt); len(got) != 2 || got[0] != newSecret || got[1] != oldSecret {
			t.Fatal("during the overlap the signing secrets are not [new, old]")
		}
		if got := ep.SigningSecrets(expires); len(got) != 1 || got[0] != newSecret {
			t.Fatal("after the overlap the signing secrets are not [new]")
		}

		// Neither secret is shown again, nor stored in plaintext.
		got := e.call("GET", "/api/v1/endpoints/"+id, "", http.StatusOK)
		if got["secret_rotated_at"] != rotated["secret_rotated_at"] || got["previous_secret_expires_at"] != rotated["previous_secret_expires_at"] {
			t.Fatalf("GET = %v", got)
		}
		for _, path := range []string{"/api/v1/endpoints/" + id, "/api/v1/endpoints"} {
			rec := e.do(request{Method: "GET", Path: path, Key: e.key})
			for _, secret := range []string{oldSecret, newSecret} {
				if strings.Contains(rec.Body.String(), secret) || strings.Contains(rec.Body.String(), `"secret"`) {
					t.Fatalf("%s shows a secret: %s", path, rec.Body)
				}
			}
		}
		var stored struct{ Secret, PreviousSecret string }
		if err := e.store.DB().Raw("SELECT secret, previous_secret FROM endpoints WHERE id = ?", id).Scan(&stored).Error; err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{oldSecret, newSecret} {
			body := strings.TrimPrefix(secret, "whsec_")
			if strings.Contains(stored.Secret, body) || strings.Contains(stored.PreviousSecret, body) {
				t.Fatal("a secret is stored in plaintext")
			}
		}
		if !strings.HasPrefix(stored.Secret, "v1:") || !strings.HasPrefix(stored.PreviousSecret, "v1:") {
			t.Fatalf("stored = %+v", stored)
		}

		// "0s": the old secret stops at once.
		now := e.call("POST", "/api/v1/endpoints/"+id+"/rotate-secret", `{"overlap":"0s"}`, http.StatusOK)
		if _, ok := now["previous_secret_expires_at"]; ok {
			t.Fatalf("overlap 0s still shows an expiry: %v", now)
		}
		ep, _ = e.store.GetEndpointByID(ctx, id)
		if got := ep.SigningSecrets(time.Now()); len(got) != 1 || got[0] != now["secret"] {
			t.Fatal("overlap 0s: the old secret still signs")
		}
		if logs := e.logs.String(); strings.Contains(logs, oldSecret) || strings.Contains(logs, newSecret) || strings.Contains(logs, now["secret"].(string)) {
			t.Fatal("a secret is in the logs")
		}
	})
}

func TestRotateEndpointSecretOverlap(t *testing.T) {
	e := newEnv(t, "sqlite")
	id := e.call("POST", "/api/v1/endpoints", `{"url":"https://hooks.example.com/scan"}`, http.StatusCreated)["id"].(string)
	path := "/api/v1/endpoints/" + id + "/rotate-secret"
	for _, tt := range []struct {
		body   string
		status int
		want   time.Duration // overlap, when accepted
		field  string
	}{
		{``, http.StatusOK, 24 * time.Hour, ""},
		{`{}`, http.StatusOK, 24 * time.Hour, ""},
		{`{"overlap":null}`, http.StatusOK, 24 * time.Hour, ""},
		{`{"overlap":"90m"}`, http.StatusOK, 90 * time.Minute, ""},
		{`{"overlap":"7d"}`, http.StatusOK, 7 * 24 * time.Hour, ""},
		{`{"overlap":"168h"}`, http.StatusOK, 7 * 24 * time.Hour, ""},
		{`{"overlap":"168h1s"}`, http.StatusUnprocessableEntity, 0, "overlap"},
		{`{"overlap":"8d"}`, http.StatusUnprocessableEntity, 0, "overlap"},
		{`{"overlap":"-1h"}`, http.StatusUnprocessableEntity, 0, "overlap"},
		{`{"overlap":"soon"}`, http.StatusUnprocessableEntity, 0, "overlap"},
		{`{"overlap":3600}`, http.StatusBadRequest, 0, "overlap"},
		{`{"secret":"whsec_mine"}`, http.StatusUnprocessableEntity, 0, "secret"},
		{`{"secret":"whsec_mine","overlap":"1h"}`, http.StatusUnprocessableEntity, 0, "secret"},
		{`{"body_signature":true}`, http.StatusBadRequest, 0, "body_signature"},
		{`[`, http.StatusBadRequest, 0, ""},
	} {
		rec := e.do(request{Method: "POST", Path: path, Key: e.key, Body: tt.body})
		if rec.Code != tt.status {
			t.Errorf("%s: %d %s", tt.body, rec.Code, rec.Body)
			continue
		}
		if tt.status != http.StatusOK {
			if errorOf(t, rec)["field"] != nilIfEmpty(tt.field) {
				t.Errorf("%s: %s", tt.body, rec.Body)
			}
			continue
		}
		out := decode(t, rec)
		rotatedAt, _ := time.Parse(time.RFC3339Nano, out["secret_rotated_at"].(string))
		expires, _ := time.Parse(time.RFC3339Nano, out["previous_secret_expires_at"].(string))
		if expires.Sub(rotatedAt) != tt.want {
			t.Errorf("%s: overlap %v, want %v", tt.body, expires.Sub(rotatedAt), tt.want)
		}
	}
	for _, bad := range []string{"/api/v1/endpoints/ep_nope/rotate-secret", "/api/v1/endpoints/ep_01jwnnsvg000z6aebtagetw60q/rotate-secret"} {
		if rec := e.do(request{Method: "POST", Path: bad, Key: e.key}); rec.Code != http.StatusNotFound {
			t.Errorf("%s: %d", bad, rec.Code)
		}
	}
}
