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
	// HeaderBodySignature is set only for endpoints that ask for it
	// (body_signature): see SignBody.
	HeaderBodySignature = "X-ScanForge-Signature-256"
)

// SecretPrefix starts every endpoint secret.
const SecretPrefix = "whsec_"

// secretBytes is the amount of randomness in a new secret.
const secretBytes = 32

// The key lengths a secret chosen by a user may have (what Svix accepts).
const (
	MinSecretBytes = 24
	MaxSecretBytes = 64
)

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

// InvalidSecretError says why a secret chosen by a user is refused. It
// never holds the secret. errors.Is(err, ErrInvalidSecret) holds for it.
type InvalidSecretError struct{ Reason string }

func (e *InvalidSecretError) Error() string        { return "webhook: invalid secret: " + e.Reason }
func (e *InvalidSecretError) Is(target error) bool { return target == ErrInvalidSecret }

// ValidateSecret checks a secret chosen by a user rather than generated:
// "whsec_" followed by standard, padded base64 of 24 to 64 bytes, spelled
// the one way Go encodes it (so no line breaks or stray bits hide in it).
func ValidateSecret(secret string) error {
	enc, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok {
		return &InvalidSecretError{Reason: fmt.Sprintf("it does not start with %q", SecretPrefix)}
	}
	key, err := base64.StdEncoding.DecodeString(enc)
	if err != nil || base64.StdEncoding.EncodeToString(key) != enc {
		return &InvalidSecretError{Reason: fmt.Sprintf("the part after %q is not standard base64 with = padding", SecretPrefix)}
	}
	if len(key) < MinSecretBytes || len(key) > MaxSecretBytes {
		return &InvalidSecretError{Reason: fmt.Sprintf("it encodes %d bytes", len(key))}
	}
	return nil
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

// SignBody returns the X-ScanForge-Signature-256 value of body, in GitHub's
// shape: "sha256=" + hex(HMAC-SHA256(key, body)), one per secret joined by
// ", " (two during a rotation's overlap, current first). It covers no
// timestamp, so it does not stop replays; it exists for tools that can only
// HMAC a body.
//
// The key is the secret string itself, "whsec_" included, as UTF-8 bytes,
// not the decoded bytes the other two forms use: no-code tools (n8n's
// Crypto node, Make's sha256(), a Zapier Code step) take the key as text.
func SignBody(secrets []string, body []byte) (string, error) {
	if len(secrets) == 0 {
		return "", ErrInvalidSecret
	}
	sigs := make([]string, len(secrets))
	for i, secret := range secrets {
		if secret == "" {
			return "", ErrInvalidSecret
		}
		sigs[i] = bodySignaturePrefix + hex.EncodeToString(mac([]byte(secret), string(body)))
	}
	return strings.Join(sigs, ", "), nil
}

const bodySignaturePrefix = "sha256="

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
