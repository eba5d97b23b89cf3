// Package temporalproc runs the official Temporal server (temporal-server,
// the binary Temporal ships) as an OS process on PostgreSQL persistence and
// SQL visibility: the production shape of ScanForge's Temporal. It builds the
// server and its SQL schema tool from the go.temporal.io/server version the
// project's go.mod pins (through the Go module proxy only), creates the
// databases, writes the configuration and runs, kills and restarts the
// server on fixed ports.
package temporalproc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
)

const (
	serverModule  = "go.temporal.io/server"
	serverPackage = serverModule + "/cmd/server"
	sqlToolPkg    = serverModule + "/cmd/tools/sql"
)

// Binaries are the built programs and the server module they come from.
type Binaries struct {
	Server    string // temporal-server
	SQLTool   string // temporal-sql-tool
	Version   string // of go.temporal.io/server, e.g. v1.32.1
	ModuleDir string // the module's source in the module cache (schema, config)
}

// BuildOptions configure Build.
type BuildOptions struct {
	// ProjectDir holds the go.mod (and go.sum) that pins go.temporal.io/server.
	ProjectDir string
	// CacheDir keeps the binaries, one directory per version and platform;
	// default os.UserCacheDir()/scanforge.
	CacheDir string
	// Logs receives the go tool's output; default io.Discard.
	Logs io.Writer
}

// Build returns the server and schema tool of the version ProjectDir's
// go.mod pins, building them the first time on this machine: in a scratch
// module with the project's go.mod and go.sum, `go get` of both commands
// at that version, then `go build`. Concurrent callers (other test
// processes) wait for one build.
func Build(ctx context.Context, opts BuildOptions) (Binaries, error) {
	if opts.ProjectDir == "" {
		return Binaries{}, fmt.Errorf("temporalproc: BuildOptions.ProjectDir (the directory of go.mod) is required")
	}
	if opts.Logs == nil {
		opts.Logs = io.Discard
	}
	if opts.CacheDir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return Binaries{}, fmt.Errorf("temporalproc: no cache directory (set BuildOptions.CacheDir): %w", err)
		}
		opts.CacheDir = filepath.Join(base, "scanforge")
	}
	version, moduleDir, err := pinnedServer(ctx, opts.ProjectDir)
	if err != nil {
		return Binaries{}, err
	}
	dir := filepath.Join(opts.CacheDir, fmt.Sprintf("temporal-server-%s-%s-%s", version, runtime.GOOS, runtime.GOARCH))
	bins := Binaries{
		Server:    filepath.Join(dir, "temporal-server"),
		SQLTool:   filepath.Join(dir, "temporal-sql-tool"),
		Version:   version,
		ModuleDir: moduleDir,
	}
	if built(bins) {
		return bins, nil
	}
	if err := os.MkdirAll(opts.CacheDir, 0o755); err != nil {
		return Binaries{}, fmt.Errorf("temporalproc: cache directory: %w", err)
	}
	unlock, err := lockFile(dir + ".lock")
	if err != nil {
		return Binaries{}, err
	}
	defer unlock()
	if built(bins) { // another process built them while we waited
		return bins, nil
	}
	if err := buildInScratch(ctx, opts, version, dir); err != nil {
		return Binaries{}, err
	}
	return bins, nil
}

func built(b Binaries) bool {
	for _, p := range []string{b.Server, b.SQLTool} {
		if info, err := os.Stat(p); err != nil || info.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

// pinnedServer reads the server module's version and source directory as
// the project's module graph resolves it (downloading it if needed).
func pinnedServer(ctx context.Context, projectDir string) (version, dir string, err error) {
	var mod struct{ Version, Dir string }
	for range 2 {
		out, err := goTool(ctx, projectDir, nil, "list", "-m", "-json", serverModule)
		if err != nil {
			return "", "", fmt.Errorf("temporalproc: find %s in %s/go.mod: %w", serverModule, projectDir, err)
		}
		if err := json.Unmarshal(out, &mod); err != nil {
			return "", "", fmt.Errorf("temporalproc: go list -m %s: %w", serverModule, err)
		}
		if mod.Dir != "" {
			return mod.Version, mod.Dir, nil
		}
		if _, err := goTool(ctx, projectDir, nil, "mod", "download", serverModule); err != nil {
			return "", "", fmt.Errorf("temporalproc: download %s: %w", serverModule, err)
		}
	}
	return "", "", fmt.Errorf("temporalproc: %s@%s is not in the module cache after downloading it", serverModule, mod.Version)
}

func buildInScratch(ctx context.Context, opts BuildOptions, version, dir string) error {
	scratch, err := os.MkdirTemp(opts.CacheDir, "build-")
	if err != nil {
		return fmt.Errorf("temporalproc: scratch module: %w", err)
	}
	defer os.RemoveAll(scratch)
	for _, name := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(filepath.Join(opts.ProjectDir, name))
		if err != nil {
			return fmt.Errorf("temporalproc: %w", err)
		}
		if err := os.WriteFile(filepath.Join(scratch, name), b, 0o644); err != nil {
			return fmt.Errorf("temporalproc: %w", err)
		}
	}
	fmt.Fprintf(opts.Logs, "temporalproc: building temporal-server and temporal-sql-tool %s (once per machine)\n", version)
	env := []string{"GOFLAGS=-mod=mod", "GOWORK=off"}
	if out, err := goTool(ctx, scratch, env, "get", serverPackage+"@"+version, sqlToolPkg+"@"+version); err != nil {
		return fmt.Errorf("temporalproc: go get the server commands: %w\n%s", err, out)
	}
	bin := filepath.Join(scratch, "bin")
	if out, err := goTool(ctx, scratch, env, "build", "-o", bin+string(filepath.Separator), serverPackage, sqlToolPkg); err != nil {
		return fmt.Errorf("temporalproc: go build the server commands: %w\n%s", err, out)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("temporalproc: %w", err)
	}
	// The SQL tool comes out as "sql"; the schema tool's documented name is
	// temporal-sql-tool. The server binary is renamed last: Build checks both.
	for _, mv := range [][2]string{{"sql", "temporal-sql-tool"}, {"server", "temporal-server"}} {
		if err := os.Rename(filepath.Join(bin, mv[0]), filepath.Join(dir, mv[1])); err != nil {
			return fmt.Errorf("temporalproc: %w", err)
		}
	}
	return nil
}

// goTool runs the go command in dir and returns its standard output; on
// failure the error carries its standard error.
func goTool(ctx context.Context, dir string, env []string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("go %v: %w: %s", args, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return out, nil
}

// lockFile takes an exclusive lock on path, waiting for it.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("temporalproc: lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("temporalproc: lock %s: %w", path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
