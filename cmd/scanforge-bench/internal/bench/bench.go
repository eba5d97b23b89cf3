// Package bench is ScanForge's benchmark harness: it runs the product as a
// subprocess (the same assembly as `scanforge dev`, with the app database on
// SQLite or PostgreSQL) next to a bare Gin 302 handler, drives both from
// this process over loopback, receives and verifies the webhooks, and
// reports figures and ratios against the performance targets. Every figure
// that is compared is measured in the same run on the same machine.
package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/scanforge/scanforge/models"
)

// Stacks the harness knows.
const (
	StackSQLite   = "sqlite"
	StackPostgres = "postgres"
)

// Sizes are the amounts of load of a run.
type Sizes struct {
	Warmup int `json:"warmup"` // requests to each target before measuring

	// Scenario 1: redirects.
	RedirectRequests int `json:"redirect_requests"`
	// RedirectConcurrencies are the closed-loop concurrencies each round
	// runs every side at; a side's capacity is its best over all of them.
	RedirectConcurrencies []int   `json:"redirect_concurrencies"`
	Rounds                int     `json:"rounds"` // alternating bare/floor/ours rounds; the best of each counts
	FixedRate             float64 `json:"fixed_rate"`
	FixedRateRequests     int     `json:"fixed_rate_requests"`

	// Scenario 2: scan → webhook at a fixed scan rate.
	ScanRate float64 `json:"scan_rate"`
	Scans    int     `json:"scans"`

	// Scenario 3: delivery workflow vs minimal workflow.
	Workflows           int `json:"workflows"`
	WorkflowConcurrency int `json:"workflow_concurrency"`

	// Scenario 4: burst.
	Burst            int `json:"burst"`
	BurstConcurrency int `json:"burst_concurrency"`

	// Scenario 5: fan-out burst, FanoutBurst scans each to FanoutEndpoints.
	FanoutBurst     int `json:"fanout_burst"`
	FanoutEndpoints int `json:"fanout_endpoints"`

	// IdleTimeout gives up waiting for webhooks when none arrived for this long.
	IdleTimeout time.Duration `json:"idle_timeout"`
}

// FullSizes is the documented full run (scenario 4 at 10,000 scans).
func FullSizes() Sizes {
	return Sizes{
		Warmup: 500, RedirectRequests: 20000, RedirectConcurrencies: []int{32, 64, 128, 256}, Rounds: 4,
		FixedRate: 1000, FixedRateRequests: 10000,
		ScanRate: 20, Scans: 600,
		Workflows: 500, WorkflowConcurrency: 16,
		Burst: 10000, BurstConcurrency: 64,
		FanoutBurst: 10000, FanoutEndpoints: 4,
		IdleTimeout: time.Minute,
	}
}

// ShortSizes is the quick run: every scenario, smaller (under 3 minutes).
func ShortSizes() Sizes {
	return Sizes{
		Warmup: 200, RedirectRequests: 5000, RedirectConcurrencies: []int{32, 128}, Rounds: 1,
		FixedRate: 1000, FixedRateRequests: 3000,
		ScanRate: 20, Scans: 100,
		Workflows: 100, WorkflowConcurrency: 16,
		Burst: 500, BurstConcurrency: 64,
		FanoutBurst: 200, FanoutEndpoints: 4,
		IdleTimeout: 30 * time.Second,
	}
}

// SmokeSizes checks that the harness works end to end, nothing more.
func SmokeSizes() Sizes {
	return Sizes{
		Warmup: 5, RedirectRequests: 50, RedirectConcurrencies: []int{2, 4}, Rounds: 1,
		FixedRate: 100, FixedRateRequests: 20,
		ScanRate: 20, Scans: 20,
		Workflows: 10, WorkflowConcurrency: 4,
		Burst: 30, BurstConcurrency: 8,
		FanoutBurst: 10, FanoutEndpoints: 4,
		IdleTimeout: 30 * time.Second,
	}
}

// Options configure Run.
type Options struct {
	Mode        string   // name shown in the report ("short", "full", …)
	Sizes       Sizes    //
	Stacks      []string // StackSQLite and/or StackPostgres
	Scenarios   []string // the Scenario… names to run; empty: all
	PostgresURL string   // database in which a schema per run is created
	// Executable is the binary re-run as the children; it must call RunChild
	// when RoleEnv is set. Default: os.Executable().
	Executable string
	Command    string // the command line, for the report
	ProfileDir string // if set, a CPU profile of the stack process per scenario goes here
	// ProjectDir is this project's checkout: the production stacks build
	// scanforge and temporal-server from it. Scanforge, if set, is a
	// scanforge binary to use instead of building one.
	ProjectDir, Scanforge string
	// Revisions, when set, runs every stack once per delivery workflow
	// revision listed, in ABBA order (then again RevisionRounds times),
	// each in a fresh stack process starting its deliveries with that
	// revision: old and new designs side by side in one run.
	Revisions      []int
	RevisionRounds int       // default 1: A B B A
	Progress       io.Writer // progress lines; default io.Discard
	ChildLogs      io.Writer // the children's stderr; default io.Discard
}

