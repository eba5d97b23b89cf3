package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHelpStartsNothing asks every subcommand for its help, with -h and
// --help: each prints its usage and the variables it reads to stdout and
// returns without creating the data directory, opening a database or
// listening anywhere.
func TestHelpStartsNothing(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	t.Setenv("SCANFORGE_DATA_DIR", dataDir)
	// A database that cannot be reached: a command that ignored --help
	// and started would fail on it instead of returning nil.
	t.Setenv("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=1")
	cases := []struct {
		args []string
		want []string // in the help text
	}{
		{[]string{"dev"}, []string{"Usage: scanforge dev\n", "SCANFORGE_DATA_DIR", "default ./.scanforge\n", "SCANFORGE_UI_PORT"}},
		{[]string{"serve"}, []string{"Usage: scanforge serve\n", "DATABASE_URL", "TEMPORAL_ADDRESS", "SCANFORGE_HTTP_ADDR"}},
		{[]string{"worker"}, []string{"Usage: scanforge worker\n", "SCANFORGE_METRICS_ADDR", "TEMPORAL_NAMESPACE"}},
		{[]string{"migrate"}, []string{"Usage: scanforge migrate\n", "DATABASE_URL"}},
		{[]string{"workspace"}, []string{"Usage: scanforge workspace create NAME\n", "DATABASE_URL"}},
		{[]string{"workspace", "create"}, []string{"Usage: scanforge workspace create NAME\n"}},
		{[]string{"receive"}, []string{"Usage: scanforge receive [flags]\n", "-port", "-status", "SCANFORGE_WEBHOOK_SECRET"}},
		{[]string{"version"}, []string{"Usage: scanforge version\n"}},
	}
	for _, c := range cases {
		for _, flag := range []string{"-h", "--help"} {
			args := append(append([]string{}, c.args...), flag)
			var stdout, stderr bytes.Buffer
			if err := run(args, &stdout, &stderr); err != nil {
				t.Errorf("%v: %v", args, err)
				continue
			}
			for _, w := range c.want {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("%v: help lacks %q:\n%s", args, w, stdout.String())
				}
			}
			if stderr.Len() != 0 {
				t.Errorf("%v: wrote to stderr: %s", args, stderr.String())
			}
		}
	}
	if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
		t.Errorf("a --help created the data directory %s (stat: %v)", dataDir, err)
	}
	// Variables of other modes are not listed: dev reads no worker metrics address.
	var stdout bytes.Buffer
	if err := run([]string{"dev", "--help"}, &stdout, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stdout.String(), "SCANFORGE_METRICS_ADDR") {
		t.Errorf("dev's help lists the worker's SCANFORGE_METRICS_ADDR:\n%s", stdout.String())
	}
}

// TestBadArgumentsAreErrors: unknown flags, stray arguments and missing
// ones end the command with an error naming them, before anything starts.
func TestBadArgumentsAreErrors(t *testing.T) {
	t.Setenv("SCANFORGE_DATA_DIR", filepath.Join(t.TempDir(), "data"))
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"dev", "--port", "9"}, "flag provided but not defined: -port"},
		{[]string{"dev", "now"}, `unexpected argument "now"`},
		{[]string{"serve", "--verbose"}, "flag provided but not defined: -verbose"},
		{[]string{"worker", "extra"}, `unexpected argument "extra"`},
		{[]string{"migrate", "up"}, `unexpected argument "up"`},
		{[]string{"workspace"}, "missing arguments: scanforge workspace create NAME"},
		{[]string{"workspace", "create"}, "missing arguments"},
		{[]string{"workspace", "create", "Acme", "Corp"}, `unexpected argument "Corp"`},
		{[]string{"workspace", "delete", "Acme"}, `unknown action "delete"`},
		{[]string{"workspace", "create", "  "}, "the name is empty"},
		{[]string{"receive", "--status", "99"}, "--status 99"},
		{[]string{"receive", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"version", "x"}, `unexpected argument "x"`},
		{[]string{"deploy"}, `unknown command "deploy"`},
	}
	for _, c := range cases {
		var stdout, stderr bytes.Buffer
		err := run(c.args, &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want one containing %q", c.args, err, c.want)
		}
	}
}
