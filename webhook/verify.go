package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultTolerance is how far a delivery's timestamp may be from the
// receiver's clock when the caller passes a tolerance <= 0.
const DefaultTolerance = 5 * time.Minute

// MaxBodyBytes is the largest body Verifier.VerifyRequest reads.
const MaxBodyBytes = 1 << 20

// Verification errors; test for them with errors.Is. A bad secret yields
// ErrInvalidSecret.
var (
	// ErrMissingSignature: the request carries no signature header (or, for
	// the Standard Webhooks form, lacks webhook-id or webhook-timestamp).
	ErrMissingSignature = errors.New("webhook: missing signature header")
	// ErrMalformedSignature: a signature header does not parse: no or bad
	// timestamp, an item that is not key=value (v1,BASE64), a v1 signature
	// that is not hex (base64) of 32 bytes.
	ErrMalformedSignature = errors.New("webhook: malformed signature header")
	// ErrNoMatchingSignature: no v1 signature in the header matches the body
	// under the secret (wrong secret, tampered body or ID, or no v1 at all).
	ErrNoMatchingSignature = errors.New("webhook: no matching signature")
	// ErrTimestampOutOfTolerance: the signature is authentic but its
	// timestamp is too far from now (a replay, or a skewed clock).
	ErrTimestampOutOfTolerance = errors.New("webhook: timestamp outside tolerance")
	// ErrBodyTooLarge: the request body exceeds MaxBodyBytes.
	ErrBodyTooLarge = errors.New("webhook: body larger than 1 MiB")
)

// Verify checks a delivery's signature. It uses X-ScanForge-Signature when
// present, otherwise the Standard Webhooks headers (webhook-id,
// webhook-timestamp, webhook-signature). It passes if any v1 signature
// matches, so deliveries signed with both secrets during a rotation verify
// with either. The timestamp must be within ±tolerance of now; tolerance <= 0
// means DefaultTolerance.
//
// The signature is checked before the timestamp, so
// ErrTimestampOutOfTolerance always means an authentic but stale (or future)
// delivery.
func Verify(secret string, header http.Header, body []byte, tolerance time.Duration, now time.Time) error {
	if _, err := secretKey(secret); err != nil {
		return err
	}
	if v := header.Get(HeaderSignature); v != "" {
		return VerifyScanForge(secret, v, body, tolerance, now)
	}
	id := header.Get(HeaderWebhookID)
	ts := header.Get(HeaderWebhookTimestamp)
	sig := header.Get(HeaderWebhookSignature)
	if id == "" && ts == "" && sig == "" {
		return fmt.Errorf("%w: neither %s nor %s", ErrMissingSignature, HeaderSignature, HeaderWebhookSignature)
	}
	return VerifyStandard(secret, id, ts, sig, body, tolerance, now)
}

// VerifyScanForge checks an X-ScanForge-Signature value
// "t=UNIX,v1=HEX[,v1=HEX...]" against body. Keys other than t and v1 are
// ignored, so new schemes can be added alongside v1.
func VerifyScanForge(secret, headerValue string, body []byte, tolerance time.Duration, now time.Time) error {
	key, err := secretKey(secret)
	if err != nil {
		return err
	}
	if headerValue == "" {
		return fmt.Errorf("%w: %s", ErrMissingSignature, HeaderSignature)
	}
	t, sigs, err := parseScanForge(headerValue)
	if err != nil {
		return err
	}
	if !anyEqual(mac(key, t, ".", string(body)), sigs) {
		return ErrNoMatchingSignature
	}
	return checkTimestamp(t, tolerance, now)
}

// VerifyStandard checks the Standard Webhooks headers: msgID and timestamp
// as sent in webhook-id and webhook-timestamp, and signature as sent in
// webhook-signature ("v1,BASE64", space-separated during a rotation).
// Versions other than v1 (e.g. the asymmetric v1a) are ignored.
func VerifyStandard(secret, msgID, timestamp, signature string, body []byte, tolerance time.Duration, now time.Time) error {
	key, err := secretKey(secret)
	if err != nil {
		return err
	}
	switch {
	case signature == "":
		return fmt.Errorf("%w: %s", ErrMissingSignature, HeaderWebhookSignature)
	case msgID == "":
		return fmt.Errorf("%w: %s", ErrMissingSignature, HeaderWebhookID)
	case timestamp == "":
		return fmt.Errorf("%w: %s", ErrMissingSignature, HeaderWebhookTimestamp)
	}
	if !isUnixSeconds(timestamp) {
		return fmt.Errorf("%w: %s is not unix seconds", ErrMalformedSignature, HeaderWebhookTimestamp)
	}
	sigs, err := parseStandard(signature)
	if err != nil {
		return err
	}
	if !anyEqual(mac(key, msgID, ".", timestamp, ".", string(body)), sigs) {
		return ErrNoMatchingSignature
	}
	return checkTimestamp(timestamp, tolerance, now)
}

