package activities

// The signed POST of one attempt and what is kept of its answer.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"unicode/utf8"

	"go.opentelemetry.io/otel/trace"

	"github.com/scanforge/scanforge/internal/destination"
	"github.com/scanforge/scanforge/models"
	"github.com/scanforge/scanforge/webhook"
)

// Request headers set on every delivery besides the signature headers.
const (
	HeaderEventID = "X-ScanForge-Event-Id"
	HeaderAttempt = "X-ScanForge-Attempt"
)

// answerHeaders are the answer headers worth keeping in the delivery log.
var answerHeaders = []string{"Content-Type", "Retry-After", "Location"}

// post signs and sends the payload and fills res with what came back.
func (d *Deliverer) post(ctx context.Context, ep models.Endpoint, in AttemptInput, res *AttemptResult) {
	start := d.now()
	res.StartedAt = start
	defer func() { res.DurationMS = d.now().Sub(start).Milliseconds() }()

	// The body for the endpoint's format of the moment; a chat format's
	// body is recorded, since it is not the input's payload.
	body, err := destination.Render(ep.Format, in.Payload)
	if err != nil {
		res.Outcome = OutcomeFailed
		res.Error = "cannot render the body: " + err.Error()
		return
	}
	if !destination.IsScanForge(ep.Format) {
		res.Format, res.SentBody = ep.Format, body
	}

	// Signed at send time with the secrets loaded just now: they never enter
	// the input or the result. During a rotation's overlap window the
	// previous secret signs too. Chat tools ignore the signature (their
	// URL is the secret), but it costs nothing and a proxy may check it.
	secrets := ep.SigningSecrets(start)
	sig, err := webhook.Sign(secrets, in.EventID, start, body)
	if err != nil {
		res.Outcome = OutcomeFailed
		res.Error = "cannot sign: " + err.Error()
		return
	}
	bodySig, err := bodySignature(ep, secrets, body)
	if err != nil {
		res.Outcome = OutcomeFailed
		res.Error = "cannot sign: " + err.Error()
		return
	}

	if err := checkURL(ep.URL); err != nil {
		res.Outcome = OutcomeFailed
		res.Error = "invalid endpoint URL: " + err.Error()
		return
	}
	timeout := d.timeout()
	reqCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	reqCtx, span := d.Tracing.Start(reqCtx, "POST", trace.SpanKindClient)
	defer endPostSpan(span, res)
	req, err := http.NewRequestWithContext(reqCtx, http.MethodPost, ep.URL, bytes.NewReader(body))
	if err != nil {
		res.Outcome = OutcomeFailed
		res.Error = "invalid endpoint URL: " + err.Error()
		return
	}
	startPostSpan(span, req, ep.ID, in.Attempt)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", d.userAgent())
	req.Header.Set(HeaderEventID, in.EventID)
	req.Header.Set(HeaderAttempt, strconv.Itoa(in.Attempt))
	sig.Apply(req.Header)
	if bodySig != "" {
		req.Header.Set(webhook.HeaderBodySignature, bodySig)
	}
	d.Tracing.Inject(reqCtx, req.Header) // traceparent: the receiver's span is a child of this one
	res.RequestHeaders = maskedRequestHeaders(req.Header)

	resp, err := d.Client.Do(req)
	if err != nil {
		res.Outcome = Classify(0, err)
		res.Error = describeTransportError(err, timeout)
		return
	}
	defer resp.Body.Close()

	res.StatusCode = resp.StatusCode
	res.Outcome = Classify(resp.StatusCode, nil)
	res.Headers = keptHeaders(resp.Header)
	res.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), d.now())
	if resp.StatusCode >= 300 && resp.StatusCode <= 399 {
		res.Error = fmt.Sprintf("redirect not followed (%d)", resp.StatusCode)
	}

	answer, err := io.ReadAll(io.LimitReader(resp.Body, MaxBodyBytes))
	res.Body = string(trimPartialRune(answer))
	if res.RetryAfter == 0 {
		res.RetryAfter = destination.RetryAfter(ep.Format, resp.StatusCode, res.Body)
	}
	if err == nil {
		_, err = io.CopyN(io.Discard, resp.Body, maxDrainBytes)
		if errors.Is(err, io.EOF) {
			err = nil
		}
	}
	if err != nil && res.Error == "" {
		// The status already decided the outcome; note the broken answer.
		res.Error = "reading answer: " + describeTransportError(err, timeout)
	}
}

// checkURL rejects URLs no retry can fix.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("scheme %q is not http or https", u.Scheme)
	}
	if u.Host == "" {
		return errors.New("no host")
	}
	return nil
}

func keptHeaders(h http.Header) map[string]string {
	var kept map[string]string
	for _, name := range answerHeaders {
		if v := h.Get(name); v != "" {
			if kept == nil {
				kept = make(map[string]string, len(answerHeaders))
			}
			kept[name] = v
		}
	}
	return kept
}

// trimPartialRune drops a last rune that the MaxBodyBytes cut split.
func trimPartialRune(b []byte) []byte {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return b[:i]
			}
			return b
		}
	}
	return b
}
