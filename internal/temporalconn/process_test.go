package temporalconn_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scanforge/scanforge/internal/temporalproc"
	"github.com/scanforge/scanforge/internal/testcerts"
	"github.com/scanforge/scanforge/internal/testdb"
)

// TestSecureConnectionsProcess runs the secure-connection cases against the
// official Temporal server as a process (the production shape), configured
// with TLS the way an operator would: global.tls in its YAML.
func TestSecureConnectionsProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds and runs the official Temporal server")
	}
	testSecureConnections(t, startProcess)
}

// startProcess starts temporal-server on two fresh databases of the test
// PostgreSQL, its frontend and system worker on certificates signed by ca.
func startProcess(t *testing.T, ca *testcerts.CA, requireClientAuth bool) secureServer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	projectDir, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	bins, err := temporalproc.Build(ctx, temporalproc.BuildOptions{ProjectDir: projectDir, Logs: &logs})
	if err != nil {
		t.Fatalf("build the Temporal server: %v\n%s", err, logs.String())
	}

	frontend := ca.Server(t, "frontend", serverName)
	system := ca.Client(t, "temporal-system")
	clientTLS := map[string]any{"serverName": serverName, "rootCaFiles": []string{ca.File}}
	pg := testdb.NewTemporalDatabases(t, "tconn")
	opts := temporalproc.Options{
		Binaries: bins, Dir: t.TempDir(),
		Postgres: temporalproc.Postgres{Host: pg.Host, Port: pg.Port, User: pg.User, Password: pg.Password},
		Database: pg.Names[0], VisibilityDatabase: pg.Names[1],
		Namespace: "scanforge",
		Logs:      &logs,
		EditConfig: func(conf map[string]any) error {
			global, _ := conf["global"].(map[string]any)
			if global == nil {
				global = map[string]any{}
				conf["global"] = global
			}
			server := map[string]any{"certFile": frontend.Cert, "keyFile": frontend.Key}
			if requireClientAuth {
				server["requireClientAuth"] = true
				server["clientCaFiles"] = []string{ca.File}
			}
			global["tls"] = map[string]any{
				"frontend": map[string]any{"server": server, "client": clientTLS},
				"systemWorker": map[string]any{
					"certFile": system.Cert, "keyFile": system.Key, "client": clientTLS,
				},
			}
			return nil
		},
		ClientTLS: startClientTLS(t, ca, system, requireClientAuth),
	}
	if err := temporalproc.SetupDatabases(ctx, opts); err != nil {
		t.Fatalf("schema: %v\n%s", err, logs.String())
	}
	srv, err := temporalproc.Start(ctx, opts)
	if err != nil {
		t.Fatalf("start the Temporal server with TLS: %v\n%s", err, lastLines(logs.String()))
	}
	t.Cleanup(srv.Stop)
	return secureServer{Address: srv.FrontendAddress(), Namespace: srv.Namespace()}
}

// startClientTLS is what temporalproc.Start's own client (health check,
// namespace registration) dials with.
func startClientTLS(t *testing.T, ca *testcerts.CA, cert testcerts.Files, withCert bool) *tls.Config {
	t.Helper()
	pem, err := os.ReadFile(ca.File)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	cfg := &tls.Config{RootCAs: pool, ServerName: serverName, MinVersion: tls.VersionTLS12}
	if withCert {
		pair, err := tls.LoadX509KeyPair(cert.Cert, cert.Key)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg
}

func lastLines(s string) string {
	if len(s) > 6000 {
		return s[len(s)-6000:]
	}
	return s
}
