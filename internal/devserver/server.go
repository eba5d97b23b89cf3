// The MIT License
//
// Copyright (c) 2022 Temporal Technologies Inc.  All rights reserved.
//
// Copyright (c) 2020 Uber Technologies, Inc.
//
// Copyright (c) 2021 Datadog, Inc.
//
// Permission is hereby granted, free of charge, to any person obtaining a copy
// of this software and associated documentation files (the "Software"), to deal
// in the Software without restriction, including without limitation the rights
// to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
// copies of the Software, and to permit persons to whom the Software is
// furnished to do so, subject to the following conditions:
//
// The above copyright notice and this permission notice shall be included in
// all copies or substantial portions of the Software.
//
// THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
// IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
// FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
// AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
// LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
// OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN
// THE SOFTWARE.

// Adapted from github.com/temporalio/cli v1.9.1, internal/devserver/server.go
// (the recipe of `temporal server start-dev`).

// Package devserver runs a Temporal server (SQLite persistence) and,
// optionally, the Temporal Web UI inside the current process, for
// `scanforge dev` and for integration tests.
package devserver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uiserveroptions "github.com/temporalio/ui-server/v2/server/server_options"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/temporal"
)

const (
	defaultIP        = "127.0.0.1"
	defaultNamespace = "default"
	defaultRetention = 7 * 24 * time.Hour
	minRetention     = time.Hour // system.namespaceMinRetentionLocal
	defaultLogLevel  = slog.LevelWarn

	clusterName = "active"
	// startTimeout bounds Start when the caller's context has no deadline.
	startTimeout = time.Minute
)

// Options configures the embedded server. The zero value is a usable
// in-memory server on a free port without UI.
type Options struct {
	// DatabaseFile is the SQLite file; "" keeps everything in memory. Its
	// parent directory must exist. The schema is set up when the file is new
	// (missing or empty); an existing file keeps all its data.
	DatabaseFile string
	// IP to listen on; default 127.0.0.1.
	IP string
	// FrontendPort is the gRPC frontend port; 0 picks a free port.
	FrontendPort int
	// UIPort is the Temporal Web UI port; 0 means no UI.
	UIPort int
	// Namespace is created if missing; default "default".
	Namespace string
	// Retention is the workflow history retention of Namespace, applied on
	// every start; default 7 days; at least 1 hour.
	Retention time.Duration
	// SearchAttributes are registered on Namespace on every start. An
	// attribute already registered with another type is an error.
	SearchAttributes map[string]enums.IndexedValueType
	// DynamicConfig overrides the tuned defaults (see dynamicConfig), keyed by
	// dynamic config name, e.g. "history.persistenceMaxQPS". Integer settings
	// take int values.
	DynamicConfig map[string]any
	// Logger receives the server's logs at LogLevel and above; default
	// slog.Default().
	Logger *slog.Logger
	// LogLevel is the minimum level logged; nil means slog.LevelWarn (the
	// server is chatty). A slog.Level or a *slog.LevelVar both fit.
	LogLevel slog.Leveler
	// TLS makes the gRPC frontend speak TLS; nil: plaintext (dev mode).
	TLS *TLS
}

// TLS is the frontend's TLS, from PEM files. The other services talk among
// themselves in plaintext on their own ports.
type TLS struct {
	CertFile, KeyFile string // the frontend's certificate and key
	// CAFile holds the CA that signed CertFile; under RequireClientAuth,
	// client certificates must be signed by it too.
	CAFile string
	// ServerName is a name CertFile is valid for; the server's own clients
	// (its system worker, Start's namespace setup) verify it.
	ServerName string
	// RequireClientAuth is mTLS: clients must present a certificate.
	RequireClientAuth bool
	// ClientCertFile and ClientKeyFile are the certificate the server's own
	// clients present under RequireClientAuth.
	ClientCertFile, ClientKeyFile string
}