// Run runs every scenario on every stack and returns the report.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if opts.Executable == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		opts.Executable = exe
	}
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	if opts.ChildLogs == nil {
		opts.ChildLogs = io.Discard
	}
	if len(opts.Stacks) == 0 {
		return nil, errors.New("bench: no stack to run")
	}
	if len(opts.Sizes.RedirectConcurrencies) == 0 || slices.Min(opts.Sizes.RedirectConcurrencies) <= 0 {
		return nil, fmt.Errorf("bench: redirect concurrencies %v: want at least one, each above 0", opts.Sizes.RedirectConcurrencies)
	}
	if opts.ProfileDir != "" {
		if err := os.MkdirAll(opts.ProfileDir, 0o755); err != nil {
			return nil, fmt.Errorf("bench: profile directory: %w", err)
		}
	}
	rep := &Report{
		Mode:    opts.Mode,
		Command: opts.Command,
		Started: time.Now().UTC().Truncate(time.Second),
		Machine: machine(),
		Sizes:   opts.Sizes,
	}
	for _, name := range opts.Stacks {
		for _, revision := range revisionOrder(opts.Revisions, opts.RevisionRounds) {
			if err := ctx.Err(); err != nil {
				return rep, err // interrupted: no more stacks
			}
			sr, err := runStackScenarios(ctx, opts, name, revision)
			if sr != nil {
				rep.Stacks = append(rep.Stacks, *sr)
			}
			if err != nil {
				return rep, fmt.Errorf("stack %s: %w", name, err)
			}
		}
	}
	rep.Machine.LoadAvgEnd = loadAvg()
	rep.Seconds = round(time.Since(rep.Started).Seconds(), 1)
	return rep, nil
}

// revisionOrder is the order stack runs take revisions in: ABBA, rounds
// times; [0] (the current revision, once) when none are listed.
func revisionOrder(revisions []int, rounds int) []int {
	if len(revisions) == 0 {
		return []int{0}
	}
	var order []int
	for range max(1, rounds) {
		order = append(order, revisions...)
		for i := len(revisions) - 1; i >= 0; i-- {
			order = append(order, revisions[i])
		}
	}
	return order
}

// stackEnv prepares the data directory (and PostgreSQL schema) of a stack
// and returns the child's environment and a cleanup.
func stackEnv(opts Options, name string) (env []string, desc string, cleanup func(), err error) {
	dir, err := os.MkdirTemp("", "scanforge-bench-")
	if err != nil {
		return nil, "", nil, err
	}
	cleanups := []func(){func() { os.RemoveAll(dir) }}
	cleanup = func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}
	env = []string{"SCANFORGE_DATA_DIR=" + filepath.Join(dir, "data")}
	switch name {
	case StackSQLite:
		desc = "app DB SQLite file, Temporal SQLite file (scanforge dev)"
	case StackPostgres:
		dbURL, drop, err := postgresSchema(opts.PostgresURL)
		if err != nil {
			cleanup()
			return nil, "", nil, err
		}
		cleanups = append(cleanups, drop)
		env = append(env, "DATABASE_URL="+dbURL)
		desc = "app DB PostgreSQL, Temporal SQLite file"
	default:
		cleanup()
		return nil, "", nil, fmt.Errorf("unknown stack %q (want %s, %s, %s or %s)", name, StackSQLite, StackPostgres, StackProduction, StackProductionServeOutbox)
	}
	return env, desc, cleanup, nil
}

// postgresSchema creates a private schema in the database of base and
// returns a URL that uses it and a function that drops it.
func postgresSchema(base string) (string, func(), error) {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "bench_" + hex.EncodeToString(b)
	admin, err := models.Open(base)
	if err != nil {
		return "", nil, fmt.Errorf("postgres: %w", err)
	}
	closeAdmin := func() {
		if sqlDB, err := admin.DB(); err == nil {
			sqlDB.Close()
		}
	}
	if err := admin.Exec("CREATE SCHEMA " + schema).Error; err != nil {
		closeAdmin()
		return "", nil, fmt.Errorf("postgres: create schema: %w", err)
	}
	drop := func() {
		admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		closeAdmin()
	}
	u, err := url.Parse(base)
	if err != nil {
		drop()
		return "", nil, fmt.Errorf("postgres URL: %w", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}

// Machine describes where the figures were taken.
type Machine struct {
	CPUs         int    `json:"cpus"`
	Model        string `json:"cpu_model"`
	GoVersion    string `json:"go_version"`
	OS           string `json:"os"`
	MemoryMiB    int    `json:"memory_mib"`
	LoadAvgStart string `json:"load_average_start"`
	LoadAvgEnd   string `json:"load_average_end"`
}

func machine() Machine {
	m := Machine{
		CPUs:         runtime.NumCPU(),
		GoVersion:    runtime.Version(),
		OS:           runtime.GOOS + "/" + runtime.GOARCH,
		LoadAvgStart: loadAvg(),
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.Model = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err == nil {
			m.MemoryMiB = kb / 1024
		}
	}
	return m
}

// loadAvg is the 1, 5 and 15 minute load average.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
