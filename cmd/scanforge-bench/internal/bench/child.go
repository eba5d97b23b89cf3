package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/sdk/worker"

	"github.com/scanforge/scanforge/internal/app"
	"github.com/scanforge/scanforge/internal/config"
	"github.com/scanforge/scanforge/internal/secretbox"
	"github.com/scanforge/scanforge/models"
	"github.com/scanforge/scanforge/workflows"
)

// RoleEnv names the role a re-executed benchmark binary plays. The
// benchmark runs every system under test as a child process of its own
// binary (the load generator stays out of the measured process, and each
// process's peak RSS is its own); main and TestMain check it first.
const RoleEnv = "SCANFORGE_BENCH_ROLE"

// Roles of a child process.
const (
	roleStack = "stack" // ScanForge dev: embedded Temporal, app DB, API, outbox, worker
	roleBare  = "bare"  // a Gin handler that only answers 302
)

// DynamicConfigEnv lets an experiment override the embedded Temporal
// server's dynamic config in the stack process: "key=value,key=value"
// (true/false, integers and other text).
const DynamicConfigEnv = "SCANFORGE_BENCH_DYNAMIC_CONFIG"

// RevisionEnv sets the delivery workflow revision a stack process starts
// deliveries with (Options.Revisions); unset: the current one.
const RevisionEnv = "SCANFORGE_BENCH_REVISION"

func dynamicConfigOverrides(spec string) map[string]any {
	if spec == "" {
		return nil
	}
	out := map[string]any{}
	for _, kv := range strings.Split(spec, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		if b, err := strconv.ParseBool(v); err == nil {
			out[k] = b
		} else if n, err := strconv.Atoi(v); err == nil {
			out[k] = n
		} else {
			out[k] = v
		}
	}
	return out
}

// bareDestination is where the bare handler redirects.
const bareDestination = "https://shop.example.com/spring"

// ready is the one JSON line a child prints on stdout once it serves.
type ready struct {
	HTTP        string `json:"http"`
	Control     string `json:"control,omitempty"`
	Floor       string `json:"floor,omitempty"` // the durable floor (floor.go)
	APIKey      string `json:"api_key,omitempty"`
	WorkspaceID string `json:"workspace_id,omitempty"`
	StartupMS   int64  `json:"startup_ms,omitempty"`
}

// RunChild plays role until its stdin closes (the parent stopped or died)
// or it gets SIGINT/SIGTERM.
func RunChild(role string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	gin.SetMode(gin.ReleaseMode)
	switch role {
	case roleStack:
		return runStack(ctx, os.Stdout, os.Getenv)
	case roleBare:
		return runBare(ctx, os.Stdout)
	default:
		return fmt.Errorf("unknown benchmark role %q", role)
	}
}

func announce(w io.Writer, r ready) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// runBare serves the baseline: gin's router and a handler answering 302,
// nothing else.
func runBare(ctx context.Context, stdout io.Writer) error {
	r := gin.New()
	r.GET("/q/:slug", func(c *gin.Context) { c.Redirect(http.StatusFound, bareDestination) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go func() { <-ctx.Done(); _ = srv.Close() }()
	if err := announce(stdout, ready{HTTP: "http://" + ln.Addr().String()}); err != nil {
		return err
	}
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// runStack runs ScanForge as `scanforge dev` does (app.StartDev: the
// embedded Temporal server on a SQLite file in the data directory with the
// UI, the app database of DATABASE_URL, default a SQLite file next to it;
// then the dev App). Beside it run a worker for the minimal workflow and a
// control server for the harness.
func runStack(ctx context.Context, stdout io.Writer, getenv func(string) string) error {
	started := time.Now()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	temporalPort, err := freePort()
	if err != nil {
		return err
	}
	uiPort, err := freePort()
	if err != nil {
		return err
	}
	overrides := map[string]string{
		"SCANFORGE_HTTP_ADDR":     ln.Addr().String(),
		"SCANFORGE_TEMPORAL_PORT": strconv.Itoa(temporalPort),
		"SCANFORGE_UI_PORT":       strconv.Itoa(uiPort),
	}
	cfg, err := config.Load(config.ModeDev, func(k string) string {
		if v, ok := overrides[k]; ok {
			return v
		}
		return getenv(k)
	})
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return err
	}

	// Endpoint secrets are stored encrypted; the data directory is fresh
	// for every run, so a key for this run is enough.
	key := cfg.EncryptionKey
	if key == nil {
		if key, err = secretbox.NewKey(); err != nil {
			return err
		}
	}
	box, err := secretbox.New(key)
	if err != nil {
		return err
	}
	stack, err := app.StartDev(ctx, app.DevOptions{
		Config: cfg, Logger: logger,
		StoreOptions:  []models.StoreOption{models.WithSecretBox(box)},
		DynamicConfig: dynamicConfigOverrides(getenv(DynamicConfigEnv)),
	})
	if err != nil {
		return err
	}
	defer stack.Close()
	store, tc := stack.Store, stack.Client
	ws, err := store.CreateWorkspace(ctx, "bench")
	if err != nil {
		return err
	}
	_, apiKey, err := store.CreateAPIKey(ctx, ws.ID, "bench")
	if err != nil {
		return err
	}

	// The minimal workflow's worker polls as the delivery worker does.
	minimal := worker.New(tc, minimalTaskQueue, worker.Options{
		MaxConcurrentWorkflowTaskPollers: cfg.WorkerPollers,
		MaxConcurrentActivityTaskPollers: cfg.WorkerPollers,
	})
	registerMinimal(minimal)
	if err := minimal.Start(); err != nil {
		return fmt.Errorf("minimal worker: %w", err)
	}
	defer minimal.Stop()

	revision := workflows.CurrentRevision
	if v := getenv(RevisionEnv); v != "" {
		if revision, err = strconv.Atoi(v); err != nil || !workflows.ValidRevision(revision) {
			return fmt.Errorf("%s=%q: not a delivery workflow revision (0–%d)", RevisionEnv, v, workflows.CurrentRevision)
		}
	}
	ctl := &control{store: store, temporal: tc, cfg: cfg, workspaceID: ws.ID, revision: revision}
	ctlLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	ctlSrv := &http.Server{Handler: ctl.routes(), ReadHeaderTimeout: 10 * time.Second}
	go ctlSrv.Serve(ctlLn)
	defer ctlSrv.Close()

	floorLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	floorCtx, stopFloor := context.WithCancel(ctx)
	floorDone := make(chan struct{})
	go func() { newFloor(store, stack.Metrics).serve(floorCtx, floorLn); close(floorDone) }()
	defer func() { stopFloor(); <-floorDone }()

	a := stack.App(cfg, logger)
	a.DeliveryRevision = revision
	runDone := make(chan error, 1)
	go func() { runDone <- a.Run(ctx, ln) }()
	if err := announce(stdout, ready{
		HTTP:        "http://" + ln.Addr().String(),
		Control:     "http://" + ctlLn.Addr().String(),
		Floor:       "http://" + floorLn.Addr().String(),
		APIKey:      apiKey,
		WorkspaceID: ws.ID,
		StartupMS:   time.Since(started).Milliseconds(),
	}); err != nil {
		return err
	}
	return <-runDone
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// readReady reads a child's ready line.
func readReady(r *bufio.Reader) (ready, error) {
	line, err := r.ReadBytes('\n')
	if err != nil {
		return ready{}, fmt.Errorf("child ended before it was ready: %w", err)
	}
	var out ready
	if err := json.Unmarshal(line, &out); err != nil {
		return ready{}, fmt.Errorf("child's ready line %q: %w", line, err)
	}
	return out, nil
}