// Server is a running embedded Temporal server.
type Server struct {
	server          temporal.Server
	ui              *uiserver.Server
	uiDone          chan struct{}
	logger          *slog.Logger
	stopping        *atomic.Bool // quiets the server's logs
	frontendAddress string
	uiAddress       string
	namespace       string
	stopOnce        sync.Once
}

// Start starts the server and returns once its frontend answers and the
// namespace is configured (and the UI, if any, accepts connections).
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
	stopping := new(atomic.Bool)
	logger := slog.New(minLevelHandler{min: opts.LogLevel, stopping: stopping, Handler: opts.Logger.Handler()})

	ports, err := pickPorts(opts)
	if err != nil {
		return nil, err
	}
	sqlConf := sqlConfig(opts.DatabaseFile)
	if err := prepareDatabase(sqlConf, opts); err != nil {
		return nil, err
	}
	dynConf := dynamicConfig(opts.DatabaseFile == "", opts.DynamicConfig)
	server, err := temporal.NewServer(serverOptions(opts.IP, ports, sqlConf, dynConf, opts.TLS, logger)...)
	if err != nil {
		return nil, fmt.Errorf("create temporal server: %w", err)
	}

	s := &Server{
		server:          server,
		logger:          logger,
		stopping:        stopping,
		frontendAddress: net.JoinHostPort(dialableIP(opts.IP), strconv.Itoa(ports.frontend)),
		namespace:       opts.Namespace,
	}
	if err := server.Start(); err != nil {
		s.Stop()
		return nil, fmt.Errorf("start temporal server: %w", err)
	}
	changed, err := configureNamespace(ctx, s.frontendAddress, opts, logger)
	if err != nil {
		s.Stop()
		return nil, err
	}
	if changed {
		// Services read namespaces from a cache refreshed periodically: wait
		// one refresh so workers started next see the new settings (an
		// unregistered search attribute fails workflow tasks).
		refresh := dynamicconfig.NamespaceCacheRefreshInterval.Get(
			dynamicconfig.NewCollection(dynConf, slogLogger{log: logger}))()
		if err := sleep(ctx, refresh+refresh/2); err != nil {
			s.Stop()
			return nil, fmt.Errorf("wait for namespace cache refresh: %w", err)
		}
	}
	if opts.UIPort != 0 {
		if err := s.startUI(ctx, opts); err != nil {
			s.Stop()
			return nil, err
		}
	}
	return s, nil
}

// FrontendAddress is the gRPC address clients dial, e.g. "127.0.0.1:7233".
func (s *Server) FrontendAddress() string { return s.frontendAddress }

// UIAddress is the Web UI's host:port, or "" without UI.
func (s *Server) UIAddress() string { return s.uiAddress }

// Namespace is the namespace Start created or configured.
func (s *Server) Namespace() string { return s.namespace }

// Stop stops the UI and the server. It is safe to call more than once.
//
// Some upstream resources outlive Stop until the process exits: the SQLite
// plugin keeps one connection per database (an in-memory database stays in
// memory), the server keeps its cached gRPC connections (~30 idle
// goroutines), and in file mode the scanners' system workers, which the
// server never stops, keep polling the dead frontend. The server's logs
// below Error are dropped from Stop on.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		s.stopping.Store(true)
		if s.ui != nil {
			s.ui.Stop()
			<-s.uiDone
		}
		if err := s.server.Stop(); err != nil {
			s.logger.Error("Stopping the Temporal server failed", "error", err)
		}
	})
}

