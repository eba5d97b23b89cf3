// Package webhook signs ScanForge deliveries and verifies them on the
// receiving side. It is pure: no clock, no I/O; callers pass the time.
package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header names set on every delivery.
const (
	HeaderSignature        = "X-ScanForge-Signature"
	HeaderWebhookID        = "Webhook-Id"
	HeaderWebhookTimestamp = "Webhook-Timestamp"
	HeaderWebhookSignature = "Webhook-Signature"
)

// SecretPrefix starts every endpoint secret.
const SecretPrefix = "whsec_"

// secretBytes is the amount of randomness in a new secret.
const secretBytes = 32

// ErrInvalidMessageID means a message ID is empty or holds characters other
// than visible ASCII, so it could not travel in the webhook-id header.
var ErrInvalidMessageID = errors.New("webhook: invalid message id: want non-empty visible ASCII")

// ErrInvalidSecret means a secret is not "whsec_" + base64 of at least 24 bytes.
var ErrInvalidSecret = errors.New("webhook: invalid secret: want whsec_ followed by base64 of at least 24 bytes")

// NewSecret returns a fresh endpoint secret: "whsec_" + base64 of 32 random bytes.
func NewSecret() (string, error) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("webhook: generate secret: %w", err)
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b), nil
}

// secretKey returns the HMAC key of a secret: the bytes its base64 part encodes.
// Both signature forms use this key, as the Standard Webhooks spec does.
func secretKey(secret string) ([]byte, error) {
	enc, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok {
		return nil, ErrInvalidSecret
	}
	key, err := base64.StdEncoding.DecodeString(enc)
	if err != nil || len(key) < 24 {
		return nil, ErrInvalidSecret
	}
	return key, nil
}

// Signature holds the header values of one signed delivery.
type Signature struct {
	ScanForge        string // t=UNIX,v1=HEX[,v1=HEX]
	WebhookID        string
	WebhookTimestamp string
	WebhookSignature string // v1,BASE64[ v1,BASE64]
}

// Apply sets the signature headers on h.
func (s Signature) Apply(h http.Header) {
	h.Set(HeaderSignature, s.ScanForge)
	h.Set(HeaderWebhookID, s.WebhookID)
	h.Set(HeaderWebhookTimestamp, s.WebhookTimestamp)
	h.Set(HeaderWebhookSignature, s.WebhookSignature)
}

// Sign signs body for message msgID at time ts with every given secret (more
// than one during a secret rotation), in both header forms:
//
//	X-ScanForge-Signature: t=UNIX,v1=HEX(HMAC-SHA256(key, "{t}.{body}"))
//	webhook-signature:     v1,BASE64(HMAC-SHA256(key, "{msgID}.{t}.{body}"))
func Sign(secrets []string, msgID string, ts time.Time, body []byte) (Signature, error) {
	if len(secrets) == 0 {
		return Signature{}, ErrInvalidSecret
	}
	if !validMessageID(msgID) {
		// An empty or non-header-safe ID would yield a webhook-id header that
		// net/http refuses to send or that no receiver can verify.
		return Signature{}, ErrInvalidMessageID
	}
	t := strconv.FormatInt(ts.Unix(), 10)
	sf := []string{"t=" + t}
	var std []string
	for _, secret := range secrets {
		key, err := secretKey(secret)
		if err != nil {
			return Signature{}, err
		}
		sf = append(sf, "v1="+hex.EncodeToString(mac(key, t, ".", string(body))))
		std = append(std, "v1,"+base64.StdEncoding.EncodeToString(mac(key, msgID, ".", t, ".", string(body))))
	}
	return Signature{
		ScanForge:        strings.Join(sf, ","),
		WebhookID:        msgID,
		WebhookTimestamp: t,
		WebhookSignature: strings.Join(std, " "),
	}, nil
}

func validMessageID(id string) bool {
	if id == "" {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

func mac(key []byte, parts ...string) []byte {
	h := hmac.New(sha256.New, key)
	for _, p := range parts {
		h.Write([]byte(p))
	}
	return h.Sum(nil)
}
