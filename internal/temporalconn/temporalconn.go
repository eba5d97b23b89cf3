// Package temporalconn connects serve and worker to Temporal as configured
// (address, namespace, TLS, mTLS client certificate, API key) and turns a
// failed connection into one precise message that says whether waiting can
// fix it (the server is not up yet) or not (wrong CA, wrong server name,
// refused client certificate, unknown namespace, refused credentials).
package temporalconn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/scanforge/scanforge/internal/config"
)

// Target is where and how to reach Temporal.
type Target struct {
	Address   string
	Namespace string
	// TLS is the client's TLS configuration; nil: plaintext.
	TLS    *tls.Config
	APIKey string
	// caFile names the trusted CAs in messages; "" means the system's.
	caFile string
}

// New builds the Target of cfg. The loader has checked the TLS material,
// so an error here means the files changed in between.
func New(cfg config.Config) (*Target, error) {
	t := &Target{Address: cfg.TemporalAddress, Namespace: cfg.TemporalNamespace, APIKey: cfg.TemporalAPIKey}
	if !cfg.TemporalTLS.Enabled {
		return t, nil
	}
	s := cfg.TemporalTLS
	t.TLS = &tls.Config{MinVersion: tls.VersionTLS12, ServerName: s.ServerName}
	t.caFile = s.CAFile
	if len(s.CAPEM) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(s.CAPEM) {
			return nil, fmt.Errorf("TEMPORAL_TLS_CA %s: no certificate", s.CAFile)
		}
		t.TLS.RootCAs = pool
	}
	if len(s.CertPEM) > 0 {
		cert, err := tls.X509KeyPair(s.CertPEM, s.KeyPEM)
		if err != nil {
			return nil, fmt.Errorf("TEMPORAL_TLS_CERT %s and TEMPORAL_TLS_KEY %s: %w", s.CertFile, s.KeyFile, err)
		}
		t.TLS.Certificates = []tls.Certificate{cert}
	}
	return t, nil
}

// ClientOptions are the SDK client options of t; the client logs through
// logger and reports its metrics to metrics (nil: none).
func (t *Target) ClientOptions(logger *slog.Logger, metrics client.MetricsHandler) client.Options {
	opts := client.Options{
		HostPort:       t.Address,
		Namespace:      t.Namespace,
		Logger:         sdklog.NewStructuredLogger(logger.With("component", "temporal-client")),
		MetricsHandler: metrics,
	}
	if t.TLS != nil {
		opts.ConnectionOptions.TLS = t.TLS.Clone()
	}
	if t.APIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(t.APIKey)
	}
	return opts
}

// dialTimeout bounds one connection attempt of Dial.
const dialTimeout = 10 * time.Second

// Dial connects with opts (from ClientOptions) and checks that the
// namespace exists. Failures are *Error.
func (t *Target) Dial(ctx context.Context, opts client.Options) (client.Client, error) {
	dialCtx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	c, err := client.DialContext(dialCtx, opts)
	if err != nil {
		return nil, t.diagnose(dialCtx, err)
	}
	if err := t.Check(dialCtx, c); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Check asks Temporal, through c, to describe the namespace: the server
// answers, accepts the connection and the credentials, and the namespace
// exists. Failures are *Error.
func (t *Target) Check(ctx context.Context, c client.Client) error {
	_, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: t.Namespace})
	if err != nil {
		return t.diagnose(ctx, err)
	}
	return nil
}

// Error is a diagnosed connection failure.
type Error struct {
	// Permanent: a configuration mistake that retrying will not fix.
	Permanent bool
	Message   string
	Err       error // what the client or the handshake reported
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.Err }

// IsPermanent is how callers that only know an error tell it apart.
func (e *Error) IsPermanent() bool { return e.Permanent }

// IsPermanent reports whether err is a diagnosed configuration mistake.
func IsPermanent(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Permanent
}

func (t *Target) permanent(err error, format string, args ...any) *Error {
	return &Error{Permanent: true, Message: fmt.Sprintf(format, args...), Err: err}
}

func (t *Target) notReachable(err error) *Error {
	return &Error{Message: fmt.Sprintf("Temporal at %s is not reachable (yet): %v", t.Address, err), Err: err}
}

