package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/sdk/activity"

	"github.com/scanforge/scanforge/internal/destination"
	"github.com/scanforge/scanforge/internal/metrics"
	"github.com/scanforge/scanforge/internal/tracing"
	"github.com/scanforge/scanforge/models"
	"github.com/scanforge/scanforge/webhook"
)

// Defaults of a Deliverer.
const (
	DefaultTimeout   = 15 * time.Second
	DefaultUserAgent = "ScanForge-Webhooks/1.0"
	// MaxBodyBytes is how much of an answer body is kept in the result.
	MaxBodyBytes = 4 << 10
	// maxDrainBytes is how much more of an answer is read and discarded so the
	// connection can be reused; longer answers just close it.
	maxDrainBytes = 64 << 10
)

// Request headers set on every delivery besides the signature headers.
const (
	HeaderEventID = "X-ScanForge-Event-Id"
	HeaderAttempt = "X-ScanForge-Attempt"
)

// answerHeaders are the answer headers worth keeping in the delivery log.
var answerHeaders = []string{"Content-Type", "Retry-After", "Location"}

// EndpointStore is what an attempt needs from the database.
type EndpointStore interface {
	// GetEndpointByID returns models.ErrNotFound when the endpoint is gone.
	GetEndpointByID(ctx context.Context, id string) (models.Endpoint, error)
	DisableEndpoint(ctx context.Context, id string, cause models.DisableCause, reason string) error
}

// AttemptInput identifies one delivery attempt. It carries IDs and the
// event, never the secret: inputs are stored in Temporal history.
type AttemptInput struct {
	EndpointID string
	EventID    string          // the message id (webhook-id): stable across retries and replays
	Payload    json.RawMessage // the exact body to POST
	Attempt    int             // 1-based
}

// AttemptResult is what one attempt saw. It is the activity's result, so
// it is stored in history: it holds no secret and no signature.
type AttemptResult struct {
	Attempt    int
	Outcome    Outcome
	StatusCode int               // 0 when there was no answer
	Body       string            // answer body, cut at MaxBodyBytes
	Headers    map[string]string // Content-Type, Retry-After, Location when present
	RetryAfter time.Duration     // parsed Retry-After; 0 if none
	Error      string            // transport error or reason, e.g. "timeout after 15s"
	DurationMS int64
	StartedAt  time.Time
	URL        string
	// RequestHeaders are the headers sent, signature values masked.
	RequestHeaders map[string]string
	// Format is the endpoint's body format at this attempt; "" is the
	// ScanForge event. SentBody is the body rendered for any other format;
	// the event itself (the input's Payload) is not copied, to keep the
	// history of most deliveries small.
	Format   string          `json:",omitempty"`
	SentBody json.RawMessage `json:",omitempty"`

	// EndpointState is the endpoint's state (models.Endpoint.State) when
	// the outcome is OutcomeEndpointDisabled; "" when it was not found.
	// Deliveries of workflows.RevisionParking park on it.
	EndpointState string
}

// DialContextFunc dials a connection; it is where an egress policy (an SSRF
// guard) plugs in.
type DialContextFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// Deliverer performs delivery attempts. Build it with NewDeliverer.
type Deliverer struct {
	Endpoints EndpointStore
	Client    *http.Client
	Now       func() time.Time
	Timeout   time.Duration // per request
	UserAgent string
	Logger    *slog.Logger
	Metrics   *metrics.Registry // counts attempts by outcome and their latency; nil: none
	// Finished, when set, is told the workflow ID of every attempt that
	// ended with a result (the outbox of the same process frees the
	// delivery's in-flight place with it).
	Finished func(workflowID string)

	// Health keeps endpoints' failure records for AutoDisable; nil: none.
	Health      HealthStore
	AutoDisable AutoDisable
	// Notifier tells the workspace's operational endpoints when an
	// endpoint is disabled or a delivery gives up; nil: nobody.
	Notifier Notifier
	// Tracing traces each POST as a child of the attempt's span and sends
	// its W3C traceparent to the receiver; nil: off.
	Tracing *tracing.Tracing
}

// Options tune a Deliverer; the zero value is a working default.
type Options struct {
	Dial      DialContextFunc // where an egress policy plugs in; nil: a plain net.Dialer
	Timeout   time.Duration   // per request; 0: DefaultTimeout
	UserAgent string          // "": DefaultUserAgent
	Now       func() time.Time
	Logger    *slog.Logger
	Metrics   *metrics.Registry
	Finished  func(workflowID string)
	// Health, AutoDisable, Notifier and Tracing: see Deliverer.
	Health      HealthStore
	AutoDisable AutoDisable
	Notifier    Notifier
	Tracing     *tracing.Tracing
}

