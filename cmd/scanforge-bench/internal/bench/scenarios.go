package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/scanforge/scanforge/internal/procstat"
)

// Slugs of the codes every stack gets: scans of plainSlug go to no endpoint
// (scenario 1 measures the redirect path: lookup, enrichment, durable
// group-committed insert, outbox drain), scans of hookSlug to the receiver.
// Scenarios, in the order they run.
const (
	ScenarioRedirects  = "redirects"
	ScenarioWebhook    = "webhook"
	ScenarioThroughput = "throughput"
	ScenarioBurst      = "burst"
	// ScenarioFanout is a burst to a code with FanoutEndpoints endpoints.
	ScenarioFanout = "fanout"
)

const (
	plainSlug = "bench-plain"
	hookSlug  = "bench-hook"
	fanSlug   = "bench-fan"
)

// stackRun is one stack under test and what the scenarios share.
type stackRun struct {
	opts     Options
	name     string
	stack    *child
	bare     *child
	rcv      *receiver
	load     *http.Client
	hookCode string
	endpoint string
}

func (s *stackRun) progress(format string, args ...any) {
	fmt.Fprintf(s.opts.Progress, "[%s %s] %s\n", time.Now().Format("15:04:05"), s.name, fmt.Sprintf(format, args...))
}

func runStackScenarios(ctx context.Context, opts Options, name string, revision int) (*StackReport, error) {
	s := &stackRun{opts: opts, name: name}
	began := time.Now()
	var desc string
	if isProduction(name) {
		if revision != 0 {
			return nil, fmt.Errorf("-revisions applies to the dev stacks only")
		}
		stack, d, cleanup, err := startProduction(ctx, opts, name)
		if err != nil {
			return nil, err
		}
		defer cleanup()
		s.stack, desc = stack, d
	} else {
		env, d, cleanup, err := stackEnv(opts, name)
		if err != nil {
			return nil, err
		}
		defer cleanup()
		desc = d
		if revision != 0 {
			env = append(env, RevisionEnv+"="+strconv.Itoa(revision))
			s.name = fmt.Sprintf("%s-r%d", name, revision)
		}
		s.progress("starting the stack process (%s)", desc)
		s.stack, err = startChild(ctx, opts.Executable, roleStack, env, opts.ChildLogs)
		if err != nil {
			return nil, err
		}
		if name == StackPostgres {
			// Counted only when PostgreSQL runs on this machine (its processes
			// are visible); a remote server shows as 0.
			s.stack.databaseCPU = procstat.PostgresCPU
		}
		defer func() {
			if err := s.stack.stop(); err != nil {
				s.progress("stack process: %v", err)
			}
		}()
	}
	sr := &StackReport{
		Name: s.name, Description: desc, Revision: revision,
		StartupMS: s.stack.info.StartupMS, ProcessReadyMS: time.Since(began).Milliseconds(),
	}
	var err error
	if s.rcv, err = startReceiver(""); err != nil {
		return sr, err
	}
	defer s.rcv.close()
	s.load = newLoadClient(max(slices.Max(opts.Sizes.RedirectConcurrencies), opts.Sizes.BurstConcurrency, 64))
	if err := s.setup(ctx); err != nil {
		return sr, fmt.Errorf("setup: %w", err)
	}

	for _, sc := range []struct {
		name string
		run  func(context.Context) error
	}{
		{ScenarioRedirects, func(ctx context.Context) (err error) { sr.Redirects, err = s.redirectsWithBare(ctx); return err }},
		{ScenarioWebhook, func(ctx context.Context) (err error) { sr.ScanToWebhook, err = s.scanToWebhook(ctx); return err }},
		{ScenarioThroughput, func(ctx context.Context) (err error) { sr.Delivery, err = s.throughput(ctx); return err }},
		{ScenarioBurst, func(ctx context.Context) (err error) {
			sr.Burst, err = s.burst(ctx, hookSlug, s.name+"-s4", s.opts.Sizes.Burst, 1)
			return err
		}},
		{ScenarioFanout, func(ctx context.Context) (err error) {
			sr.Fanout, err = s.burst(ctx, fanSlug, s.name+"-s5", s.opts.Sizes.FanoutBurst, s.opts.Sizes.FanoutEndpoints)
			return err
		}},
	} {
		if len(opts.Scenarios) > 0 && !slices.Contains(opts.Scenarios, sc.name) {
			continue
		}
		if isProduction(name) && !slices.Contains(productionScenarios, sc.name) {
			s.progress("%s: not run on the production shape (it needs the dev stack's control server)", sc.name)
			continue
		}
		stopProfile := s.profile(ctx, sc.name)
		err := sc.run(ctx)
		stopProfile()
		if err != nil {
			return sr, fmt.Errorf("%s: %w", sc.name, err)
		}
		sr.Scenarios = append(sr.Scenarios, sc.name)
	}
	sr.PeakRSSMiB, _ = s.stack.memory()
	sr.InvalidSignatures = s.rcv.invalidCount()
	sr.Targets = targets(sr)
	return sr, nil
}

