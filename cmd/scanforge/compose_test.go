package main

import (
	"bufio"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const composePath = "../../docker-compose.yml"

type composeService struct {
	Image         string
	Ports         []any
	ContainerName string                                `yaml:"container_name"`
	DependsOn     map[string]struct{ Condition string } `yaml:"depends_on"`
	Healthcheck   *struct{ Test []string }
	Environment   map[string]string
	Volumes       []any
	Restart       string
}

type composeFile struct {
	Services map[string]composeService
	Volumes  map[string]any
}

// TestComposeFile reads docker-compose.yml as plain YAML, so it runs without
// Docker: the Temporal images are the versions go.mod builds and tests
// against, and the file has the shape the docs promise.
func TestComposeFile(t *testing.T) {
	raw, err := os.ReadFile(composePath)
	if err != nil {
		t.Fatal(err)
	}
	var cfg composeFile
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatalf("%s: %v", composePath, err)
	}
	checkComposeVersions(t, cfg)
	checkComposeShape(t, cfg)
}

// TestComposeFileIsValid has Docker Compose itself parse docker-compose.yml
// (its schema, interpolation, merge keys) and checks the result the same way.
func TestComposeFileIsValid(t *testing.T) {
	argv := append(composeCommand(t), "-f", composePath, "config")
	out, err := exec.Command(argv[0], argv[1:]...).Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("%v: %v\n%s", argv, err, msg)
	}
	var cfg composeFile
	if err := yaml.Unmarshal(out, &cfg); err != nil {
		t.Fatalf("compose config output: %v", err)
	}
	checkComposeVersions(t, cfg)
	checkComposeShape(t, cfg)
}

// composeCommand returns the Docker Compose command line of this machine:
// the `docker compose` plugin, or the standalone docker-compose.
func composeCommand(t *testing.T) []string {
	t.Helper()
	if _, err := exec.LookPath("docker"); err == nil && exec.Command("docker", "compose", "version").Run() == nil {
		return []string{"docker", "compose"}
	}
	if _, err := exec.LookPath("docker-compose"); err == nil {
		return []string{"docker-compose"}
	}
	t.Skip("no docker compose client on this machine")
	return nil
}

// checkComposeVersions: the Temporal server, its admin tools and the Web UI
// run the versions go.mod pins for the embedded server and UI, which every
// test runs against.
func checkComposeVersions(t *testing.T, cfg composeFile) {
	t.Helper()
	server := strings.TrimPrefix(goModVersion(t, "go.temporal.io/server"), "v")
	ui := strings.TrimPrefix(goModVersion(t, "github.com/temporalio/ui-server/v2"), "v")
	want := map[string]string{
		"temporal":           "temporalio/server:" + server,
		"temporal-schema":    "temporalio/admin-tools:" + server,
		"temporal-namespace": "temporalio/admin-tools:" + server,
		"temporal-ui":        "temporalio/ui:" + ui,
	}
	for name, image := range want {
		if got := cfg.Services[name].Image; got != image {
			t.Errorf("%s runs image %q, want %q (the version in go.mod)", name, got, image)
		}
	}
}

