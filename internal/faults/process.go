package faults

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// process is a `scanforge serve` or `scanforge worker`, supervised like
// systemd's Restart=always would: an exit the suite did not cause is
// counted and the process started again a second later.
type process struct {
	name   string
	exe    string
	args   []string
	env    []string
	health string // URL answering 200 once the process is ready
	logs   io.Writer

	mu         sync.Mutex
	cmd        *exec.Cmd
	done       chan struct{}
	stopped    bool // the suite stopped it: do not restart
	unexpected int  // exits the suite did not cause
}

// start starts the process and waits until its health URL answers.
func (p *process) start(ctx context.Context) error {
	p.mu.Lock()
	p.stopped = false
	p.mu.Unlock()
	if err := p.launch(); err != nil {
		return err
	}
	return p.waitHealthy(ctx, 2*time.Minute)
}

func (p *process) launch() error {
	cmd := exec.Command(p.exe, p.args...)
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	done := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.done = cmd, done
	p.mu.Unlock()
	go func() {
		err := cmd.Wait()
		close(done)
		p.mu.Lock()
		restart := !p.stopped && p.cmd == cmd
		if restart {
			p.unexpected++
		}
		p.mu.Unlock()
		if restart {
			fmt.Fprintf(p.logs, "faults: %s exited unexpectedly (%v); restarting it in 1s\n", p.name, err)
			time.Sleep(time.Second)
			p.mu.Lock()
			again := !p.stopped && p.cmd == cmd
			p.mu.Unlock()
			if again {
				_ = p.launch()
			}
		}
	}()
	return nil
}

func (p *process) waitHealthy(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := http.Client{Timeout: 2 * time.Second}
	for {
		res, err := client.Get(p.health)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not healthy at %s after %v (see its log)", p.name, p.health, timeout)
		}
		if !waitCtx(ctx, 200*time.Millisecond) {
			return ctx.Err()
		}
	}
}

// kill sends SIGKILL and waits for the exit; it is not restarted.
func (p *process) kill() { p.signal(syscall.SIGKILL, 0) }

// stop sends SIGTERM, then SIGKILL after 30 s.
func (p *process) stop() { p.signal(syscall.SIGTERM, 30*time.Second) }

func (p *process) signal(sig syscall.Signal, grace time.Duration) {
	p.mu.Lock()
	p.stopped = true
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	if grace > 0 {
		select {
		case <-done:
			return
		case <-time.After(grace):
			_ = cmd.Process.Kill()
		}
	}
	<-done
}

func (p *process) unexpectedExits() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.unexpected
}
