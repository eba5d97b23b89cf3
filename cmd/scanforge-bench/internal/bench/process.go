package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/scanforge/scanforge/internal/procstat"
)

// child is a system under test running as a subprocess.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan error
	info  ready
	// databaseCPU is the CPU time so far of the database server the child
	// writes to, when that runs beside it on this machine (PostgreSQL);
	// nil when the database is inside the child (SQLite).
	databaseCPU func() time.Duration
	// parts are the other processes of a system made of several (the
	// production shape: worker, Temporal server); cpu counts them too.
	parts []part
}

// part is one more process of the system under test, by name.
type part struct {
	name string
	pid  func() int
}

// startChild runs exe in role with extra environment and waits for its
// ready line. Its stderr (logs) goes to logs.
func startChild(ctx context.Context, exe, role string, env []string, logs io.Writer) (*child, error) {
	cmd := exec.Command(exe)
	cmd.Env = append(append(os.Environ(), RoleEnv+"="+role), env...)
	cmd.Stderr = logs
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s child: %w", role, err)
	}
	c := &child{cmd: cmd, stdin: stdin, done: make(chan error, 1)}
	readyCh := make(chan error, 1)
	go func() {
		r := bufio.NewReader(stdout)
		info, err := readReady(r)
		c.info = info
		readyCh <- err
		_, _ = io.Copy(io.Discard, r)
		c.done <- cmd.Wait()
	}()
	select {
	case err = <-readyCh:
	case <-time.After(2 * time.Minute):
		err = fmt.Errorf("%s child not ready after 2 minutes", role)
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// stop asks the child to shut down gracefully (its stdin closes, or
// SIGTERM for a process that does not read it) and kills it if it does not
// within 30 s.
func (c *child) stop() error {
	if c.stdin != nil {
		_ = c.stdin.Close()
	} else {
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
	}
	select {
	case err := <-c.done:
		return err
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		return fmt.Errorf("child %d did not stop; killed: %w", c.pid(), <-c.done)
	}
}

// memory returns the child's peak resident set (VmHWM) and current one
// (VmRSS) in MiB, from /proc.
func (c *child) memory() (peakMiB, rssMiB float64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.pid()))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 64)
		if err != nil {
			continue
		}
		switch key {
		case "VmHWM":
			peakMiB = round(kb/1024, 1)
		case "VmRSS":
			rssMiB = round(kb/1024, 1)
		}
	}
	return peakMiB, rssMiB
}

// cpu returns the user+system CPU time so far of the child and its parts.
func (c *child) cpu() time.Duration {
	total := procstat.CPU(c.pid())
	for _, p := range c.parts {
		total += procstat.CPU(p.pid())
	}
	return total
}

// cpuByProcess is cpu split by process ("main" is the child itself), with
// the database server's when it runs on this machine.
func (c *child) cpuByProcess(main string) map[string]time.Duration {
	out := map[string]time.Duration{main: procstat.CPU(c.pid())}
	for _, p := range c.parts {
		out[p.name] = procstat.CPU(p.pid())
	}
	if c.databaseCPU != nil {
		out["postgres"] = c.databaseCPU()
	}
	return out
}

// controlCall posts (or gets, with a nil body) JSON to the child's control
// server and decodes the answer into out.
func (c *child) controlCall(ctx context.Context, path string, body, out any) error {
	method, rd := http.MethodGet, io.Reader(nil)
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		method, rd = http.MethodPost, bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.info.Control+path, rd)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("control %s: %w", path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("control %s: %s: %s", path, res.Status, raw)
	}
	return json.Unmarshal(raw, out)
}

// waitDrained waits until the outbox has no pending scan (or timeout).
func (c *child) waitDrained(ctx context.Context, timeout time.Duration) (int64, error) {
	deadline := time.Now().Add(timeout)
	for {
		var p struct{ Pending int64 }
		if err := c.controlCall(ctx, "/pending", nil, &p); err != nil {
			return -1, err
		}
		if p.Pending == 0 || time.Now().After(deadline) {
			return p.Pending, nil
		}
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return p.Pending, ctx.Err()
		}
	}
}

// selfCPU returns this process's user+system CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// scanBatches reads the recorder's batch-size histogram from the child's
// /metrics: scans committed and commits so far. Both are 0 when the child
// has no such metric (the bare handler).
func (c *child) scanBatches() (scans, commits float64) {
	client := http.Client{Timeout: 5 * time.Second}
	res, err := client.Get(c.info.HTTP + "/metrics")
	if err != nil {
		return 0, 0
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return 0, 0
	}
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		switch name {
		case "scanforge_scan_batch_size_sum":
			scans, _ = strconv.ParseFloat(value, 64)
		case "scanforge_scan_batch_size_count":
			commits, _ = strconv.ParseFloat(value, 64)
		}
	}
	return scans, commits
}
