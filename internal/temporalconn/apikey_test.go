package temporalconn_test

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	namespacepb "go.temporal.io/api/namespace/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/scanforge/scanforge/internal/temporalconn"
	"github.com/scanforge/scanforge/internal/testcerts"
)

// cloudFrontend stands in for Temporal Cloud's frontend: a TLS gRPC
// endpoint that answers only calls carrying "authorization: Bearer <key>".
type cloudFrontend struct {
	workflowservice.UnimplementedWorkflowServiceServer
	key string

	mu   sync.Mutex
	seen []string // authorization headers received
}

func (f *cloudFrontend) authorize(ctx context.Context) error {
	md, _ := metadata.FromIncomingContext(ctx)
	got := md.Get("authorization")
	f.mu.Lock()
	f.seen = append(f.seen, got...)
	f.mu.Unlock()
	if len(got) != 1 || got[0] != "Bearer "+f.key {
		return status.Error(codes.Unauthenticated, "Request unauthorized.")
	}
	return nil
}

func (f *cloudFrontend) GetSystemInfo(ctx context.Context, _ *workflowservice.GetSystemInfoRequest) (*workflowservice.GetSystemInfoResponse, error) {
	if err := f.authorize(ctx); err != nil {
		return nil, err
	}
	return &workflowservice.GetSystemInfoResponse{}, nil
}

func (f *cloudFrontend) DescribeNamespace(ctx context.Context, req *workflowservice.DescribeNamespaceRequest) (*workflowservice.DescribeNamespaceResponse, error) {
	if err := f.authorize(ctx); err != nil {
		return nil, err
	}
	return &workflowservice.DescribeNamespaceResponse{NamespaceInfo: &namespacepb.NamespaceInfo{Name: req.GetNamespace()}}, nil
}

func (f *cloudFrontend) headers() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.seen...)
}

// TestAPIKeyIsSent: TEMPORAL_API_KEY reaches a TLS frontend as
// "authorization: Bearer <key>" on every call, and a refused key is
// reported as such.
func TestAPIKeyIsSent(t *testing.T) {
	const key = "scanforge-test-api-key"
	ca := testcerts.NewCA(t, "cloud-ca")
	certFiles := ca.Server(t, "cloud", serverName)
	cert, err := tls.LoadX509KeyPair(certFiles.Cert, certFiles.Key)
	if err != nil {
		t.Fatal(err)
	}
	frontend := &cloudFrontend{key: key}
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}})))
	workflowservice.RegisterWorkflowServiceServer(srv, frontend)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)

	base := map[string]string{
		"TEMPORAL_ADDRESS":         ln.Addr().String(),
		"TEMPORAL_NAMESPACE":       "scanforge.a1b2c",
		"TEMPORAL_TLS_CA":          ca.File,
		"TEMPORAL_TLS_SERVER_NAME": serverName,
		"TEMPORAL_API_KEY":         key,
	}
	if err := dial(t, load(t, base)); err != nil {
		t.Fatal(err)
	}
	seen := frontend.headers()
	if len(seen) < 2 { // GetSystemInfo and DescribeNamespace
		t.Fatalf("authorization headers received: %q, want one per call", seen)
	}
	for _, h := range seen {
		if h != "Bearer "+key {
			t.Errorf("authorization header %q, want %q", h, "Bearer "+key)
		}
	}

	err = dial(t, load(t, with(base, "TEMPORAL_API_KEY", "revoked-key")))
	wantFailure(t, err, true, "refused the API key (Request unauthorized.); check TEMPORAL_API_KEY")
}

// TestTLSClientMeetsPlaintextServer: TLS configured against a plaintext
// frontend is named as such, not as an outage.
func TestTLSClientMeetsPlaintextServer(t *testing.T) {
	srv := grpc.NewServer()
	workflowservice.RegisterWorkflowServiceServer(srv, &cloudFrontend{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)

	err = dial(t, load(t, map[string]string{"TEMPORAL_ADDRESS": ln.Addr().String(), "TEMPORAL_TLS": "true"}))
	wantFailure(t, err, true, "Temporal at "+ln.Addr().String()+" does not speak TLS")
}

// TestWatchSaysWhatIsWrong: serve's start-up watch logs a configuration
// mistake as an error and keeps checking; once the check passes it says
// so and ends.
func TestWatchSaysWhatIsWrong(t *testing.T) {
	const key = "scanforge-test-api-key"
	ca := testcerts.NewCA(t, "cloud-ca")
	certFiles := ca.Server(t, "cloud", serverName)
	cert, err := tls.LoadX509KeyPair(certFiles.Cert, certFiles.Key)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}})))
	workflowservice.RegisterWorkflowServiceServer(srv, &cloudFrontend{key: key})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)

	watch := func(apiKey string, until time.Duration) string {
		cfg := load(t, map[string]string{
			"TEMPORAL_ADDRESS": ln.Addr().String(), "TEMPORAL_TLS_CA": ca.File,
			"TEMPORAL_TLS_SERVER_NAME": serverName, "TEMPORAL_API_KEY": apiKey,
		})
		target, err := temporalconn.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		var logs strings.Builder
		logger := slog.New(slog.NewTextHandler(&logs, nil))
		c, err := client.NewLazyClient(target.ClientOptions(slog.New(slog.NewTextHandler(io.Discard, nil)), nil))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), until)
		defer cancel()
		target.Watch(ctx, c, logger)
		return logs.String()
	}

	logs := watch("revoked-key", 2500*time.Millisecond)
	if !strings.Contains(logs, "level=ERROR") || !strings.Contains(logs, "refused the API key") || strings.Count(logs, "\n") != 1 {
		t.Errorf("misconfigured: want one error naming the API key, logged\n%s", logs)
	}
	logs = watch(key, 10*time.Second)
	if !strings.Contains(logs, `level=INFO msg="temporal connected"`) || strings.Count(logs, "\n") != 1 {
		t.Errorf("configured: want one line saying connected, logged\n%s", logs)
	}
}