func (o Options) withDefaults() (Options, error) {
	if o.IP == "" || o.IP == "localhost" {
		o.IP = defaultIP // the server wants an IP, not a host name
	}
	if net.ParseIP(o.IP) == nil {
		return o, fmt.Errorf("IP %q is not an IP address", o.IP)
	}
	if o.Namespace == "" {
		o.Namespace = defaultNamespace
	}
	if o.Retention == 0 {
		o.Retention = defaultRetention
	}
	if o.Retention < minRetention {
		// A new namespace would take it, but updating an existing one not.
		return o, fmt.Errorf("retention %v is below the server's minimum of %v", o.Retention, minRetention)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.LogLevel == nil {
		o.LogLevel = defaultLogLevel
	}
	return o, nil
}

// dialableIP turns a wildcard listen address into one clients can dial.
func dialableIP(ip string) string {
	if net.ParseIP(ip).IsUnspecified() {
		return defaultIP
	}
	return ip
}

type ports struct {
	frontend, frontendHTTP, history, matching, worker int
}

func pickPorts(opts Options) (ports, error) {
	var p ports
	if opts.FrontendPort == 0 {
		port, err := freePort(opts.IP)
		if err != nil {
			return p, err
		}
		p.frontend = port
	} else if err := checkPortFree(opts.IP, opts.FrontendPort); err != nil {
		return p, fmt.Errorf("frontend port %d: %w", opts.FrontendPort, err)
	} else {
		p.frontend = opts.FrontendPort
	}
	// The UI server exits the process when it cannot listen: check first.
	if opts.UIPort != 0 {
		if err := checkPortFree(opts.IP, opts.UIPort); err != nil {
			return p, fmt.Errorf("UI port %d: %w", opts.UIPort, err)
		}
	}
	for _, port := range []*int{&p.frontendHTTP, &p.history, &p.matching, &p.worker} {
		var err error
		if *port, err = freePort(opts.IP); err != nil {
			return p, err
		}
	}
	return p, nil
}

// clientTLS is the TLS configuration of the server's own clients.
func (t *TLS) clientTLS() (*tls.Config, error) {
	if t == nil {
		return nil, nil
	}
	caPEM, err := os.ReadFile(t.CAFile)
	if err != nil {
		return nil, fmt.Errorf("TLS CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("TLS CA %s holds no PEM certificate", t.CAFile)
	}
	c := &tls.Config{RootCAs: pool, ServerName: t.ServerName, MinVersion: tls.VersionTLS12}
	if t.ClientCertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.ClientCertFile, t.ClientKeyFile)
		if err != nil {
			return nil, fmt.Errorf("TLS client certificate: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

func (s *Server) startUI(ctx context.Context, opts Options) error {
	s.uiAddress = net.JoinHostPort(dialableIP(opts.IP), strconv.Itoa(opts.UIPort))
	host := opts.IP
	if ip := net.ParseIP(host); ip.To4() == nil {
		host = "[" + host + "]" // the UI server formats host:port itself
	}
	s.ui = uiserver.NewServer(uiserveroptions.WithConfigProvider(&uiconfig.Config{
		Host:                host,
		Port:                opts.UIPort,
		TemporalGRPCAddress: s.frontendAddress,
		EnableUI:            true,
		DefaultNamespace:    opts.Namespace,
		CORS:                uiconfig.CORS{CookieInsecure: true},
		HideLogs:            true,
		DisableNewsFetch:    true,
	}))
	s.uiDone = make(chan struct{})
	// Start blocks until Stop. It returns nil after Stop; on a listen error
	// it exits the process itself (pickPorts checked the port beforehand).
	go func() {
		defer close(s.uiDone)
		if err := s.ui.Start(); err != nil {
			s.logger.Error("Temporal UI server failed", "error", err)
		}
	}()
	if err := waitListening(ctx, s.uiAddress); err != nil {
		return fmt.Errorf("temporal UI at %s: %w", s.uiAddress, err)
	}
	return nil
}

// waitListening returns once address accepts TCP connections.
func waitListening(ctx context.Context, address string) error {
	var dialer net.Dialer
	for {
		conn, err := dialer.DialContext(ctx, "tcp", address)
		if err == nil {
			return conn.Close()
		}
		if err := sleep(ctx, 20*time.Millisecond); err != nil {
			return fmt.Errorf("not listening: %w", err)
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
