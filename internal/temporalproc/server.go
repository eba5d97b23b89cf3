package temporalproc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"

	"strconv"
	"sync"
	"syscall"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/scanforge/scanforge/internal/deliverylog"
)

const (
	defaultIP        = "127.0.0.1"
	defaultNamespace = "default"
	defaultRetention = 7 * 24 * time.Hour
	// startTimeout bounds Start when the caller's context has no deadline.
	startTimeout = 3 * time.Minute
	// namespaceRefresh is the servers' default namespace cache refresh
	// interval (system.namespaceCacheRefreshInterval).
	namespaceRefresh = 10 * time.Second
)

// Server is a temporal-server process, killable and restartable on the same
// databases and ports.
type Server struct {
	opts Options

	mu              sync.Mutex
	cmd             *exec.Cmd     // nil once killed or stopped
	done            chan struct{} // closed when cmd has exited
	healthy         bool          // cmd answered its health check
	unexpectedExits int
}

// Start writes the configuration into opts.Dir, starts the server, waits
// until its frontend answers, registers the namespace with its retention
// and ScanForge's search attributes, and returns once services started
// next see them. The databases must exist (SetupDatabases).
func Start(ctx context.Context, opts Options) (*Server, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, startTimeout)
		defer cancel()
	}
	if err := writeConfig(opts); err != nil {
		return nil, err
	}
	s := &Server{opts: opts}
	if err := s.launch(ctx); err != nil {
		return nil, err
	}
	changed, err := s.configureNamespace(ctx)
	if err != nil {
		s.Kill()
		return nil, err
	}
	if changed {
		// Services read namespaces from a cache refreshed periodically: a
		// worker started before the refresh fails workflow tasks that set
		// the new search attributes.
		if err := sleep(ctx, namespaceRefresh+namespaceRefresh/2); err != nil {
			s.Kill()
			return nil, err
		}
	}
	return s, nil
}

// FrontendAddress is the gRPC address clients dial.
func (s *Server) FrontendAddress() string {
	return net.JoinHostPort(s.opts.IP, strconv.Itoa(s.opts.Ports.Frontend))
}

// Namespace is the namespace Start registered.
func (s *Server) Namespace() string { return s.opts.Namespace }

// Ports are the ports the server listens on.
func (s *Server) Ports() Ports { return s.opts.Ports }

// PID is the server's process id, 0 when it is not running.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Kill kills the server with SIGKILL and waits for it to exit.
func (s *Server) Kill() {
	s.signal(syscall.SIGKILL, 0)
}

// Stop asks the server to stop (SIGTERM) and kills it after 30 s.
func (s *Server) Stop() {
	s.signal(syscall.SIGTERM, 30*time.Second)
}

func (s *Server) signal(sig syscall.Signal, grace time.Duration) {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
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

// Restart starts the server again (after Kill or Stop) on the same
// databases, configuration and ports, and waits until it answers.
func (s *Server) Restart(ctx context.Context) error {
	if s.PID() != 0 {
		return errors.New("temporalproc: the server is still running")
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, startTimeout)
		defer cancel()
	}
	return s.launch(ctx)
}

// launch starts the process and waits for the frontend's health check.
func (s *Server) launch(ctx context.Context) error {
	cmd := exec.Command(s.opts.Binaries.Server,
		"--root", s.opts.Dir, "--config", "config", "--env", configEnv, "--allow-no-auth", "start")
	cmd.Dir = s.opts.Dir
	cmd.Stdout, cmd.Stderr = s.opts.Logs, s.opts.Logs
	// Its own process group, so a Ctrl-C of the caller does not reach it
	// first; killed with the caller (Linux) so that none is left behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("temporalproc: start %s: %w", s.opts.Binaries.Server, err)
	}
	done := make(chan struct{})
	s.mu.Lock()
	s.cmd, s.done, s.healthy = cmd, done, false
	s.mu.Unlock()
	go s.watch(cmd, done)

	for {
		err := s.checkHealth(ctx)
		if err == nil {
			s.mu.Lock()
			s.healthy = s.cmd == cmd
			s.mu.Unlock()
			return nil
		}
		select {
		case <-done:
			s.Kill()
			return fmt.Errorf("temporalproc: temporal-server exited while starting (see its logs): %v", cmd.ProcessState)
		case <-ctx.Done():
			s.Kill()
			return fmt.Errorf("temporalproc: temporal-server at %s not healthy: %w", s.FrontendAddress(), err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// watch waits for cmd to exit and, with RestartOnExit, starts the server
// again when it exited by itself after having become healthy.
func (s *Server) watch(cmd *exec.Cmd, done chan struct{}) {
	err := cmd.Wait()
	close(done)
	s.mu.Lock()
	restart := s.opts.RestartOnExit && s.cmd == cmd && s.healthy
	if restart {
		s.cmd = nil
		s.unexpectedExits++
	}
	s.mu.Unlock()
	if !restart {
		return
	}
	fmt.Fprintf(s.opts.Logs, "temporalproc: temporal-server exited by itself (%v); starting it again in 1s\n", err)
	time.Sleep(time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := s.launch(ctx); err != nil {
		fmt.Fprintf(s.opts.Logs, "temporalproc: restart after an unexpected exit: %v\n", err)
	}
}

// UnexpectedExits counts the exits RestartOnExit restarted.
func (s *Server) UnexpectedExits() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.unexpectedExits
}

func (s *Server) clientOptions() client.Options {
	return client.Options{
		HostPort:          s.FrontendAddress(),
		Namespace:         s.opts.Namespace,
		Logger:            sdklog.NewStructuredLogger(discardLogger),
		ConnectionOptions: client.ConnectionOptions{TLS: s.opts.ClientTLS},
	}
}

func (s *Server) checkHealth(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, s.clientOptions())
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
	return err
}

// configureNamespace registers the namespace with its retention if it is
// missing, then the search attributes (retried while the new namespace is
// not yet visible). It reports whether it changed anything.
func (s *Server) configureNamespace(ctx context.Context) (bool, error) {
	nc, err := client.NewNamespaceClient(s.clientOptions())
	if err != nil {
		return false, fmt.Errorf("temporalproc: namespace client: %w", err)
	}
	defer nc.Close()
	registered := false
	err = nc.Register(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace:                        s.opts.Namespace,
		WorkflowExecutionRetentionPeriod: durationpb.New(s.opts.Retention),
	})
	var exists *serviceerror.NamespaceAlreadyExists
	switch {
	case err == nil:
		registered = true
	case errors.As(err, &exists):
	default:
		return false, fmt.Errorf("temporalproc: register namespace %s: %w", s.opts.Namespace, err)
	}

	c, err := client.DialContext(ctx, s.clientOptions())
	if err != nil {
		return false, fmt.Errorf("temporalproc: %w", err)
	}
	defer c.Close()
	for {
		added, err := deliverylog.RegisterSearchAttributes(ctx, c.OperatorService(), s.opts.Namespace)
		if err == nil {
			return registered || added, nil
		}
		var notFound *serviceerror.NamespaceNotFound
		if !errors.As(err, &notFound) || ctx.Err() != nil {
			return false, fmt.Errorf("temporalproc: %w", err)
		}
		if err := sleep(ctx, 500*time.Millisecond); err != nil {
			return false, fmt.Errorf("temporalproc: namespace %s not visible after registering it: %w", s.opts.Namespace, err)
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// mkdir creates dir and its parents.
func mkdir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("temporalproc: %w", err)
	}
	return nil
}