// VerifyBody checks an X-ScanForge-Signature-256 value ("sha256=HEX",
// several joined by commas during a rotation) against body; see SignBody
// for the key. With no timestamp it cannot reject a replayed request:
// prefer Verify where the receiver can run code.
func VerifyBody(secret, headerValue string, body []byte) error {
	if secret == "" {
		return ErrInvalidSecret
	}
	if strings.TrimSpace(headerValue) == "" {
		return fmt.Errorf("%w: %s", ErrMissingSignature, HeaderBodySignature)
	}
	var sigs [][]byte
	for item := range strings.SplitSeq(headerValue, ",") {
		enc, ok := strings.CutPrefix(strings.TrimSpace(item), bodySignaturePrefix)
		sig, err := hex.DecodeString(enc)
		if !ok || err != nil || len(sig) != sha256.Size {
			return fmt.Errorf("%w: want sha256= and 64 hex digits", ErrMalformedSignature)
		}
		sigs = append(sigs, sig)
	}
	if !anyEqual(mac([]byte(secret), string(body)), sigs) {
		return ErrNoMatchingSignature
	}
	return nil
}

// parseScanForge splits "t=UNIX,v1=HEX,..." into the timestamp as sent (the
// MAC covers those exact bytes) and the decoded v1 signatures.
func parseScanForge(v string) (t string, sigs [][]byte, err error) {
	for item := range strings.SplitSeq(v, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok {
			return "", nil, fmt.Errorf("%w: item is not key=value", ErrMalformedSignature)
		}
		switch k {
		case "t":
			if t != "" {
				return "", nil, fmt.Errorf("%w: more than one t", ErrMalformedSignature)
			}
			if !isUnixSeconds(val) {
				return "", nil, fmt.Errorf("%w: t is not unix seconds", ErrMalformedSignature)
			}
			t = val
		case "v1":
			sig, err := hex.DecodeString(val)
			if err != nil || len(sig) != sha256.Size {
				return "", nil, fmt.Errorf("%w: v1 is not 64 hex digits", ErrMalformedSignature)
			}
			sigs = append(sigs, sig)
		}
	}
	if t == "" {
		return "", nil, fmt.Errorf("%w: no t", ErrMalformedSignature)
	}
	return t, sigs, nil
}

// parseStandard decodes the v1 signatures of a webhook-signature value.
func parseStandard(v string) ([][]byte, error) {
	var sigs [][]byte
	for _, item := range strings.Fields(v) {
		version, enc, ok := strings.Cut(item, ",")
		if !ok {
			return nil, fmt.Errorf("%w: item is not version,signature", ErrMalformedSignature)
		}
		if version != "v1" {
			continue
		}
		sig, err := base64.StdEncoding.DecodeString(enc)
		if err != nil || len(sig) != sha256.Size {
			return nil, fmt.Errorf("%w: v1 is not base64 of 32 bytes", ErrMalformedSignature)
		}
		sigs = append(sigs, sig)
	}
	return sigs, nil
}

// anyEqual reports whether want equals any of sigs, comparing in constant time.
func anyEqual(want []byte, sigs [][]byte) bool {
	for _, sig := range sigs {
		if hmac.Equal(want, sig) {
			return true
		}
	}
	return false
}

// isUnixSeconds accepts plain decimal digits that fit an int64; no sign, no
// spaces, so the signed bytes have one spelling.
func isUnixSeconds(s string) bool {
	if s == "" || len(s) > 18 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// checkTimestamp rejects t (validated by isUnixSeconds) outside ±tolerance of now.
func checkTimestamp(t string, tolerance time.Duration, now time.Time) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	sec, err := strconv.ParseInt(t, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp: %w", ErrMalformedSignature, err)
	}
	ts := time.Unix(sec, 0)
	if ts.Before(now.Add(-tolerance)) || ts.After(now.Add(tolerance)) {
		return fmt.Errorf("%w: %s is %s from now (tolerance %s)", ErrTimestampOutOfTolerance,
			ts.UTC().Format(time.RFC3339), now.Sub(ts).Abs().Round(time.Second), tolerance)
	}
	return nil
}

// Verifier verifies incoming requests in an http.Handler.
type Verifier struct {
	Secret    string
	Tolerance time.Duration    // <= 0 means DefaultTolerance
	Now       func() time.Time // nil means time.Now
}

// VerifyRequest reads r's body (at most MaxBodyBytes), verifies its signature
// with Verify and returns the body. On error it returns no body; answer 4xx
// (e.g. 400 for ErrBodyTooLarge, 401 otherwise).
func (v Verifier) VerifyRequest(r *http.Request) ([]byte, error) {
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	if err := Verify(v.Secret, r.Header, body, v.Tolerance, now()); err != nil {
		return nil, err
	}
	return body, nil
}

func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	if r.ContentLength > MaxBodyBytes {
		return nil, ErrBodyTooLarge
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("webhook: read body: %w", err)
	}
	if len(body) > MaxBodyBytes {
		return nil, ErrBodyTooLarge
	}
	return body, nil
}
