package activities

import (
	"net/http"
	"strings"

	"github.com/scanforge/scanforge/models"
	"github.com/scanforge/scanforge/webhook"
)

// maskedValue replaces a signature in the delivery log.
const maskedValue = "masked"

// maskedRequestHeaders returns the headers of a delivery request for the
// delivery log, with the signature values masked: the log is stored in
// Temporal history and shown by the API and the UI, and a signature has no
// business there even though it reveals no secret. What stays (the scheme
// and the timestamp) is enough to debug a receiver's verification.
func maskedRequestHeaders(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for name, values := range h {
		out[name] = strings.Join(values, ", ")
	}
	// Keys are canonical, as net/http sends them: X-Scanforge-Signature.
	if name := http.CanonicalHeaderKey(webhook.HeaderSignature); out[name] != "" {
		out[name] = maskScanForgeSignature(out[name])
	}
	if name := http.CanonicalHeaderKey(webhook.HeaderWebhookSignature); out[name] != "" {
		out[name] = maskStandardSignature(out[name])
	}
	if name := http.CanonicalHeaderKey(webhook.HeaderBodySignature); out[name] != "" {
		out[name] = maskBodySignature(out[name])
	}
	return out
}

// bodySignature is the X-ScanForge-Signature-256 value for endpoints that
// ask for it, "" for the others.
func bodySignature(ep models.Endpoint, secrets []string, body []byte) (string, error) {
	if !ep.BodySignature {
		return "", nil
	}
	return webhook.SignBody(secrets, body)
}

// maskBodySignature turns "sha256=HEX, sha256=HEX" into
// "sha256=masked, sha256=masked".
func maskBodySignature(v string) string {
	parts := strings.Split(v, ",")
	for i, p := range parts {
		scheme, _, _ := strings.Cut(strings.TrimSpace(p), "=")
		parts[i] = scheme + "=" + maskedValue
	}
	return strings.Join(parts, ", ")
}

// maskScanForgeSignature turns "t=1700000000,v1=HEX,v1=HEX" into
// "t=1700000000,v1=masked,v1=masked".
func maskScanForgeSignature(v string) string {
	parts := strings.Split(v, ",")
	for i, p := range parts {
		if key, _, ok := strings.Cut(p, "="); ok && key != "t" {
			parts[i] = key + "=" + maskedValue
		} else if !ok {
			parts[i] = maskedValue
		}
	}
	return strings.Join(parts, ",")
}

// maskStandardSignature turns "v1,BASE64 v1,BASE64" into
// "v1,masked v1,masked".
func maskStandardSignature(v string) string {
	parts := strings.Fields(v)
	for i, p := range parts {
		version, _, _ := strings.Cut(p, ",")
		parts[i] = version + "," + maskedValue
	}
	return strings.Join(parts, " ")
}
