package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/scanforge/scanforge/internal/devserver"
	"github.com/scanforge/scanforge/internal/testcerts"
)

// tlsStart is a production start against a Temporal server that requires
// TLS with certificates of its own CA: the configuration users get wrong.
type tlsStart struct {
	ca, unrelated *testcerts.CA
	temporal      *devserver.Server
}

const testServerName = "temporal.test"

func newTLSStart(t *testing.T) tlsStart {
	t.Helper()
	gin.SetMode(gin.ReleaseMode) // as run does
	ca := testcerts.NewCA(t, "scanforge-test-ca")
	cert := ca.Server(t, "frontend", testServerName)
	srv, err := devserver.Start(context.Background(), devserver.Options{
		Namespace: "scanforge",
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		TLS:       &devserver.TLS{CertFile: cert.Cert, KeyFile: cert.Key, CAFile: ca.File, ServerName: testServerName},
	})
	if err != nil {
		t.Fatalf("start temporal with TLS: %v", err)
	}
	t.Cleanup(srv.Stop)

	// The app database: SQLite, migrated.
	t.Setenv("DATABASE_URL", "sqlite:"+filepath.Join(t.TempDir(), "app.db"))
	t.Setenv("SCANFORGE_ENCRYPTION_KEY", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
	t.Setenv("SCANFORGE_LOG_LEVEL", "error")
	// serve's spool, out of the source tree.
	t.Setenv("SCANFORGE_SPOOL_DIR", filepath.Join(t.TempDir(), "spool"))
	if err := runMigrate(context.Background(), io.Discard); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEMPORAL_ADDRESS", srv.FrontendAddress())
	t.Setenv("TEMPORAL_NAMESPACE", srv.Namespace())
	t.Setenv("TEMPORAL_TLS_CA", ca.File)
	t.Setenv("TEMPORAL_TLS_SERVER_NAME", testServerName)
	t.Setenv("SCANFORGE_METRICS_ADDR", freeAddress(t))
	return tlsStart{ca: ca, unrelated: testcerts.NewCA(t, "unrelated-ca"), temporal: srv}
}

func freeAddress(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// process is a command running in the test; done closes when it returns.
type process struct {
	done chan struct{}
	err  error
	stop context.CancelFunc
}

// start runs a command (runWorker, runServe) until the test ends.
func start(t *testing.T, run func(context.Context) error) *process {
	ctx, cancel := context.WithCancel(context.Background())
	p := &process{done: make(chan struct{}), stop: cancel}
	go func() { p.err = run(ctx); close(p.done) }()
	t.Cleanup(func() { cancel(); <-p.done })
	return p
}

// TestWorkerStopsOnConfigurationMistake: a mistake that waiting cannot fix
// stops the worker with its message instead of a retry loop; a server that
// is not there yet keeps it waiting; the right configuration makes it
// ready over TLS.
func TestWorkerStopsOnConfigurationMistake(t *testing.T) {
	s := newTLSStart(t)

	mistakes := []struct {
		name, variable, value, want string
	}{
		{"wrong CA", "TEMPORAL_TLS_CA", s.unrelated.File, "certificate signed by unknown authority; check TEMPORAL_TLS_CA"},
		{"wrong server name", "TEMPORAL_TLS_SERVER_NAME", "temporal.example.com", "set TEMPORAL_TLS_SERVER_NAME"},
		{"wrong namespace", "TEMPORAL_NAMESPACE", "scanforge-typo", `namespace "scanforge-typo" not found`},
	}
	for _, m := range mistakes {
		t.Run(m.name, func(t *testing.T) {
			t.Setenv(m.variable, m.value)
			worker := start(t, runWorker)
			select {
			case <-worker.done:
				if worker.err == nil || !strings.Contains(worker.err.Error(), m.want) {
					t.Errorf("worker stopped with %v; want a message saying %q", worker.err, m.want)
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("worker still running after 30 s; want it to stop saying %q", m.want)
			}
		})
	}

	t.Run("not reachable yet", func(t *testing.T) {
		t.Setenv("TEMPORAL_ADDRESS", freeAddress(t))
		worker := start(t, runWorker)
		select {
		case <-worker.done:
			t.Fatalf("worker stopped (%v) while Temporal is not up; want it to wait", worker.err)
		case <-time.After(3 * time.Second):
		}
		worker.stop()
		<-worker.done
		if worker.err != nil {
			t.Errorf("stopped waiting worker: %v", worker.err)
		}
	})

	t.Run("right configuration", func(t *testing.T) {
		worker := start(t, runWorker)
		waitReady(t, "http://"+mustGetenv(t, "SCANFORGE_METRICS_ADDR")+"/readyz", worker, http.StatusOK, func(checks map[string]string) bool {
			return checks["temporal"] == "ok"
		})
	})
}

// TestServeReportsConfigurationMistake: serve keeps redirecting while
// Temporal is misconfigured, and /readyz says what is wrong.
func TestServeReportsConfigurationMistake(t *testing.T) {
	newTLSStart(t)
	t.Setenv("TEMPORAL_NAMESPACE", "scanforge-typo")
	addr := freeAddress(t)
	t.Setenv("SCANFORGE_HTTP_ADDR", addr)
	serve := start(t, runServe)

	var checks map[string]string
	waitReady(t, "http://"+addr+"/readyz", serve, http.StatusServiceUnavailable, func(c map[string]string) bool {
		checks = c
		return c["temporal"] == "misconfigured"
	})
	if !strings.Contains(checks["temporal_error"], `namespace "scanforge-typo" not found`) || checks["database"] != "ok" {
		t.Errorf("/readyz = %v; want the namespace named as the problem", checks)
	}
}

// waitReady polls url until it answers status with checks that ok accepts.
func waitReady(t *testing.T, url string, p *process, status int, ok func(map[string]string) bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	last := ""
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			t.Fatalf("stopped: %v", p.err)
		default:
		}
		resp, err := http.Get(url)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			last = resp.Status + " " + string(body)
			var checks map[string]string
			if resp.StatusCode == status && json.Unmarshal(body, &checks) == nil && ok(checks) {
				return
			}
		} else if !errors.Is(err, context.Canceled) {
			last = err.Error()
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: last answer %s", url, last)
}

func mustGetenv(t *testing.T, name string) string {
	t.Helper()
	v := strings.TrimSpace(os.Getenv(name))
	if v == "" {
		t.Fatalf("%s unset", name)
	}
	return v
}
