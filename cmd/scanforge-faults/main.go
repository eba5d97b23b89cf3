// Command scanforge-faults runs the fault suite of the production shape
// (internal/faults): the official Temporal server on a private PostgreSQL,
// two `scanforge serve` and two `scanforge worker` processes, and one fault
// per scenario under load. Run it from the repository root:
//
//	go run ./cmd/scanforge-faults                       # every scenario, full sizes
//	go run ./cmd/scanforge-faults -short                # smaller and quicker
//	go run ./cmd/scanforge-faults -scenarios worker-kill,postgres-down -json report.json
//
// It prints a table per scenario: scans answered 302 and not, scans
// recorded, webhooks delivered, lost (302 without a webhook), duplicates,
// drain time after recovery and the largest scan → webhook delay. It exits
// with status 1 when a scan was lost.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/scanforge/scanforge/internal/faults"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "scanforge-faults:", err)
		os.Exit(1)
	}
}

func run() error {
	sizes := faults.FullSizes()
	short := flag.Bool("short", false, "use the short sizes (the test command's)")
	scenarios := flag.String("scenarios", "", "comma-separated scenarios to run (default all): "+strings.Join(faults.Scenarios(), ","))
	jsonOut := flag.String("json", "", "also write the report as JSON to this file")
	logDir := flag.String("logs", "", "keep the processes' logs in this directory")
	rate := flag.Float64("rate", 0, "scans per second (default: the sizes')")
	outage := flag.Duration("outage", 0, "PostgreSQL down, partition and hanging receiver duration (default: the sizes')")
	receiverDown := flag.Duration("receiver-down", 0, "how long the receiver is down (default: the sizes')")
	temporalDown := flag.Duration("temporal-down", 0, "how long Temporal is down (default: the sizes')")
	flag.Parse()
	if *short {
		sizes = faults.ShortSizes()
	}
	if *rate > 0 {
		sizes.Rate = *rate
	}
	if *outage > 0 {
		sizes.Outage = *outage
	}
	if *receiverDown > 0 {
		sizes.ReceiverDown = *receiverDown
	}
	if *temporalDown > 0 {
		sizes.TemporalDown = *temporalDown
	}
	var names []string
	if *scenarios != "" {
		names = strings.Split(*scenarios, ",")
	}
	dir, err := os.Getwd()
	if err != nil {
		return err
	}
	if _, err := os.Stat("go.mod"); err != nil {
		return fmt.Errorf("run it from the repository root (no go.mod here): %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := faults.Run(ctx, faults.Options{
		ProjectDir: dir,
		Scenarios:  names,
		Sizes:      sizes,
		LogDir:     *logDir,
		Progress:   os.Stderr,
		Command:    "go run ./cmd/scanforge-faults " + strings.Join(os.Args[1:], " "),
	})
	if rep != nil {
		rep.WriteTable(os.Stdout)
		if *jsonOut != "" {
			b, _ := json.MarshalIndent(rep, "", "  ")
			if werr := os.WriteFile(*jsonOut, append(b, '\n'), 0o644); werr != nil && err == nil {
				err = werr
			}
		}
	}
	if err != nil {
		return err
	}
	for _, r := range rep.Scenarios {
		if r.Lost > 0 || r.ScansWithSeveralIDs > 0 {
			return fmt.Errorf("%s: %d lost, %d scans with several event ids", r.Name, r.Lost, r.ScansWithSeveralIDs)
		}
	}
	return nil
}
