// Command scanforge runs ScanForge: dynamic QR codes and redirect links whose
// every scan fires a signed webhook, delivered durably by Temporal.
//
//	scanforge dev      everything in one process: embedded Temporal + UI, SQLite, API, worker
//	scanforge serve    API + redirects + outbox (production; PostgreSQL, external Temporal)
//	scanforge worker   Temporal worker that delivers webhooks (production)
//	scanforge migrate  create or update the database schema
//	scanforge workspace create NAME   a workspace and its first API key
//	scanforge receive  a local webhook receiver that verifies and prints deliveries
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/gin-gonic/gin"
)

const usage = `ScanForge: scan events as signed webhooks.

Usage:
  scanforge dev       run everything locally (embedded Temporal + UI, SQLite, API, worker)
  scanforge serve     run the API, redirects and outbox (production)
  scanforge worker    run the Temporal worker that delivers webhooks (production)
  scanforge migrate   create or update the database schema
  scanforge workspace create NAME
                      create a workspace and print its first API key (production)
  scanforge receive   run a local receiver that verifies and prints webhooks
  scanforge version   print the version

Configuration comes from environment variables: scanforge COMMAND --help lists
those a command reads; docs/configuration.md describes them.
`

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "scanforge:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("missing command")
	}
	gin.SetMode(gin.ReleaseMode) // the router logs through slog; no debug banner
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	err := dispatch(ctx, args, stdout, stderr)
	if errors.Is(err, errHelpShown) {
		return nil
	}
	return err
}

// dispatch parses the subcommand's flags and arguments first, so that
// --help and mistakes are answered before anything starts.
func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	rest := args[1:]
	switch args[0] {
	case "dev":
		if _, err := devCommand.parse(rest, stdout, stderr, 0, nil); err != nil {
			return err
		}
		return runDev(ctx, stdout)
	case "serve":
		if _, err := serveCommand.parse(rest, stdout, stderr, 0, nil); err != nil {
			return err
		}
		return runServe(ctx)
	case "worker":
		if _, err := workerCommand.parse(rest, stdout, stderr, 0, nil); err != nil {
			return err
		}
		return runWorker(ctx)
	case "migrate":
		if _, err := migrateCommand.parse(rest, stdout, stderr, 0, nil); err != nil {
			return err
		}
		return runMigrate(ctx, stdout)
	case "workspace":
		fs, err := workspaceCommand.parse(rest, stdout, stderr, 2, nil)
		if err != nil {
			return err
		}
		if fs.Arg(0) != "create" {
			return fmt.Errorf("workspace: unknown action %q: scanforge workspace create NAME", fs.Arg(0))
		}
		return runWorkspace(ctx, fs.Arg(1), stdout)
	case "receive":
		return runReceive(ctx, rest, stdout, stderr)
	case "version":
		if _, err := versionCommand.parse(rest, stdout, stderr, 0, nil); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "scanforge", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
}

func newLogger(level slog.Level, format string, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
