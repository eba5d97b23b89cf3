package bench

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/scanforge/scanforge/internal/devserver"
	"github.com/scanforge/scanforge/internal/procstat"
	"github.com/scanforge/scanforge/internal/temporalproc"
	"github.com/scanforge/scanforge/models"
)

// The production shape as processes on this machine: the official Temporal
// server (temporal-server, built from the pinned go.temporal.io/server) on
// the local PostgreSQL, `scanforge serve` and `scanforge worker` (this
// project's binary, built for the run), the app database on PostgreSQL.
// The two stacks differ only in where the outbox is drained.
const (
	StackProduction            = "production"              // outbox drained by the worker (the default)
	StackProductionServeOutbox = "production-serve-outbox" // outbox drained by serve, as before
)

func isProduction(name string) bool {
	return name == StackProduction || name == StackProductionServeOutbox
}

// productionScenarios are the scenarios that need no control server inside
// the system under test.
var productionScenarios = []string{ScenarioWebhook, ScenarioBurst, ScenarioFanout}

// startProduction starts the production shape and returns the serve process
// as the child the scenarios talk to; the worker, the Temporal server and
// PostgreSQL count as its parts. cleanup stops everything and drops the
// run's databases.
func startProduction(ctx context.Context, opts Options, name string) (c *child, desc string, cleanup func(), err error) {
	var undo []func()
	cleanup = func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	defer func() {
		if err != nil {
			cleanup()
		}
	}()
	progress := func(format string, args ...any) {
		fmt.Fprintf(opts.Progress, "[%s %s] %s\n", time.Now().Format("15:04:05"), name, fmt.Sprintf(format, args...))
	}
	dir, err := os.MkdirTemp("", "scanforge-bench-prod-")
	if err != nil {
		return nil, "", cleanup, err
	}
	undo = append(undo, func() { os.RemoveAll(dir) })

	exe := opts.Scanforge
	if exe == "" {
		progress("building scanforge")
		exe = filepath.Join(dir, "scanforge")
		cmd := exec.CommandContext(ctx, "go", "build", "-o", exe, "./cmd/scanforge")
		cmd.Dir = opts.ProjectDir
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, "", cleanup, fmt.Errorf("go build ./cmd/scanforge: %w\n%s", err, out)
		}
	}
	progress("building (or finding) temporal-server")
	bins, err := temporalproc.Build(ctx, temporalproc.BuildOptions{ProjectDir: opts.ProjectDir, Logs: opts.ChildLogs})
	if err != nil {
		return nil, "", cleanup, err
	}

	pg, err := url.Parse(opts.PostgresURL)
	if err != nil {
		return nil, "", cleanup, fmt.Errorf("postgres URL: %w", err)
	}
	admin, err := models.Open(opts.PostgresURL)
	if err != nil {
		return nil, "", cleanup, fmt.Errorf("postgres: %w", err)
	}
	if sqlDB, err := admin.DB(); err == nil {
		undo = append(undo, func() { sqlDB.Close() })
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	sfx := hex.EncodeToString(b)
	appDB, temporalDB, visibilityDB := "bench_app_"+sfx, "bench_temporal_"+sfx, "bench_visibility_"+sfx
	undo = append(undo, func() {
		for _, db := range []string{appDB, temporalDB, visibilityDB} {
			admin.Exec("DROP DATABASE IF EXISTS " + db + " WITH (FORCE)")
		}
	})

	port, _ := strconv.Atoi(pg.Port())
	password, _ := pg.User.Password()
	tOpts := temporalproc.Options{
		Binaries: bins, Dir: filepath.Join(dir, "temporal"),
		Postgres:           temporalproc.Postgres{Host: pg.Hostname(), Port: port, User: pg.User.Username(), Password: password},
		Database:           temporalDB,
		VisibilityDatabase: visibilityDB,
		Logs:               opts.ChildLogs,
	}
	if err := os.MkdirAll(tOpts.Dir, 0o755); err != nil {
		return nil, "", cleanup, err
	}
	progress("creating the Temporal databases (temporal-sql-tool)")
	if err := temporalproc.SetupDatabases(ctx, tOpts); err != nil {
		return nil, "", cleanup, err
	}
	progress("starting temporal-server %s", bins.Version)
	temporal, err := temporalproc.Start(ctx, tOpts)
	if err != nil {
		return nil, "", cleanup, err
	}
	undo = append(undo, temporal.Stop)

	if err := admin.Exec("CREATE DATABASE " + appDB).Error; err != nil {
		return nil, "", cleanup, fmt.Errorf("postgres: create database: %w", err)
	}
	appURL := *pg
	appURL.Path = "/" + appDB

	key := make([]byte, 32)
	_, _ = rand.Read(key)
	outboxIn := "worker"
	if name == StackProductionServeOutbox {
		outboxIn = "serve"
	}
	common := append(withoutOurVariables(os.Environ()),
		"DATABASE_URL="+appURL.String(),
		"SCANFORGE_ENCRYPTION_KEY="+base64.StdEncoding.EncodeToString(key),
		"TEMPORAL_ADDRESS="+temporal.FrontendAddress(),
		"TEMPORAL_NAMESPACE="+temporal.Namespace(),
		"SCANFORGE_ALLOW_PRIVATE_NETWORKS=true",
		"SCANFORGE_API_RATE_LIMIT=0",
		"SCANFORGE_LOG_LEVEL=warn",
		"SCANFORGE_OUTBOX_IN="+outboxIn,
	)
	migrate := exec.CommandContext(ctx, exe, "migrate")
	migrate.Env = common
	if out, err := migrate.CombinedOutput(); err != nil {
		return nil, "", cleanup, fmt.Errorf("scanforge migrate: %w\n%s", err, out)
	}
	ws := exec.CommandContext(ctx, exe, "workspace", "create", "bench")
	ws.Env = common
	out, err := ws.CombinedOutput()
	if err != nil {
		return nil, "", cleanup, fmt.Errorf("scanforge workspace create: %w\n%s", err, out)
	}
	m := regexp.MustCompile(`API key\s+(\S+)`).FindSubmatch(out)
	if m == nil {
		return nil, "", cleanup, fmt.Errorf("scanforge workspace create printed no API key:\n%s", out)
	}

	servePort, err := devserver.FreePort()
	if err != nil {
		return nil, "", cleanup, err
	}
	workerPort, err := devserver.FreePort()
	if err != nil {
		return nil, "", cleanup, err
	}
	serveAddr := "127.0.0.1:" + strconv.Itoa(servePort)
	workerAddr := "127.0.0.1:" + strconv.Itoa(workerPort)
	progress("starting scanforge serve and worker (outbox drained by %s)", outboxIn)
	worker, err := startProcess(exe, "worker", append(common, "SCANFORGE_METRICS_ADDR="+workerAddr), opts.ChildLogs)
	if err != nil {
		return nil, "", cleanup, err
	}
	undo = append(undo, func() { _ = worker.stop() })
	serve, err := startProcess(exe, "serve", append(common,
		"SCANFORGE_HTTP_ADDR="+serveAddr,
		"SCANFORGE_PUBLIC_URL=http://"+serveAddr,
		"SCANFORGE_SPOOL_DIR="+filepath.Join(dir, "spool"),
	), opts.ChildLogs)
	if err != nil {
		return nil, "", cleanup, err
	}
	undo = append(undo, func() { _ = serve.stop() })
	for _, h := range []string{"http://" + workerAddr + "/healthz", "http://" + serveAddr + "/healthz"} {
		if err := waitHealthy(ctx, h, 2*time.Minute); err != nil {
			return nil, "", cleanup, err
		}
	}
	serve.info = ready{HTTP: "http://" + serveAddr, APIKey: string(m[1])}
	serve.parts = []part{{"worker", worker.pid}, {"temporal", temporal.PID}}
	serve.databaseCPU = procstat.PostgresCPU
	desc = fmt.Sprintf("scanforge serve + worker (outbox drained by %s), temporal-server %s, all on PostgreSQL", outboxIn, bins.Version)
	return serve, desc, cleanup, nil
}

// startProcess runs exe with one argument (a scanforge command).
func startProcess(exe, command string, env []string, logs io.Writer) (*child, error) {
	cmd := exec.Command(exe, command)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start scanforge %s: %w", command, err)
	}
	c := &child{cmd: cmd, done: make(chan error, 1)}
	go func() { c.done <- cmd.Wait() }()
	return c, nil
}

// waitHealthy waits until url answers 200.
func waitHealthy(ctx context.Context, url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := http.Client{Timeout: 2 * time.Second}
	for {
		res, err := client.Get(url)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not healthy after %s (last: %v)", url, timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// withoutOurVariables is env without ScanForge's and Temporal's variables,
// which the run sets itself.
func withoutOurVariables(env []string) []string {
	var out []string
	for _, kv := range env {
		if strings.HasPrefix(kv, "SCANFORGE_") || strings.HasPrefix(kv, "TEMPORAL_") || strings.HasPrefix(kv, "DATABASE_URL=") {
			continue
		}
		out = append(out, kv)
	}
	return out
}
