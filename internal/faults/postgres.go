package faults

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/scanforge/scanforge/internal/devserver"
)

// ErrNoPostgres means no private PostgreSQL cluster can be run here (no
// server binaries, or running as root without a postgres user).
var ErrNoPostgres = errors.New("no private PostgreSQL cluster can be run here")

// postgres is a private PostgreSQL cluster in a temporary directory, so
// the suite can stop and restart it without touching anyone else's.
type postgres struct {
	bin  string // directory of initdb, pg_ctl
	dir  string // owned by the server's user: data/, socket, log
	port int
	cred *syscall.Credential // nil: run as ourselves
}

// startPostgres creates and starts a cluster on a free port (trust
// authentication, user postgres).
func startPostgres(ctx context.Context) (*postgres, error) {
	bin, err := postgresBin()
	if err != nil {
		return nil, err
	}
	p := &postgres{bin: bin}
	var uid, gid int = -1, -1
	if os.Geteuid() == 0 {
		// initdb refuses to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("%w: running as root and %v", ErrNoPostgres, err)
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
		p.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	if p.dir, err = os.MkdirTemp("", "scanforge-faults-pg-"); err != nil {
		return nil, err
	}
	if p.cred != nil {
		if err := os.Chown(p.dir, uid, gid); err != nil {
			p.remove()
			return nil, fmt.Errorf("%w: %v", ErrNoPostgres, err)
		}
	}
	if p.port, err = devserver.FreePort(); err != nil {
		p.remove()
		return nil, err
	}
	if err := p.run(ctx, "initdb", "-D", p.data(), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"); err != nil {
		p.remove()
		return nil, err
	}
	if err := p.start(ctx); err != nil {
		p.remove()
		return nil, err
	}
	return p, nil
}

// postgresBin finds the newest server installed under /usr/lib/postgresql
// or, failing that, initdb on PATH.
func postgresBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
		return vb - va
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", fmt.Errorf("%w: initdb and pg_ctl not found", ErrNoPostgres)
}

func (p *postgres) data() string { return filepath.Join(p.dir, "data") }

// URL is the connection URL of database name.
func (p *postgres) URL(name string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", p.port, name)
}

func (p *postgres) options() string {
	return fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=400 -c shared_buffers=64MB", p.port, p.dir)
}

func (p *postgres) start(ctx context.Context) error {
	return p.run(ctx, "pg_ctl", "-D", p.data(), "-l", filepath.Join(p.dir, "log"), "-w", "-t", "60", "-o", p.options(), "start")
}

// stop stops the server: mode fast (rolls back transactions, closes
// connections) or immediate (a crash, recovered at the next start).
func (p *postgres) stop(ctx context.Context, mode string) error {
	return p.run(ctx, "pg_ctl", "-D", p.data(), "-m", mode, "-w", "-t", "60", "stop")
}

// restart is pg_ctl restart -m fast, what pg_ctlcluster restart does.
func (p *postgres) restart(ctx context.Context) error {
	return p.run(ctx, "pg_ctl", "-D", p.data(), "-l", filepath.Join(p.dir, "log"), "-m", "fast", "-w", "-t", "60",
		"-o", p.options(), "restart")
}

// createDatabase creates database name.
func (p *postgres) createDatabase(ctx context.Context, name string) error {
	return p.run(ctx, "createdb", "-h", "127.0.0.1", "-p", strconv.Itoa(p.port), "-U", "postgres", name)
}

// close stops the server and removes its files.
func (p *postgres) close() {
	_ = p.stop(context.Background(), "immediate")
	p.remove()
}

func (p *postgres) remove() { os.RemoveAll(p.dir) }

func (p *postgres) run(ctx context.Context, prog string, args ...string) error {
	cmd := exec.CommandContext(ctx, filepath.Join(p.bin, prog), args...)
	cmd.Dir = p.dir
	if p.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", prog, strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}
