package temporalproc

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/scanforge/scanforge/internal/devserver"
)

// configEnv is the --env of the server: it reads config/<configEnv>.yaml.
const configEnv = "development-postgres12"

var discardLogger = slog.New(slog.DiscardHandler)

// SetupDatabases creates the server's two databases on opts.Postgres and
// their schemas at the module's newest version, with the schema tool
// (temporal-sql-tool --plugin postgres12: create-database, setup-schema -v
// 0.0, update-schema -d …/versioned). The databases must not exist yet.
func SetupDatabases(ctx context.Context, opts Options) error {
	opts, err := opts.withDefaults()
	if err != nil {
		return err
	}
	schemaRoot := filepath.Join(opts.Binaries.ModuleDir, "schema", "postgresql", "v12")
	for _, db := range []struct{ name, schema string }{
		{opts.Database, "temporal"},
		{opts.VisibilityDatabase, "visibility"},
	} {
		base := []string{
			"--plugin", "postgres12",
			"--ep", opts.Postgres.Host, "-p", strconv.Itoa(opts.Postgres.Port),
			"-u", opts.Postgres.User, "--db", db.name,
		}
		if opts.Postgres.Password != "" {
			base = append(base, "--pw", opts.Postgres.Password)
		}
		for _, step := range [][]string{
			{"create-database"},
			{"setup-schema", "-v", "0.0"},
			{"update-schema", "-d", filepath.Join(schemaRoot, db.schema, "versioned")},
		} {
			cmd := exec.CommandContext(ctx, opts.Binaries.SQLTool, append(base, step...)...)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("temporalproc: temporal-sql-tool %s on database %s: %w\n%s",
					step[0], db.name, err, strings.TrimSpace(out.String()))
			}
			_, _ = opts.Logs.Write(out.Bytes())
		}
	}
	return nil
}

// writeConfig writes Dir/config/development-postgres12.yaml (the module's
// file with databases, addresses and ports set) and the dynamic config it
// points to.
func writeConfig(opts Options) error {
	confDir := filepath.Join(opts.Dir, "config")
	if err := mkdir(filepath.Join(confDir, "dynamicconfig")); err != nil {
		return err
	}
	conf, err := readYAML(filepath.Join(opts.Binaries.ModuleDir, "config", configEnv+".yaml"))
	if err != nil {
		return err
	}
	dyn, err := readYAML(filepath.Join(opts.Binaries.ModuleDir, "config", "dynamicconfig", "development-sql.yaml"))
	if err != nil {
		return err
	}
	dynPath := filepath.Join(confDir, "dynamicconfig", "scanforge.yaml")
	if err := editConfig(conf, opts, dynPath); err != nil {
		return err
	}
	if opts.EditConfig != nil {
		if err := opts.EditConfig(conf); err != nil {
			return fmt.Errorf("temporalproc: EditConfig: %w", err)
		}
	}
	editDynamicConfig(dyn, opts)
	if err := writeYAML(dynPath, dyn); err != nil {
		return err
	}
	return writeYAML(filepath.Join(confDir, configEnv+".yaml"), conf)
}

func editConfig(conf map[string]any, opts Options, dynPath string) error {
	hostPort := func(port int) string { return net.JoinHostPort(opts.IP, strconv.Itoa(port)) }
	set(conf, []string{"log", "level"}, opts.LogLevel)
	for _, store := range []struct{ key, db string }{
		{"postgres-default", opts.Database},
		{"postgres-visibility", opts.VisibilityDatabase},
	} {
		path := []string{"persistence", "datastores", store.key, "sql"}
		set(conf, append(path, "databaseName"), store.db)
		set(conf, append(path, "connectAddr"), net.JoinHostPort(opts.Postgres.Host, strconv.Itoa(opts.Postgres.Port)))
		set(conf, append(path, "user"), opts.Postgres.User)
		set(conf, append(path, "password"), opts.Postgres.Password)
	}
	set(conf, []string{"global", "membership", "broadcastAddress"}, opts.IP)
	delete(mapAt(conf, "global"), "pprof") // a fixed port: two servers would clash
	set(conf, []string{"global", "metrics", "prometheus", "listenAddress"}, hostPort(opts.Ports.Metrics))
	p := opts.Ports
	for name, ports := range map[string][3]int{
		"frontend": {p.Frontend, p.FrontendMembership, p.FrontendHTTP},
		"history":  {p.History, p.HistoryMembership, 0},
		"matching": {p.Matching, p.MatchingMembership, 0},
		"worker":   {p.Worker, p.WorkerMembership, 0},
	} {
		rpc := []string{"services", name, "rpc"}
		set(conf, append(rpc, "grpcPort"), ports[0])
		set(conf, append(rpc, "membershipPort"), ports[1])
		if ports[2] != 0 {
			set(conf, append(rpc, "httpPort"), ports[2])
		}
		delete(mapAt(conf, rpc...), "bindOnLocalHost")
		set(conf, append(rpc, "bindOnIP"), opts.IP)
	}
	set(conf, []string{"clusterMetadata", "clusterInformation", "active", "rpcAddress"}, hostPort(p.Frontend))
	set(conf, []string{"clusterMetadata", "clusterInformation", "active", "httpAddress"}, hostPort(p.FrontendHTTP))
	set(conf, []string{"dynamicConfigClient", "filepath"}, dynPath)
	return nil
}

// editDynamicConfig applies the dev server's tuned settings and the
// caller's on top of the module's development-sql.yaml.
func editDynamicConfig(dyn map[string]any, opts Options) {
	values := devserver.TunedDynamicConfig()
	for k, v := range opts.DynamicConfig {
		values[strings.ToLower(k)] = v
	}
	// The file's keys are case-insensitive: drop the module's spelling of a
	// key set here.
	for k := range dyn {
		if _, ok := values[strings.ToLower(k)]; ok {
			delete(dyn, k)
		}
	}
	for k, v := range values {
		dyn[k] = []any{map[string]any{"value": v}}
	}
	dyn["component.nexusoperations.callback.endpoint.template"] = []any{map[string]any{
		"value": "http://" + net.JoinHostPort(opts.IP, strconv.Itoa(opts.Ports.FrontendHTTP)) +
			"/namespaces/{{.NamespaceName}}/nexus/callback",
	}}
}

// set sets the value at path, creating maps on the way.
func set(m map[string]any, path []string, v any) {
	for _, k := range path[:len(path)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[path[len(path)-1]] = v
}

// mapAt returns the map at path, or an empty one.
func mapAt(m map[string]any, path ...string) map[string]any {
	for _, k := range path {
		next, ok := m[k].(map[string]any)
		if !ok {
			return map[string]any{}
		}
		m = next
	}
	return m
}

func readYAML(path string) (map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("temporalproc: %w", err)
	}
	m := map[string]any{}
	if err := yaml.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("temporalproc: %s: %w", path, err)
	}
	return m, nil
}

func writeYAML(path string, v any) error {
	b, err := yaml.Marshal(v)
	if err != nil {
		return fmt.Errorf("temporalproc: %w", err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("temporalproc: %w", err)
	}
	return nil
}
