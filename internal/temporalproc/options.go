package temporalproc

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"net"
	"strconv"
	"time"

	"github.com/scanforge/scanforge/internal/devserver"
)

// Postgres is where the server keeps its data.
type Postgres struct {
	Host     string // default 127.0.0.1
	Port     int    // default 5432
	User     string // default postgres
	Password string
}

// Ports are every port the server listens on. Zero fields get free ports
// at the first Start; Restart reuses them.
type Ports struct {
	Frontend, FrontendHTTP, History, Matching, Worker                           int
	FrontendMembership, HistoryMembership, MatchingMembership, WorkerMembership int
	Metrics                                                                     int // Prometheus /metrics
}

// Options configure a server.
type Options struct {
	Binaries Binaries // from Build
	// Dir is the server's root directory: its configuration is written
	// under Dir/config. Required; it must exist.
	Dir      string
	Postgres Postgres
	// Database and VisibilityDatabase are the names of the two databases;
	// default "temporal" and "temporal_visibility".
	Database, VisibilityDatabase string
	IP                           string // to listen on; default 127.0.0.1
	Ports                        Ports
	// Namespace is registered (if missing) with Retention, and gets
	// ScanForge's search attributes; default "default", 7 days.
	Namespace string
	Retention time.Duration
	// DynamicConfig is applied on top of the dev server's tuned settings
	// (devserver.TunedDynamicConfig), keyed by dynamic config name.
	DynamicConfig map[string]any
	// EditConfig, if set, may change the server configuration (the YAML of
	// the module's config/development-postgres12.yaml with names and ports
	// already set) before it is written. For TLS on the frontend, set e.g.
	// global.tls.frontend.server.{certFile,keyFile} and, for mTLS,
	// server.requireClientAuth and server.clientCaFiles (see Temporal's
	// common/config.GroupTLS); then give ClientTLS.
	EditConfig func(conf map[string]any) error
	// ClientTLS is the TLS configuration Start's own client (health check,
	// namespace registration) dials the frontend with; nil: plain.
	ClientTLS *tls.Config
	// RestartOnExit starts the server again a second after it exits by
	// itself (not through Kill or Stop), as a process supervisor would.
	RestartOnExit bool
	// LogLevel of the server: debug, info, warn (default) or error.
	LogLevel string
	// Logs receives the server's and the schema tool's output; default
	// io.Discard.
	Logs io.Writer
}

func (o Options) withDefaults() (Options, error) {
	if o.Binaries.Server == "" || o.Binaries.ModuleDir == "" {
		return o, errors.New("temporalproc: Options.Binaries is required (see Build)")
	}
	if o.Dir == "" {
		return o, errors.New("temporalproc: Options.Dir is required")
	}
	if o.Postgres.Host == "" {
		o.Postgres.Host = defaultIP
	}
	if o.Postgres.Port == 0 {
		o.Postgres.Port = 5432
	}
	if o.Postgres.User == "" {
		o.Postgres.User = "postgres"
	}
	if o.Database == "" {
		o.Database = "temporal"
	}
	if o.VisibilityDatabase == "" {
		o.VisibilityDatabase = "temporal_visibility"
	}
	if o.IP == "" {
		o.IP = defaultIP
	}
	if o.Namespace == "" {
		o.Namespace = defaultNamespace
	}
	if o.Retention == 0 {
		o.Retention = defaultRetention
	}
	if o.LogLevel == "" {
		o.LogLevel = "warn"
	}
	if o.Logs == nil {
		o.Logs = io.Discard
	}
	for _, p := range []*int{
		&o.Ports.Frontend, &o.Ports.FrontendHTTP, &o.Ports.History, &o.Ports.Matching, &o.Ports.Worker,
		&o.Ports.Metrics,
	} {
		if *p == 0 {
			port, err := devserver.FreePort()
			if err != nil {
				return o, err
			}
			*p = port
		}
	}
	for _, p := range []*int{
		&o.Ports.FrontendMembership, &o.Ports.HistoryMembership, &o.Ports.MatchingMembership, &o.Ports.WorkerMembership,
	} {
		if *p == 0 {
			port, err := freeMembershipPort(o.IP)
			if err != nil {
				return o, err
			}
			*p = port
		}
		if *p > maxMembershipPort {
			return o, fmt.Errorf("temporalproc: membership port %d is above %d (the cluster_membership table keeps it as a smallint)", *p, maxMembershipPort)
		}
	}
	return o, nil
}

// maxMembershipPort: the SQL schema stores membership ports as smallint.
const maxMembershipPort = 32767

// freeMembershipPort picks a free port below the ephemeral range, where
// the OS's own choices (FreePort) never land.
func freeMembershipPort(ip string) (int, error) {
	for range 200 {
		port := 20000 + mathrand.IntN(maxMembershipPort-20000)
		ln, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
		if err == nil {
			ln.Close()
			return port, nil
		}
	}
	return 0, errors.New("temporalproc: no free membership port between 20000 and 32767")
}
