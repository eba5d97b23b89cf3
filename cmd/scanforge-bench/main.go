// Command scanforge-bench measures ScanForge against its performance
// targets: redirects against a bare Gin 302 handler, scan → webhook
// latency, delivery throughput against a minimal Temporal workflow, and a
// burst of scans, each on the dev stack (SQLite) and with PostgreSQL as the
// app database. See BENCHMARKS.md.
//
//	go run ./cmd/scanforge-bench -short    every scenario, small (< 3 min)
//	go run ./cmd/scanforge-bench           the full run (10,000-scan burst)
//
// The systems under test run as child processes of this binary (see
// cmd/scanforge-bench/internal/bench); this process only generates load and receives webhooks.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/scanforge/scanforge/cmd/scanforge-bench/internal/bench"
)

func main() {
	if role := os.Getenv(bench.RoleEnv); role != "" {
		if err := bench.RunChild(role); err != nil {
			fmt.Fprintln(os.Stderr, "scanforge-bench child:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "scanforge-bench:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("scanforge-bench", flag.ContinueOnError)
	short := fs.Bool("short", false, "quick run: every scenario with small sizes (under 3 minutes)")
	stacks := fs.String("stacks", "sqlite,postgres", "stacks to run, comma-separated: sqlite, postgres (scanforge dev on either app database), production, production-serve-outbox (serve, worker and temporal-server as processes on PostgreSQL; burst, fanout and webhook scenarios only)")
	projectDir := fs.String("project", ".", "the project checkout the production stacks build scanforge and temporal-server from")
	scanforgeBin := fs.String("scanforge", "", "a scanforge binary for the production stacks (default: build one from -project)")
	pgURL := fs.String("postgres", postgresURL(), "PostgreSQL database for the postgres stack (a schema per run is created and dropped)")
	jsonPath := fs.String("json", "", "write the JSON report to this file instead of stdout")
	logPath := fs.String("logs", "", "write the stack processes' logs to this file (default: discarded)")
	scenarios := fs.String("scenarios", "", "comma-separated scenarios to run: redirects, webhook, throughput, burst, fanout (default all)")
	profileDir := fs.String("pprof", "", "write a CPU profile of the stack process per scenario into this directory")
	burst := fs.Int("burst", 0, "override the number of burst scans")
	workflows := fs.Int("workflows", 0, "override the number of workflows per kind and round (delivery throughput)")
	redirects := fs.Int("redirects", 0, "override the number of closed-loop redirect requests per round")
	rounds := fs.Int("rounds", 0, "override the number of rounds (redirects, delivery throughput)")
	revisions := fs.String("revisions", "", "compare delivery workflow revisions, comma-separated (for example 1,2): every stack runs once per revision in ABBA order, each in a fresh process")
	revisionRounds := fs.Int("revision-rounds", 1, "with -revisions: how many times to repeat the ABBA order")
	scans := fs.Int("scans", 0, "override the number of scans of the scan → webhook scenario")
	scanRate := fs.Float64("scan-rate", 0, "override the scan rate (scans/s) of the scan → webhook scenario")
	fanout := fs.Int("fanout", 0, "override the number of fan-out burst scans (each to 4 endpoints)")
	concurrency := fs.String("concurrency", "", "override the closed-loop redirect concurrencies, comma-separated (for example 32,128)")
	if err := fs.Parse(args); err != nil {
		return err
	}

	opts := bench.Options{
		Mode:        "full",
		Sizes:       bench.FullSizes(),
		Stacks:      strings.Split(*stacks, ","),
		PostgresURL: *pgURL,
		Command:     "go run ./cmd/scanforge-bench " + strings.Join(args, " "),
		Progress:    os.Stderr,
		ProfileDir:  *profileDir,
		ProjectDir:  *projectDir,
		Scanforge:   *scanforgeBin,
	}
	if *scenarios != "" {
		opts.Scenarios = strings.Split(*scenarios, ",")
	}
	if *short {
		opts.Mode, opts.Sizes = "short", bench.ShortSizes()
	}
	if *burst > 0 {
		opts.Sizes.Burst = *burst
	}
	if *revisions != "" {
		revs, err := positiveInts("-revisions", *revisions)
		if err != nil {
			return err
		}
		opts.Revisions, opts.RevisionRounds = revs, *revisionRounds
	}
	if *scans > 0 {
		opts.Sizes.Scans = *scans
	}
	if *scanRate > 0 {
		opts.Sizes.ScanRate = *scanRate
	}
	if *fanout > 0 {
		opts.Sizes.FanoutBurst = *fanout
	}
	if *workflows > 0 {
		opts.Sizes.Workflows = *workflows
	}
	if *redirects > 0 {
		opts.Sizes.RedirectRequests = *redirects
	}
	if *rounds > 0 {
		opts.Sizes.Rounds = *rounds
	}
	if *concurrency != "" {
		cs, err := concurrencies(*concurrency)
		if err != nil {
			return err
		}
		opts.Sizes.RedirectConcurrencies = cs
	}
	if *logPath != "" {
		f, err := os.Create(*logPath)
		if err != nil {
			return err
		}
		defer f.Close()
		opts.ChildLogs = f
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := bench.Run(ctx, opts)
	if rep != nil {
		rep.WriteTable(os.Stdout)
		var out io.Writer = os.Stdout
		if *jsonPath != "" {
			f, ferr := os.Create(*jsonPath)
			if ferr != nil {
				return ferr
			}
			defer f.Close()
			out = f
		} else {
			fmt.Println("```json")
			defer fmt.Println("```")
		}
		if jerr := rep.WriteJSON(out); jerr != nil && err == nil {
			err = jerr
		}
	}
	return err
}

// postgresURL is the database the test suite uses too.
func postgresURL() string {
	if u := os.Getenv("SCANFORGE_TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// concurrencies parses the -concurrency list.
func concurrencies(list string) ([]int, error) { return positiveInts("-concurrency", list) }

// positiveInts parses the comma-separated list of flag name.
func positiveInts(name, list string) ([]int, error) {
	var out []int
	for _, field := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(field))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%s %q: %q is not a positive whole number", name, list, field)
		}
		out = append(out, n)
	}
	return out, nil
}
