package main

import (
	"os/exec"
	"testing"

	"gopkg.in/yaml.v3"
)

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

// TestComposeFileIsValid has Docker Compose parse docker-compose.yml and
// checks the shape the README promises: every service, start order, health
// checks, and a worker that scales (no published port, no fixed name).
func TestComposeFileIsValid(t *testing.T) {
	argv := append(composeCommand(t), "-f", "../../docker-compose.yml", "config")
	out, err := exec.Command(argv[0], argv[1:]...).Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("%v: %v\n%s", argv, err, msg)
	}
	type service struct {
		Image         string
		Ports         []any
		ContainerName string                                `yaml:"container_name"`
		DependsOn     map[string]struct{ Condition string } `yaml:"depends_on"`
		Healthcheck   *struct{ Test []string }
		Environment   map[string]string
	}
	var cfg struct{ Services map[string]service }
	if err := yaml.Unmarshal(out, &cfg); err != nil {
		t.Fatalf("compose config output: %v", err)
	}
	for _, name := range []string{"postgres", "temporal", "temporal-ui", "migrate", "serve", "worker"} {
		if _, ok := cfg.Services[name]; !ok {
			t.Errorf("no %s service", name)
		}
	}
	for _, name := range []string{"postgres", "temporal", "serve", "worker"} {
		if cfg.Services[name].Healthcheck == nil {
			t.Errorf("%s has no health check", name)
		}
	}
	order := map[string]map[string]string{
		"temporal": {"postgres": "service_healthy"},
		"migrate":  {"postgres": "service_healthy"},
		"serve":    {"migrate": "service_completed_successfully", "temporal": "service_healthy"},
		"worker":   {"migrate": "service_completed_successfully", "temporal": "service_healthy"},
	}
	for svc, deps := range order {
		for dep, cond := range deps {
			if got := cfg.Services[svc].DependsOn[dep].Condition; got != cond {
				t.Errorf("%s waits for %s with %q, want %q", svc, dep, got, cond)
			}
		}
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
