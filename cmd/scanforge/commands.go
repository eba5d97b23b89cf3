package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/scanforge/scanforge/internal/config"
)

// command describes a subcommand for its --help: what it does, its
// arguments, and where its environment variables come from.
type command struct {
	name     string
	synopsis string // arguments after the name, e.g. "create NAME"
	about    string
	// mode selects the configuration variables the command reads; "" when
	// it reads none of them.
	mode config.Mode
	// env lists variables read outside internal/config, as "NAME\twhat".
	env []string
}

var errHelpShown = errors.New("help shown")

// parse parses args for cmd with the flags define adds (nil: none) and
// checks the number of positional arguments. -h and --help print the usage
// to stdout and return errHelpShown, so the caller starts nothing.
func (cmd command) parse(args []string, stdout, stderr io.Writer, positional int, define func(*flag.FlagSet)) (*flag.FlagSet, error) {
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	if define != nil {
		define(fs)
	}
	fs.SetOutput(io.Discard) // errors are returned, usage printed below
	if asksForHelp(args) {
		cmd.usage(stdout, fs)
		return nil, errHelpShown
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			cmd.usage(stdout, fs)
			return nil, errHelpShown
		}
		cmd.usage(stderr, fs)
		return nil, fmt.Errorf("%s: %w", cmd.name, err)
	}
	if fs.NArg() != positional {
		cmd.usage(stderr, fs)
		if fs.NArg() > positional {
			return nil, fmt.Errorf("%s: unexpected argument %q", cmd.name, fs.Arg(positional))
		}
		return nil, fmt.Errorf("%s: missing arguments: scanforge %s %s", cmd.name, cmd.name, cmd.synopsis)
	}
	return fs, nil
}

// asksForHelp reports whether args hold -h or --help anywhere before a "--":
// the flag package stops at the first argument that is not a flag, and
// `scanforge workspace create --help` must not create a workspace.
func asksForHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

// usage prints the command's synopsis, description, flags and the
// environment variables it reads.
func (cmd command) usage(w io.Writer, fs *flag.FlagSet) {
	line := "scanforge " + cmd.name
	if cmd.synopsis != "" {
		line += " " + cmd.synopsis
	}
	hasFlags := false
	fs.VisitAll(func(*flag.Flag) { hasFlags = true })
	if hasFlags {
		line += " [flags]"
	}
	fmt.Fprintf(w, "Usage: %s\n\n%s\n", line, cmd.about)
	if hasFlags {
		fmt.Fprint(w, "\nFlags:\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	vars := cmd.variables()
	if len(vars) == 0 {
		return
	}
	fmt.Fprint(w, "\nEnvironment (docs/configuration.md):\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, v := range vars {
		fmt.Fprintf(tw, "  %s\n", v)
	}
	tw.Flush()
}

// variables lists the environment variables the command reads, with their
// defaults, in the order docs/configuration.md lists them.
func (cmd command) variables() []string {
	var out []string
	if cmd.mode != "" {
		for _, v := range config.Variables() {
			if !slices.Contains(v.Modes, cmd.mode) {
				continue
			}
			s := v.Name
			if v.Default != "" {
				s += "\tdefault " + plain(v.Default)
			}
			out = append(out, s)
		}
	}
	return append(out, cmd.env...)
}

// plain drops the Markdown code marks of a documented default.
func plain(s string) string { return strings.ReplaceAll(s, "`", "") }

var (
	devCommand = command{name: "dev", mode: config.ModeDev,
		about: "Runs everything in one process for a laptop: an embedded Temporal server and its Web UI,\n" +
			"the worker, the API and redirects, on SQLite files in the data directory. Prints a first\n" +
			"workspace and API key."}
	serveCommand = command{name: "serve", mode: config.ModeServe,
		about: "Runs the API, the redirects, the scan recorder and the outbox (production). Needs a migrated\n" +
			"database (scanforge migrate) and a Temporal cluster; redirects do not wait for Temporal."}
	workerCommand = command{name: "worker", mode: config.ModeWorker,
		about: "Runs the Temporal worker that delivers webhooks (production). Scale it out by running more."}
	migrateCommand = command{name: "migrate", mode: config.ModeMigrate,
		about: "Creates or updates the database schema, then exits. Safe to run again."}
	workspaceCommand = command{name: "workspace", synopsis: "create NAME", mode: config.ModeMigrate,
		about: "Creates a workspace and prints its first API key, once (production database)."}
	receiveCommand = command{name: "receive",
		about: "Runs a local webhook receiver on 127.0.0.1 that verifies each delivery's signature and\n" +
			"prints the event.",
		env: []string{"SCANFORGE_WEBHOOK_SECRET\tdefault of --secret"}}
	versionCommand = command{name: "version", about: "Prints the version."}
)
