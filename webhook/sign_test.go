package webhook

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestNewSecret(t *testing.T) {
	a, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Fatal("two secrets are equal")
	}
	enc, ok := strings.CutPrefix(a, SecretPrefix)
	if !ok {
		t.Fatalf("secret %q lacks prefix %q", a, SecretPrefix)
	}
	if key, err := base64.StdEncoding.DecodeString(enc); err != nil || len(key) != 32 {
		t.Fatalf("secret decodes to %d bytes, err %v; want 32", len(key), err)
	}
	if _, err := Sign([]string{a}, "msg_1", time.Unix(1, 0), nil); err != nil {
		t.Fatalf("Sign with a new secret: %v", err)
	}
}

func TestSignRejects(t *testing.T) {
	good := "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 24))
	tests := []struct {
		name    string
		secrets []string
		msgID   string
		want    error
	}{
		{"no secrets", nil, "msg_1", ErrInvalidSecret},
		{"no prefix", []string{strings.TrimPrefix(good, "whsec_")}, "msg_1", ErrInvalidSecret},
		{"not base64", []string{"whsec_!!!!"}, "msg_1", ErrInvalidSecret},
		{"23-byte key", []string{"whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 23))}, "msg_1", ErrInvalidSecret},
		{"one bad secret of two", []string{good, "whsec_"}, "msg_1", ErrInvalidSecret},
		{"empty message id", []string{good}, "", ErrInvalidMessageID},
		{"newline in message id", []string{good}, "msg\n1", ErrInvalidMessageID},
		{"space in message id", []string{good}, "msg 1", ErrInvalidMessageID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Sign(tt.secrets, tt.msgID, time.Unix(1, 0), []byte("{}"))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}