// NewDeliverer returns a Deliverer of the endpoints in store, with the HTTP
// client NewHTTPClient(opts.Dial) builds.
func NewDeliverer(store EndpointStore, opts Options) *Deliverer {
	d := &Deliverer{
		Endpoints: store,
		Client:    NewHTTPClient(opts.Dial),
		Now:       opts.Now,
		Timeout:   opts.Timeout,
		UserAgent: opts.UserAgent,
		Logger:    opts.Logger,
		Metrics:   opts.Metrics,
		Finished:  opts.Finished,

		Health:      opts.Health,
		AutoDisable: opts.AutoDisable,
		Notifier:    opts.Notifier,
		Tracing:     opts.Tracing,
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Timeout <= 0 {
		d.Timeout = DefaultTimeout
	}
	if d.UserAgent == "" {
		d.UserAgent = DefaultUserAgent
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return d
}

// NewHTTPClient returns the client deliveries go through: it never follows
// redirects (the signed body must reach only the configured URL), and it
// dials through dial without any proxy, so the dialer alone decides where
// connections may go.
func NewHTTPClient(dial DialContextFunc) *http.Client {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.Proxy = nil
	if dial != nil {
		transport.DialContext = dial
	}
	return &http.Client{
		Transport: transport,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// Attempt makes one delivery attempt. The HTTP outcome, good or bad, is the
// result. An error means an infrastructure fault (database unreachable,
// worker shutting down): Temporal retries it and it is not an attempt.
func (d *Deliverer) Attempt(ctx context.Context, in AttemptInput) (AttemptResult, error) {
	if d.Client == nil || d.Endpoints == nil {
		return AttemptResult{}, errors.New("activities: Deliverer needs Endpoints and Client (use NewDeliverer)")
	}
	res := AttemptResult{Attempt: in.Attempt}

	ep, err := d.Endpoints.GetEndpointByID(ctx, in.EndpointID)
	if errors.Is(err, models.ErrNotFound) {
		res.Outcome = OutcomeEndpointDisabled
		res.Error = "endpoint not found"
		d.observe(ctx, res)
		return res, nil
	}
	if err != nil {
		return AttemptResult{}, fmt.Errorf("load endpoint %s: %w", in.EndpointID, err)
	}
	res.URL = ep.URL
	if !ep.TakesDeliveries() {
		res.Outcome = OutcomeEndpointDisabled
		res.EndpointState = ep.State()
		res.Error = "endpoint disabled"
		if ep.Enabled {
			res.Error = "endpoint paused"
		}
		if ep.DisabledReason != "" && !ep.Enabled {
			res.Error += ": " + ep.DisabledReason
		}
		d.observe(ctx, res)
		return res, nil
	}

	d.post(ctx, ep, in, &res)
	if err := ctx.Err(); err != nil && res.StatusCode == 0 {
		// Cancelled by Temporal (worker shutdown, activity timeout) before an
		// answer came: the attempt did not finish, so it is not a result.
		return AttemptResult{}, fmt.Errorf("attempt %d cancelled: %w", in.Attempt, err)
	}

	if reason := destination.DisableReason(ep.Format, res.StatusCode, res.Body); reason != "" {
		if err := d.Endpoints.DisableEndpoint(ctx, ep.ID, models.CauseGone, reason); err != nil {
			// The answer stands; the next delivery to this endpoint will
			// get it again and retry the disabling.
			d.logger().Warn("disable endpoint", "endpoint_id", ep.ID, "reason", reason, "error", err)
			res.Error = reason + "; disabling it failed: " + err.Error()
		} else {
			res.Error = reason + "; endpoint disabled"
			d.notifyDisabled(ctx, ep, models.EndpointGone, reason, res)
		}
	}

	d.noteHealth(ctx, ep, &res)
	d.logger().Info("delivery attempt",
		"endpoint_id", ep.ID, "event_id", in.EventID, "attempt", in.Attempt,
		"outcome", res.Outcome, "status", res.StatusCode, "error", res.Error, "duration_ms", res.DurationMS)
	d.observe(ctx, res)
	return res, nil
}

// observe counts a finished attempt; its latency counts when a request went
// out (the request headers are set just before sending).
func (d *Deliverer) observe(ctx context.Context, res AttemptResult) {
	d.Metrics.DeliveryAttempt(string(res.Outcome), res.RequestHeaders != nil, time.Duration(res.DurationMS)*time.Millisecond)
	if d.Finished != nil && activity.IsActivity(ctx) {
		d.Finished(activity.GetInfo(ctx).WorkflowExecution.ID)
	}
}

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

func (d *Deliverer) now() time.Time {
	if d.Now == nil {
		return time.Now()
	}
	return d.Now()
}

func (d *Deliverer) timeout() time.Duration {
	if d.Timeout <= 0 {
		return DefaultTimeout
	}
	return d.Timeout
}

func (d *Deliverer) userAgent() string {
	if d.UserAgent == "" {
		return DefaultUserAgent
	}
	return d.UserAgent
}

func (d *Deliverer) logger() *slog.Logger {
	if d.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.Logger
}
