package webhook

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func TestSignBodyReproducesVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			if v.BodySignature == "" {
				t.Fatal("vector has no body_signature")
			}
			got, err := SignBody(v.Secrets, []byte(v.Body))
			if err != nil || got != v.BodySignature {
				t.Fatalf("SignBody = %q, %v; want %q", got, err, v.BodySignature)
			}
			// Each secret alone verifies, as a receiver holds one of them.
			for _, secret := range v.Secrets {
				if err := VerifyBody(secret, v.BodySignature, []byte(v.Body)); err != nil {
					t.Errorf("VerifyBody: %v", err)
				}
			}
			if err := VerifyBody(v.Secrets[0], v.BodySignature, []byte(v.Body+" ")); !errors.Is(err, ErrNoMatchingSignature) {
				t.Errorf("VerifyBody of a changed body = %v, want ErrNoMatchingSignature", err)
			}
		})
	}
}

// GitHub's published X-Hub-Signature-256 example: the body signature has
// its shape and key, so GitHub-webhook verifiers accept it.
func TestSignBodyMatchesGitHubExample(t *testing.T) {
	const want = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
	got, err := SignBody([]string{"It's a Secret to Everybody"}, []byte("Hello, World!"))
	if err != nil || got != want {
		t.Fatalf("SignBody = %q, %v; want %q", got, err, want)
	}
}

func TestVerifyBodyRejects(t *testing.T) {
	secret := "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 32))
	body := []byte(`{"id":"evt_1"}`)
	good, err := SignBody([]string{secret}, body)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := SignBody([]string{secret + "x"}, body)
	tests := []struct {
		name, secret, header string
		want                 error
	}{
		{"no header", secret, "", ErrMissingSignature},
		{"no secret", "", good, ErrInvalidSecret},
		{"wrong secret", secret + "x", good, ErrNoMatchingSignature},
		{"sha1 prefix", secret, strings.Replace(good, "sha256=", "sha1=", 1), ErrMalformedSignature},
		{"short hex", secret, good[:len(good)-2], ErrMalformedSignature},
		{"bare hex", secret, strings.TrimPrefix(good, "sha256="), ErrMalformedSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := VerifyBody(tt.secret, tt.header, body); !errors.Is(err, tt.want) {
				t.Fatalf("VerifyBody = %v, want %v", err, tt.want)
			}
		})
	}
	// Either order of a rotation's two values verifies.
	for _, h := range []string{other + ", " + good, good + "," + other} {
		if err := VerifyBody(secret, h, body); err != nil {
			t.Errorf("VerifyBody(%q) = %v", h, err)
		}
	}
	if _, err := SignBody(nil, body); !errors.Is(err, ErrInvalidSecret) {
		t.Errorf("SignBody without secrets = %v", err)
	}
}

func TestValidateSecret(t *testing.T) {
	enc := func(n int) string { return SecretPrefix + base64.StdEncoding.EncodeToString(make([]byte, n)) }
	fresh, _ := NewSecret()
	for _, ok := range []string{enc(24), enc(32), enc(64), fresh, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"} {
		if err := ValidateSecret(ok); err != nil {
			t.Errorf("ValidateSecret(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{
		"", "whsec_", enc(23), enc(65), strings.TrimPrefix(enc(32), SecretPrefix),
		"WHSEC_" + strings.TrimPrefix(enc(32), SecretPrefix),
		strings.TrimRight(enc(32), "="),                               // no padding
		strings.ReplaceAll(enc(32), "A", "-"),                         // URL-safe alphabet
		enc(32)[:20] + "\n" + enc(32)[20:],                            // line break
		enc(32) + " ",                                                 // trailing space
		SecretPrefix + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=", // stray bits after the last byte
	} {
		if err := ValidateSecret(bad); !errors.Is(err, ErrInvalidSecret) {
			t.Errorf("ValidateSecret(%q) = %v, want ErrInvalidSecret", bad, err)
		}
	}
}
