package faults

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/scanforge/scanforge/internal/devserver"
	"github.com/scanforge/scanforge/internal/temporalproc"
	"github.com/scanforge/scanforge/models"
)

const (
	appDatabase = "scanforge"
	codeSlug    = "faults"
	// deliveryTimeout is short so that the hanging receiver costs little;
	// retries are quick so that a recovery drains in seconds.
	deliveryTimeout = 5 * time.Second
)

// stack is the production shape as processes: a private PostgreSQL with
// the app and Temporal databases, the official Temporal server, two serve
// and two worker processes, the receiver, and proxies that can cut the
// workers from Temporal and the serves from PostgreSQL.
type stack struct {
	opts     Options
	dir      string
	logs     io.Writer
	pg       *postgres
	temporal *temporalproc.Server
	// workerTemporal carries worker → Temporal, servePostgres serve →
	// PostgreSQL.
	workerTemporal, servePostgres *proxy
	serves, workers               []*process
	rcv                           *receiver
	balancer                      *balancer
	db                            *gorm.DB // the app database, for counting scans
}

func (s *stack) progress(format string, args ...any) {
	fmt.Fprintf(s.opts.Progress, "[%s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// startStack builds what it needs and starts everything; close undoes it.
func startStack(ctx context.Context, opts Options) (s *stack, err error) {
	s = &stack{opts: opts}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if s.dir, err = os.MkdirTemp("", "scanforge-faults-"); err != nil {
		return s, err
	}
	logPath := filepath.Join(s.dir, "processes.log")
	if opts.LogDir != "" {
		if err := os.MkdirAll(opts.LogDir, 0o755); err != nil {
			return s, err
		}
		logPath = filepath.Join(opts.LogDir, "processes.log")
	}
	f, err := os.Create(logPath)
	if err != nil {
		return s, err
	}
	s.logs = f
	s.progress("process logs: %s", logPath)

	exe := opts.Scanforge
	if exe == "" {
		s.progress("building scanforge")
		exe = filepath.Join(s.dir, "scanforge")
		cmd := exec.CommandContext(ctx, "go", "build", "-o", exe, "./cmd/scanforge")
		cmd.Dir = opts.ProjectDir
		if out, err := cmd.CombinedOutput(); err != nil {
			return s, fmt.Errorf("go build ./cmd/scanforge: %w\n%s", err, out)
		}
	}
	s.progress("building (or finding) temporal-server")
	bins, err := temporalproc.Build(ctx, temporalproc.BuildOptions{ProjectDir: opts.ProjectDir, CacheDir: opts.CacheDir, Logs: opts.Progress})
	if err != nil {
		return s, err
	}

	s.progress("starting a private PostgreSQL cluster")
	if s.pg, err = startPostgres(ctx); err != nil {
		return s, err
	}
	s.progress("creating the Temporal databases (temporal-sql-tool)")
	tOpts := temporalproc.Options{
		Binaries: bins, Dir: filepath.Join(s.dir, "temporal"),
		Postgres:      temporalproc.Postgres{Port: s.pg.port},
		RestartOnExit: true, // as systemd would
		Logs:          s.logs,
	}
	if err := os.MkdirAll(tOpts.Dir, 0o755); err != nil {
		return s, err
	}
	if err := temporalproc.SetupDatabases(ctx, tOpts); err != nil {
		return s, err
	}
	s.progress("starting temporal-server %s", bins.Version)
	if s.temporal, err = temporalproc.Start(ctx, tOpts); err != nil {
		return s, err
	}
	if err := s.pg.createDatabase(ctx, appDatabase); err != nil {
		return s, err
	}
	if s.workerTemporal, err = startProxy(s.temporal.FrontendAddress()); err != nil {
		return s, err
	}
	if s.servePostgres, err = startProxy("127.0.0.1:" + strconv.Itoa(s.pg.port)); err != nil {
		return s, err
	}
	if s.db, err = models.Open(s.pg.URL(appDatabase)); err != nil {
		return s, err
	}

	key := make([]byte, 32)
	_, _ = rand.Read(key)
	common := append(cleanEnv(),
		"SCANFORGE_ENCRYPTION_KEY="+base64.StdEncoding.EncodeToString(key),
		"TEMPORAL_NAMESPACE="+s.temporal.Namespace(),
		"SCANFORGE_ALLOW_PRIVATE_NETWORKS=true",
		"SCANFORGE_DELIVERY_TIMEOUT="+deliveryTimeout.String(),
		"SCANFORGE_RETRY_INITIAL=1s",
		"SCANFORGE_RETRY_MAX=10s",
		"SCANFORGE_LOG_LEVEL=warn",
	)
	migrateEnv := append(common[:len(common):len(common)], "DATABASE_URL="+s.pg.URL(appDatabase))
	if out, err := runOnce(ctx, exe, migrateEnv, "migrate"); err != nil {
		return s, fmt.Errorf("scanforge migrate: %w\n%s", err, out)
	}
	out, err := runOnce(ctx, exe, migrateEnv, "workspace", "create", "faults")
	if err != nil {
		return s, fmt.Errorf("scanforge workspace create: %w\n%s", err, out)
	}
	m := regexp.MustCompile(`API key\s+(\S+)`).FindSubmatch(out)
	if m == nil {
		return s, fmt.Errorf("scanforge workspace create printed no API key:\n%s", out)
	}
	apiKey := string(m[1])

	var targets []string
	for i := range 2 {
		port, err := devserver.FreePort()
		if err != nil {
			return s, err
		}
		addr := "127.0.0.1:" + strconv.Itoa(port)
		s.serves = append(s.serves, &process{
			name: fmt.Sprintf("serve-%d", i+1), exe: exe, args: []string{"serve"}, logs: s.logs,
			health: "http://" + addr + "/healthz",
			env: append(common[:len(common):len(common)],
				"DATABASE_URL=postgres://postgres@"+s.servePostgres.addr()+"/"+appDatabase+"?sslmode=disable",
				"TEMPORAL_ADDRESS="+s.temporal.FrontendAddress(),
				"SCANFORGE_HTTP_ADDR="+addr,
				"SCANFORGE_PUBLIC_URL=http://"+addr,
				// Each replica keeps its own spool, which outlives its restarts.
				"SCANFORGE_SPOOL_DIR="+filepath.Join(s.dir, fmt.Sprintf("spool-serve-%d", i+1)),
			),
		})
		targets = append(targets, "http://"+addr)
	}
	for i := range 2 {
		port, err := devserver.FreePort()
		if err != nil {
			return s, err
		}
		addr := "127.0.0.1:" + strconv.Itoa(port)
		s.workers = append(s.workers, &process{
			name: fmt.Sprintf("worker-%d", i+1), exe: exe, args: []string{"worker"}, logs: s.logs,
			health: "http://" + addr + "/healthz",
			env: append(common[:len(common):len(common)],
				"DATABASE_URL="+s.pg.URL(appDatabase),
				"TEMPORAL_ADDRESS="+s.workerTemporal.addr(),
				"SCANFORGE_METRICS_ADDR="+addr,
			),
		})
	}
	s.progress("starting 2 serve and 2 worker processes")
	for _, p := range append(s.serves[:len(s.serves):len(s.serves)], s.workers...) {
		if err := p.start(ctx); err != nil {
			return s, err
		}
	}
	s.balancer = newBalancer(targets)

	if s.rcv, err = newReceiver(opts.Sizes.FailEvery); err != nil {
		return s, err
	}
	secret, err := s.createEndpoint(ctx, targets[0], apiKey)
	if err != nil {
		return s, err
	}
	s.rcv.setSecret(secret)
	return s, nil
}

// createEndpoint creates the code every scan opens and the receiver's
// endpoint through the API, and returns the endpoint's signing secret.
func (s *stack) createEndpoint(ctx context.Context, base, apiKey string) (string, error) {
	var code struct{ ID string }
	if err := apiPost(ctx, base, apiKey, "/api/v1/codes", map[string]any{
		"slug": codeSlug, "name": "fault suite", "destination_url": "https://example.com/landing",
	}, &code); err != nil {
		return "", err
	}
	var ep struct{ Secret string }
	if err := apiPost(ctx, base, apiKey, "/api/v1/endpoints", map[string]any{
		"url": s.rcv.url(), "code_ids": []string{code.ID},
	}, &ep); err != nil {
		return "", err
	}
	return ep.Secret, nil
}

func apiPost(ctx context.Context, base, apiKey, path string, body, out any) error {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+apiKey)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("POST %s: %w", path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusCreated && res.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: %s: %s", path, res.Status, raw)
	}
	return json.Unmarshal(raw, out)
}

// cleanEnv is this process's environment without ScanForge's and
// Temporal's variables, which the suite sets itself.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "SCANFORGE_") || strings.HasPrefix(kv, "TEMPORAL_") || strings.HasPrefix(kv, "DATABASE_URL=") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

func runOnce(ctx context.Context, exe string, env []string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = env
	return cmd.CombinedOutput()
}

// healthy waits until every process answers its health check (after a
// fault, supervised restarts may still be under way).
func (s *stack) healthy(ctx context.Context) error {
	for _, p := range append(s.serves[:len(s.serves):len(s.serves)], s.workers...) {
		if err := p.waitHealthy(ctx, 2*time.Minute); err != nil {
			return err
		}
	}
	return nil
}

func (s *stack) unexpectedExits() int {
	n := s.temporal.UnexpectedExits()
	for _, p := range append(s.serves[:len(s.serves):len(s.serves)], s.workers...) {
		n += p.unexpectedExits()
	}
	return n
}

// recorded counts the scans in the app database whose referrer starts
// with prefix.
func (s *stack) recorded(ctx context.Context, prefix string) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&models.Scan{}).Where("referrer LIKE ?", prefix+"%").Count(&n).Error
	return n, err
}

func (s *stack) close() {
	for _, p := range append(s.serves[:len(s.serves):len(s.serves)], s.workers...) {
		p.stop()
	}
	if s.rcv != nil {
		s.rcv.close()
	}
	if s.db != nil {
		if sqlDB, err := s.db.DB(); err == nil {
			sqlDB.Close()
		}
	}
	for _, p := range []*proxy{s.workerTemporal, s.servePostgres} {
		if p != nil {
			p.close()
		}
	}
	if s.temporal != nil {
		s.temporal.Stop()
	}
	if s.pg != nil {
		s.pg.close()
	}
	if c, ok := s.logs.(io.Closer); ok {
		c.Close()
	}
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}
