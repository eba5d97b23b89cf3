package temporalconn_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/scanforge/scanforge/internal/config"
	"github.com/scanforge/scanforge/internal/devserver"
	"github.com/scanforge/scanforge/internal/temporalconn"
	"github.com/scanforge/scanforge/internal/testcerts"
)

// serverName is the only name in the test servers' certificates: a client
// dialling 127.0.0.1 must be told to expect it.
const serverName = "temporal.test"

// secureServer is a running Temporal frontend with TLS.
type secureServer struct {
	Address   string
	Namespace string
}

// startSecureServer starts a Temporal server whose frontend presents a
// certificate for serverName signed by ca and, with requireClientAuth,
// accepts only clients with a certificate signed by ca. The tests below
// take it as a parameter so that the standalone server process can run
// them as well.
type startSecureServer func(t *testing.T, ca *testcerts.CA, requireClientAuth bool) secureServer

// startInProcess runs the server in this process (internal/devserver).
func startInProcess(t *testing.T, ca *testcerts.CA, requireClientAuth bool) secureServer {
	t.Helper()
	cert := ca.Server(t, "frontend", serverName)
	internal := ca.Client(t, "temporal-system")
	srv, err := devserver.Start(context.Background(), devserver.Options{
		Namespace: "scanforge",
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		TLS: &devserver.TLS{
			CertFile: cert.Cert, KeyFile: cert.Key,
			CAFile:            ca.File,
			ServerName:        serverName,
			RequireClientAuth: requireClientAuth,
			ClientCertFile:    internal.Cert, ClientKeyFile: internal.Key,
		},
	})
	if err != nil {
		t.Fatalf("start temporal with TLS: %v", err)
	}
	t.Cleanup(srv.Stop)
	return secureServer{Address: srv.FrontendAddress(), Namespace: srv.Namespace()}
}

func TestSecureConnectionsInProcess(t *testing.T) {
	testSecureConnections(t, startInProcess)
}

// load is the worker's configuration for env, through the real loader.
func load(t *testing.T, env map[string]string) config.Config {
	t.Helper()
	full := map[string]string{
		"DATABASE_URL":             "postgres://u@db/sf",
		"SCANFORGE_ENCRYPTION_KEY": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
	}
	for k, v := range env {
		full[k] = v
	}
	cfg, err := config.Load(config.ModeWorker, func(name string) string { return full[name] })
	if err != nil {
		t.Fatalf("configuration %v: %v", env, err)
	}
	return cfg
}

// dial connects as `scanforge worker` does: dial, then describe the
// namespace.
func dial(t *testing.T, cfg config.Config) error {
	t.Helper()
	target, err := temporalconn.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := target.Dial(ctx, target.ClientOptions(slog.New(slog.NewTextHandler(io.Discard, nil)), nil))
	if err == nil {
		c.Close()
	}
	return err
}

// wantFailure checks that err is a permanent configuration error whose
// message holds want.
func wantFailure(t *testing.T, err error, permanent bool, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("connected; want an error saying %q", want)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error\n %v\ndoes not say\n %s", err, want)
	}
	if temporalconn.IsPermanent(err) != permanent {
		t.Errorf("permanent = %v, want %v: %v", !permanent, permanent, err)
	}
}

func testSecureConnections(t *testing.T, start startSecureServer) {
	ca := testcerts.NewCA(t, "scanforge-test-ca")
	unrelated := testcerts.NewCA(t, "unrelated-ca")

	t.Run("TLS", func(t *testing.T) {
		srv := start(t, ca, false)
		base := map[string]string{
			"TEMPORAL_ADDRESS":         srv.Address,
			"TEMPORAL_NAMESPACE":       srv.Namespace,
			"TEMPORAL_TLS_CA":          ca.File,
			"TEMPORAL_TLS_SERVER_NAME": serverName,
		}
		t.Run("custom CA and server name", func(t *testing.T) {
			if err := dial(t, load(t, base)); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("wrong CA", func(t *testing.T) {
			err := dial(t, load(t, with(base, "TEMPORAL_TLS_CA", unrelated.File)))
			wantFailure(t, err, true, "certificate signed by unknown authority; check TEMPORAL_TLS_CA ("+unrelated.File+" does not hold")
		})
		t.Run("system CAs", func(t *testing.T) {
			err := dial(t, load(t, with(base, "TEMPORAL_TLS_CA", "")))
			wantFailure(t, err, true, "certificate signed by unknown authority; check TEMPORAL_TLS_CA (unset")
		})
		t.Run("wrong server name", func(t *testing.T) {
			err := dial(t, load(t, with(base, "TEMPORAL_TLS_SERVER_NAME", "")))
			wantFailure(t, err, true, `the server's certificate is valid for temporal.test, not "127.0.0.1"; set TEMPORAL_TLS_SERVER_NAME`)
		})
		t.Run("wrong namespace", func(t *testing.T) {
			err := dial(t, load(t, with(base, "TEMPORAL_NAMESPACE", "no-such-namespace")))
			wantFailure(t, err, true, `namespace "no-such-namespace" not found on the Temporal server at `+srv.Address+
				": create it (temporal operator namespace create --namespace no-such-namespace")
		})
		t.Run("plaintext client", func(t *testing.T) {
			err := dial(t, load(t, map[string]string{"TEMPORAL_ADDRESS": srv.Address, "TEMPORAL_NAMESPACE": srv.Namespace}))
			wantFailure(t, err, true, "expects TLS: set TEMPORAL_TLS=true")
		})
	})

	t.Run("mTLS", func(t *testing.T) {
		srv := start(t, ca, true)
		client := ca.Client(t, "scanforge-worker")
		base := map[string]string{
			"TEMPORAL_ADDRESS":         srv.Address,
			"TEMPORAL_NAMESPACE":       srv.Namespace,
			"TEMPORAL_TLS_CA":          ca.File,
			"TEMPORAL_TLS_SERVER_NAME": serverName,
			"TEMPORAL_TLS_CERT":        client.Cert,
			"TEMPORAL_TLS_KEY":         client.Key,
		}
		t.Run("client certificate", func(t *testing.T) {
			if err := dial(t, load(t, base)); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("no client certificate", func(t *testing.T) {
			err := dial(t, load(t, with(base, "TEMPORAL_TLS_CERT", "", "TEMPORAL_TLS_KEY", "")))
			wantFailure(t, err, true, "it requires a client certificate (mTLS); set TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY")
		})
		t.Run("client certificate of another CA", func(t *testing.T) {
			stranger := unrelated.Client(t, "stranger")
			err := dial(t, load(t, with(base, "TEMPORAL_TLS_CERT", stranger.Cert, "TEMPORAL_TLS_KEY", stranger.Key)))
			wantFailure(t, err, true, "refused the client certificate of TEMPORAL_TLS_CERT")
		})
	})

	t.Run("not reachable", func(t *testing.T) {
		address := closedPort(t)
		err := dial(t, load(t, map[string]string{"TEMPORAL_ADDRESS": address, "TEMPORAL_TLS_CA": ca.File}))
		wantFailure(t, err, false, "Temporal at "+address+" is not reachable (yet)")
	})
}

// closedPort is a local address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	address := ln.Addr().String()
	ln.Close()
	return address
}

func with(m map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}