// diagnose explains err, a failed call. Answers from the server say what
// is wrong themselves; a transport failure is looked into with a
// handshake of our own, whose errors are typed where gRPC's are text.
func (t *Target) diagnose(ctx context.Context, err error) *Error {
	var nsNotFound *serviceerror.NamespaceNotFound
	if errors.As(err, &nsNotFound) {
		return t.permanent(err, "namespace %q not found on the Temporal server at %s: create it "+
			"(temporal operator namespace create --namespace %s --retention 7d --address %s) or set TEMPORAL_NAMESPACE to an existing one",
			t.Namespace, t.Address, t.Namespace, t.Address)
	}
	// The server's own words, without the SDK's wrapping.
	st := status.Convert(err)
	var answer serviceerror.ServiceError
	var grpcAnswer interface{ GRPCStatus() *status.Status }
	if errors.As(err, &answer) {
		st = answer.Status()
	} else if errors.As(err, &grpcAnswer) {
		st = grpcAnswer.GRPCStatus()
	}
	switch st.Code() {
	case codes.NotFound:
		return t.permanent(err, "namespace %q not found on the Temporal server at %s (%s): create it "+
			"(temporal operator namespace create --namespace %s --retention 7d) or set TEMPORAL_NAMESPACE to an existing one",
			t.Namespace, t.Address, st.Message(), t.Namespace)
	case codes.Unauthenticated:
		if t.APIKey != "" {
			return t.permanent(err, "Temporal at %s refused the API key (%s); check TEMPORAL_API_KEY", t.Address, st.Message())
		}
		return t.permanent(err, "Temporal at %s requires authentication (%s); set TEMPORAL_API_KEY, or TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY",
			t.Address, st.Message())
	case codes.PermissionDenied:
		return t.permanent(err, "Temporal at %s does not let these credentials use namespace %q (%s); "+
			"check the permissions of TEMPORAL_API_KEY or of the client certificate", t.Address, t.Namespace, st.Message())
	}
	if probeErr := t.probe(ctx); probeErr != nil {
		return probeErr
	}
	return t.notReachable(err)
}

// probeTimeout bounds the diagnostic handshake.
const probeTimeout = 5 * time.Second

// probe connects to the address as the client would and returns what goes
// wrong, or nil when nothing does.
func (t *Target) probe(ctx context.Context) *Error {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", t.Address)
	if err != nil {
		return t.notReachable(err)
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	host, _, _ := net.SplitHostPort(t.Address)

	if t.TLS == nil {
		// A plaintext client meets a TLS server as a dropped connection:
		// find out whether TLS is what the server wanted. Nothing is sent
		// over this connection, so its certificate need not be verified.
		probe := tls.Client(conn, &tls.Config{ServerName: host, InsecureSkipVerify: true, NextProtos: []string{"h2"}})
		if probe.HandshakeContext(ctx) == nil {
			return t.permanent(nil, "Temporal at %s expects TLS: set TEMPORAL_TLS=true (with TEMPORAL_TLS_CA when its certificate is not signed by a public CA)", t.Address)
		}
		return nil
	}

	cfg := t.TLS.Clone()
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	cfg.NextProtos = []string{"h2"}
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return t.tlsFailure(err, cfg.ServerName)
	}
	// Under TLS 1.3 the server judges the client certificate after the
	// handshake: speak first (the HTTP/2 preface) and see what comes back.
	if _, err := tc.Write([]byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")); err != nil {
		return t.tlsFailure(err, cfg.ServerName)
	}
	var b [1]byte
	if _, err := tc.Read(b[:]); err != nil {
		var netErr net.Error
		if errors.As(err, &netErr) && netErr.Timeout() {
			return nil
		}
		return t.tlsFailure(err, cfg.ServerName)
	}
	return nil
}

// tlsFailure explains a failed TLS connection with the variable to change.
func (t *Target) tlsFailure(err error, serverName string) *Error {
	var unknownAuthority x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var record tls.RecordHeaderError
	var op *net.OpError
	switch {
	case errors.As(err, &unknownAuthority):
		if t.caFile == "" {
			return t.permanent(err, "TLS to Temporal at %s failed: certificate signed by unknown authority; check TEMPORAL_TLS_CA "+
				"(unset: the system's CAs are trusted; set it to the PEM file of the CA that signed the server's certificate)", t.Address)
		}
		return t.permanent(err, "TLS to Temporal at %s failed: certificate signed by unknown authority; check TEMPORAL_TLS_CA "+
			"(%s does not hold the CA that signed the server's certificate)", t.Address, t.caFile)
	case errors.As(err, &hostname):
		return t.permanent(err, "TLS to Temporal at %s failed: the server's certificate is valid for %s, not %q; "+
			"set TEMPORAL_TLS_SERVER_NAME to a name it is valid for", t.Address, certificateNames(hostname.Certificate), serverName)
	case errors.As(err, &invalid):
		return t.permanent(err, "TLS to Temporal at %s failed: the server's certificate is not valid (%v)", t.Address, err)
	case errors.As(err, &record):
		return t.permanent(err, "Temporal at %s does not speak TLS (%v): set TEMPORAL_TLS=false (and unset the other TEMPORAL_TLS_* variables), "+
			"or point TEMPORAL_ADDRESS at its TLS port", t.Address, err)
	case errors.As(err, &op) && op.Op == "remote error":
		// The server sent a TLS alert: it refused our side of the handshake.
		if len(t.TLS.Certificates) == 0 {
			return t.permanent(err, "Temporal at %s refused the connection (%v): it requires a client certificate (mTLS); "+
				"set TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY", t.Address, op.Err)
		}
		return t.permanent(err, "Temporal at %s refused the client certificate of TEMPORAL_TLS_CERT (%v); "+
			"use one signed by a CA the server trusts for clients", t.Address, op.Err)
	}
	return t.notReachable(err)
}

func certificateNames(c *x509.Certificate) string {
	var names []string
	names = append(names, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 && c.Subject.CommonName != "" {
		names = append(names, c.Subject.CommonName)
	}
	if len(names) == 0 {
		return "no name"
	}
	return strings.Join(names, ", ")
}