// checkComposeShape checks what the README and docs/deploying.md promise:
// every service, start order, health checks, one-shot steps, the Temporal
// configuration dev mode is tuned with, serve's spool on a volume, and a
// worker that scales (no published port, no fixed name).
func checkComposeShape(t *testing.T, cfg composeFile) {
	t.Helper()
	for _, name := range []string{"postgres", "temporal-schema", "temporal", "temporal-namespace", "temporal-ui", "migrate", "serve", "worker"} {
		if _, ok := cfg.Services[name]; !ok {
			t.Errorf("no %s service", name)
		}
	}
	for _, name := range []string{"postgres", "temporal", "serve", "worker"} {
		if cfg.Services[name].Healthcheck == nil {
			t.Errorf("%s has no health check", name)
		}
	}
	for _, name := range []string{"temporal-schema", "temporal-namespace", "migrate"} {
		if got := cfg.Services[name].Restart; got != "no" {
			t.Errorf("one-shot %s has restart %q, want \"no\"", name, got)
		}
	}
	order := map[string]map[string]string{
		"temporal-schema":    {"postgres": "service_healthy"},
		"temporal":           {"temporal-schema": "service_completed_successfully"},
		"temporal-namespace": {"temporal": "service_healthy"},
		"temporal-ui":        {"temporal": "service_healthy"},
		"migrate":            {"postgres": "service_healthy"},
		"serve":              {"migrate": "service_completed_successfully", "temporal": "service_healthy", "temporal-namespace": "service_completed_successfully"},
		"worker":             {"migrate": "service_completed_successfully", "temporal": "service_healthy", "temporal-namespace": "service_completed_successfully"},
	}
	for svc, deps := range order {
		for dep, cond := range deps {
			if got := cfg.Services[svc].DependsOn[dep].Condition; got != cond {
				t.Errorf("%s waits for %s with %q, want %q", svc, dep, got, cond)
			}
		}
	}

	temporal := cfg.Services["temporal"].Environment
	if temporal["DB"] != "postgres12" || temporal["NUM_HISTORY_SHARDS"] == "" {
		t.Errorf("temporal: DB %q, NUM_HISTORY_SHARDS %q: want postgres12 and a stated shard count", temporal["DB"], temporal["NUM_HISTORY_SHARDS"])
	}
	dynamicConfig := temporal["DYNAMIC_CONFIG_FILE_PATH"]
	if !slices.ContainsFunc(volumeStrings(cfg.Services["temporal"].Volumes), func(v string) bool {
		return strings.HasSuffix(v, "deploy/temporal/dynamicconfig.yaml:"+dynamicConfig+":ro")
	}) {
		t.Errorf("temporal does not mount deploy/temporal/dynamicconfig.yaml at DYNAMIC_CONFIG_FILE_PATH %q: %v",
			dynamicConfig, cfg.Services["temporal"].Volumes)
	}

	spool := cfg.Services["serve"].Environment["SCANFORGE_SPOOL_DIR"]
	if spool == "" {
		t.Error("serve has no SCANFORGE_SPOOL_DIR")
	} else if !slices.ContainsFunc(volumeStrings(cfg.Services["serve"].Volumes), func(v string) bool {
		name, target, ok := strings.Cut(v, ":")
		_, declared := cfg.Volumes[name]
		return ok && declared && strings.TrimSuffix(target, ":rw") == spool
	}) {
		t.Errorf("serve's spool %s is not on a named volume: %v", spool, cfg.Services["serve"].Volumes)
	}

	worker := cfg.Services["worker"]
	if len(worker.Ports) > 0 || worker.ContainerName != "" {
		t.Errorf("worker cannot scale: ports %v, container_name %q", worker.Ports, worker.ContainerName)
	}
	for _, name := range []string{"migrate", "serve", "worker"} {
		env := cfg.Services[name].Environment
		if env["DATABASE_URL"] == "" || env["TEMPORAL_ADDRESS"] == "" || env["SCANFORGE_LOG_FORMAT"] != "json" {
			t.Errorf("%s lacks the shared configuration: %v", name, env)
		}
	}
}

// volumeStrings returns a service's volumes as "source:target[:mode]",
// whether written in the short form (the file) or the long form (the
// output of `docker compose config`).
func volumeStrings(volumes []any) []string {
	var out []string
	for _, v := range volumes {
		switch v := v.(type) {
		case string:
			out = append(out, v)
		case map[string]any:
			s, _ := v["source"].(string)
			s += ":" + asString(v["target"])
			if ro, _ := v["read_only"].(bool); ro {
				s += ":ro"
			}
			out = append(out, s)
		}
	}
	return out
}

func asString(v any) string {
	s, _ := v.(string)
	return s
}

// goModVersion returns the version go.mod requires of module.
func goModVersion(t *testing.T, module string) string {
	t.Helper()
	f, err := os.Open("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(strings.TrimPrefix(strings.TrimSpace(sc.Text()), "require "))
		if len(fields) >= 2 && fields[0] == module {
			return fields[1]
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	t.Fatalf("go.mod does not require %s", module)
	return ""
}