// profile starts a CPU profile of the stack process for scenario when
// Options.ProfileDir is set, and returns the function that stops it.
func (s *stackRun) profile(ctx context.Context, scenario string) func() {
	if s.opts.ProfileDir == "" {
		return func() {}
	}
	path, err := filepath.Abs(filepath.Join(s.opts.ProfileDir, s.name+"-"+scenario+".pprof"))
	if err == nil {
		err = s.stack.controlCall(ctx, "/profile/start", map[string]string{"path": path}, &struct{}{})
	}
	if err != nil {
		s.progress("profile %s: %v", scenario, err)
		return func() {}
	}
	return func() {
		if err := s.stack.controlCall(ctx, "/profile/stop", map[string]string{}, &struct{}{}); err != nil {
			s.progress("profile %s: %v", scenario, err)
		}
	}
}

// saveProfile writes the stack process's runtime profile name (heap,
// goroutine, …) into ProfileDir as <stack>-<file>.pprof.
func (s *stackRun) saveProfile(ctx context.Context, name, file string) {
	path := filepath.Join(s.opts.ProfileDir, s.name+"-"+file+".pprof")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.stack.info.Control+"/profile/"+name, nil)
	if err != nil {
		s.progress("profile %s: %v", name, err)
		return
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.progress("profile %s: %v", name, err)
		return
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err == nil && res.StatusCode != http.StatusOK {
		err = fmt.Errorf("%s", res.Status)
	}
	if err == nil {
		err = os.WriteFile(path, b, 0o644)
	}
	if err != nil {
		s.progress("profile %s: %v", name, err)
	}
}

// setup creates the two codes and the receiver's endpoint through the API.
func (s *stackRun) setup(ctx context.Context) error {
	var fanCode string
	for _, slug := range []string{plainSlug, hookSlug, fanSlug} {
		var code struct{ ID string }
		if err := s.api(ctx, "/api/v1/codes", map[string]any{
			"slug": slug, "name": "Benchmark " + slug, "destination_url": "https://shop.example.com/spring",
		}, &code); err != nil {
			return err
		}
		switch slug {
		case hookSlug:
			s.hookCode = code.ID
		case fanSlug:
			fanCode = code.ID
		}
	}
	for n := range s.opts.Sizes.FanoutEndpoints {
		var ep struct{ Secret string }
		url := s.rcv.endpointURL(n + 1)
		if err := s.api(ctx, "/api/v1/endpoints", map[string]any{
			"url": url, "description": "benchmark receiver " + strconv.Itoa(n+1), "code_ids": []string{fanCode},
		}, &ep); err != nil {
			return err
		}
		s.rcv.setPathSecret(strings.TrimPrefix(url, strings.TrimSuffix(s.rcv.url, "/webhooks")), ep.Secret)
	}
	var ep struct{ ID, Secret string }
	if err := s.api(ctx, "/api/v1/endpoints", map[string]any{
		"url": s.rcv.url, "description": "benchmark receiver", "code_ids": []string{s.hookCode},
	}, &ep); err != nil {
		return err
	}
	s.endpoint = ep.ID
	s.rcv.setSecret(ep.Secret)
	return nil
}

func (s *stackRun) api(ctx context.Context, path string, body, out any) error {
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.stack.info.HTTP+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+s.stack.info.APIKey)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusCreated {
		return fmt.Errorf("POST %s: %s: %s", path, res.Status, raw)
	}
	return json.Unmarshal(raw, out)
}

// measured runs load against c's process and adds the process's CPU time.
func measured(c *child, load func() run) Figures {
	dbCPU := func() time.Duration { return 0 }
	if c.databaseCPU != nil {
		dbCPU = c.databaseCPU
	}
	// The /metrics reads stay outside the CPU window: rendering them costs
	// both processes CPU that no request caused.
	scans0, commits0 := c.scanBatches()
	cpu0, self0, db0 := c.cpu(), selfCPU(), dbCPU()
	f := load().figures()
	cpu, self, db := c.cpu(), selfCPU(), dbCPU()
	f.CPUSeconds = round((cpu - cpu0).Seconds(), 2)
	if f.Seconds > 0 {
		f.CoresBusy = round(((cpu-cpu0)+(self-self0)+(db-db0)).Seconds()/f.Seconds, 2)
	}
	if f.Requests > 0 {
		perRequest := func(d time.Duration) float64 { return round(d.Seconds()*1000/float64(f.Requests), 3) }
		f.CPUPerRequestMS = round(f.CPUSeconds*1000/float64(f.Requests), 3)
		f.ClientCPUPerRequestMS = perRequest(self - self0)
		f.DatabaseCPUPerRequestMS = perRequest(db - db0)
	}
	if scans, commits := c.scanBatches(); commits > commits0 {
		f.ScansPerCommit = round((scans-scans0)/(commits-commits0), 1)
	}
	return f
}
