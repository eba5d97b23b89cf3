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

// redirectsWithBare runs scenario 1 with a bare handler process beside.
func (s *stackRun) redirectsWithBare(ctx context.Context) (RedirectReport, error) {
	var err error
	s.bare, err = startChild(ctx, s.opts.Executable, roleBare, nil, s.opts.ChildLogs)
	if err != nil {
		return RedirectReport{}, err
	}
	defer func() {
		if err := s.bare.stop(); err != nil {
			s.progress("bare process: %v", err)
		}
	}()
	return s.redirects(ctx)
}

// redirects is scenario 1: closed-loop capacity of ours, the durable floor
// and the bare handler in alternating rounds, each round at every
// concurrency, then ours and bare at a fixed rate. A side's capacity is its
// best over all rounds and concurrencies: a path that waits for a commit
// before its 302 needs more requests in flight than bare Gin to keep the
// cores busy (Little's law), so one concurrency would measure the commit's
// latency rather than the throughput.
func (s *stackRun) redirects(ctx context.Context) (RedirectReport, error) {
	z := s.opts.Sizes
	rep := RedirectReport{Concurrencies: z.RedirectConcurrencies, FixedRate: z.FixedRate}
	ours := scanRequest(s.stack.info.HTTP+"/q/"+plainSlug, nil)
	bare := scanRequest(s.bare.info.HTTP+"/q/"+plainSlug, nil)
	floor := scanRequest(s.stack.info.Floor+"/q/"+plainSlug, nil)
	closed := func(c *child, req func(int) *http.Request, n, concurrency int) Figures {
		f := measured(c, func() run { return closedLoop(ctx, s.load, n, concurrency, req) })
		f.Concurrency = concurrency
		return f
	}
	warm := slices.Max(z.RedirectConcurrencies)
	closed(s.bare, bare, z.Warmup, warm)
	closed(s.stack, floor, z.Warmup, warm)
	closed(s.stack, ours, z.Warmup, warm)
	if _, err := s.stack.waitDrained(ctx, time.Minute); err != nil {
		return rep, err
	}
	if s.opts.ProfileDir != "" {
		// What the closed-loop rounds allocate: compare with
		// go tool pprof -base <stack>-redirects-allocs-before.pprof <stack>-redirects-allocs-after.pprof
		s.saveProfile(ctx, "allocs", "redirects-allocs-before")
		defer s.saveProfile(ctx, "allocs", "redirects-allocs-after")
	}
	for round := 1; round <= z.Rounds; round++ {
		for _, c := range z.RedirectConcurrencies {
			s.progress("redirects round %d/%d, concurrency %d: bare gin, durable floor, scanforge (%d requests each)", round, z.Rounds, c, z.RedirectRequests)
			rep.Bare = append(rep.Bare, closed(s.bare, bare, z.RedirectRequests, c))
			rep.Floor = append(rep.Floor, closed(s.stack, floor, z.RedirectRequests, c))
			rep.Ours = append(rep.Ours, closed(s.stack, ours, z.RedirectRequests, c))
		}
		pending, err := s.stack.waitDrained(ctx, 2*time.Minute)
		if err != nil {
			return rep, err
		}
		rep.PendingAfter = pending
	}
	for _, c := range z.RedirectConcurrencies {
		at := func(f Figures) bool { return f.Concurrency == c }
		rep.ByConcurrency = append(rep.ByConcurrency, capacity(c, filter(rep.Bare, at), filter(rep.Floor, at), filter(rep.Ours, at)))
	}
	rep.Capacity = capacity(0, rep.Bare, rep.Floor, rep.Ours)

	s.progress("redirects at a fixed %.0f/s: bare gin, then scanforge (%d requests each)", z.FixedRate, z.FixedRateRequests)
	rep.BareAtRate = measured(s.bare, func() run { return fixedRate(ctx, s.load, z.FixedRateRequests, z.FixedRate, bare) })
	rep.OursAtRate = measured(s.stack, func() run { return fixedRate(ctx, s.load, z.FixedRateRequests, z.FixedRate, ours) })
	pending, err := s.stack.waitDrained(ctx, 2*time.Minute)
	rep.PendingAfter = pending
	return rep, err
}

// scanToWebhook is scenario 2: scans at a fixed rate below capacity; time
// from each 302 to its signed webhook at the receiver.
func (s *stackRun) scanToWebhook(ctx context.Context) (WebhookReport, error) {
	z := s.opts.Sizes
	group := s.name + "-s2"
	rep := WebhookReport{Rate: z.ScanRate}
	s.progress("scan → webhook: %d scans at %.0f/s", z.Scans, z.ScanRate)
	req := scanRequest(s.stack.info.HTTP+"/q/"+hookSlug, func(i int) string { return marker(group, i) })
	var r run
	rep.Scans = measured(s.stack, func() run { r = fixedRate(ctx, s.load, z.Scans, z.ScanRate, req); return r })
	want := rep.Scans.Requests - rep.Scans.Errors
	s.rcv.waitFor(ctx, group, want, z.IdleTimeout)
	g, firsts := s.rcv.groupStats(group)
	var lat []time.Duration
	for i, sh := range r.Shots {
		if at, ok := firsts[strconv.Itoa(i)]; ok && sh.ok() {
			lat = append(lat, at.Sub(sh.Done))
		}
	}
	rep.Received, rep.Duplicates, rep.Missing = g.Unique, g.Duplicates, want-g.Unique
	rep.Latency = summarise(lat)
	return rep, nil
}

// throughput is scenario 3: the delivery workflow against the minimal
// one-activity workflow, started and awaited inside the stack process at
// the same concurrency, in alternating rounds.
func (s *stackRun) throughput(ctx context.Context) (ThroughputReport, error) {
	z := s.opts.Sizes
	rep := ThroughputReport{Concurrency: z.WorkflowConcurrency}
	// Warm both task queues and the worker's caches up first.
	for _, kind := range []string{"minimal", "delivery"} {
		if _, err := s.workflows(ctx, workflowsRequest{
			Kind: kind, N: max(z.WorkflowConcurrency, z.Workflows/10), Concurrency: z.WorkflowConcurrency,
			CodeID: s.hookCode, EndpointID: s.endpoint, Group: s.name + "-s3-warmup",
		}); err != nil {
			return rep, err
		}
	}
	for round := 1; round <= z.Rounds; round++ {
		// ABBA order over the rounds, so that a drift in the machine's load
		// does not favour one kind.
		kinds := []string{"minimal", "delivery"}
		if round%2 == 0 {
			kinds = []string{"delivery", "minimal"}
		}
		for _, kind := range kinds {
			s.progress("workflows round %d/%d: %d %s workflows, %d in flight", round, z.Rounds, z.Workflows, kind, z.WorkflowConcurrency)
			group := fmt.Sprintf("%s-s3-%d", s.name, round)
			f, err := s.workflows(ctx, workflowsRequest{
				Kind: kind, N: z.Workflows, Concurrency: z.WorkflowConcurrency,
				CodeID: s.hookCode, EndpointID: s.endpoint, Group: group,
			})
			if err != nil {
				return rep, err
			}
			if kind == "minimal" {
				rep.Minimal = append(rep.Minimal, f)
				rep.BestMinimal = max(rep.BestMinimal, f.PerSecond)
				continue
			}
			g, _ := s.rcv.groupStats(group)
			f.Received = g.Unique
			rep.Delivery = append(rep.Delivery, f)
			rep.BestDelivery = max(rep.BestDelivery, f.PerSecond)
		}
	}
	if rep.BestMinimal > 0 {
		rep.BestRatio = round(rep.BestDelivery/rep.BestMinimal, 3)
	}
	rep.Ratio = round(pairedRatio(rep.Delivery, rep.Minimal), 3)
	if minimal, delivery := leastWorkflowCPU(rep.Minimal), leastWorkflowCPU(rep.Delivery); delivery > 0 {
		rep.CPURatio = round(minimal/delivery, 3)
	}
	return rep, nil
}

func (s *stackRun) workflows(ctx context.Context, req workflowsRequest) (WorkflowFigures, error) {
	cpu0 := s.stack.cpu()
	var res workflowsResult
	if err := s.stack.controlCall(ctx, "/workflows", req, &res); err != nil {
		return WorkflowFigures{}, err
	}
	cpu := (s.stack.cpu() - cpu0).Seconds()
	lat := make([]time.Duration, len(res.Latencies))
	for i, us := range res.Latencies {
		lat[i] = time.Duration(us) * time.Microsecond
	}
	f := WorkflowFigures{
		Workflows: res.N, Errors: res.Errors, FirstError: res.FirstErr,
		Seconds:    round(res.Elapsed.Seconds(), 3),
		PerSecond:  round(float64(res.N-res.Errors)/res.Elapsed.Seconds(), 1),
		Latency:    summarise(lat),
		CPUSeconds: round(cpu, 2),
		Repolls:    res.Repolls,
	}
	if res.N > 0 {
		f.CPUPerWorkflowMS = round(cpu*1000/float64(res.N), 1)
	}
	return f, nil
}

// burst is scenario 4 (and 5, fan-out): n scans of slug, each delivered to
// endpoints endpoints, as fast as the redirect path takes them, then the
// wait until every webhook has arrived.
func (s *stackRun) burst(ctx context.Context, slug, group string, n, endpoints int) (BurstReport, error) {
	z := s.opts.Sizes
	rep := BurstReport{Concurrency: z.BurstConcurrency, Endpoints: endpoints}
	s.progress("burst: %d scans of %s at concurrency %d, %d endpoint(s)", n, slug, z.BurstConcurrency, endpoints)
	req := scanRequest(s.stack.info.HTTP+"/q/"+slug, func(i int) string { return marker(group, i) })
	cpu0, parts0 := s.stack.cpu(), s.stack.cpuByProcess("serve")
	began := time.Now()
	rep.Scans = measured(s.stack, func() run { return closedLoop(ctx, s.load, n, z.BurstConcurrency, req) })
	answered := time.Now()
	want := (rep.Scans.Requests - rep.Scans.Errors) * endpoints
	s.progress("burst: %d redirects answered in %.1fs; waiting for %d webhooks", rep.Scans.Requests, rep.Scans.Seconds, want)
	if s.opts.ProfileDir != "" && endpoints == 1 {
		// Half way through, the most deliveries are in flight: keep a heap profile.
		s.rcv.waitFor(ctx, group, want/2, z.IdleTimeout)
		s.saveProfile(ctx, "heap", "burst-heap")
		s.saveProfile(ctx, "goroutine", "burst-goroutine")
		var mem map[string]uint64
		if err := s.stack.controlCall(ctx, "/memstats", nil, &mem); err == nil {
			s.progress("burst half way: %d goroutines, Go heap in use %d MiB, stacks %d MiB, from the OS %d MiB",
				mem["goroutines"], mem["heap_inuse"]>>20, mem["stack_sys"]>>20, mem["sys"]>>20)
		}
	}
	s.rcv.waitFor(ctx, group, want, z.IdleTimeout)
	cpu := s.stack.cpu() - cpu0 // before the wait for late duplicates, when the process idles
	parts := s.stack.cpuByProcess("serve")
	// Let late duplicates (a retried attempt whose first POST did arrive) show.
	time.Sleep(2 * time.Second)
	g, _ := s.rcv.groupStats(group)
	rep.Received, rep.Duplicates, rep.Missing = g.Unique, g.Duplicates, want-g.Unique
	if !g.Last.IsZero() {
		rep.AllArrivedSeconds = round(g.Last.Sub(began).Seconds(), 2)
		rep.AfterLastRedirectSeconds = round(g.Last.Sub(answered).Seconds(), 2)
		rep.DeliveriesPerSecond = round(float64(g.Unique)/g.Last.Sub(began).Seconds(), 1)
	}
	rep.CPUSeconds = round(cpu.Seconds(), 1)
	if g.Unique > 0 {
		rep.CPUPerDeliveryMS = round(cpu.Seconds()*1000/float64(g.Unique), 2)
		if len(s.stack.parts) > 0 {
			rep.CPUPerDeliveryMSByProcess = map[string]float64{}
			var all time.Duration
			for name, d := range parts {
				used := d - parts0[name]
				all += used
				rep.CPUPerDeliveryMSByProcess[name] = round(used.Seconds()*1000/float64(g.Unique), 2)
			}
			rep.CPUPerDeliveryMSAllProcesses = round(all.Seconds()*1000/float64(g.Unique), 2)
		}
	}
	rep.PeakRSSMiB, _ = s.stack.memory()
	return rep, nil
}

// capacity compares the best rounds of each side among runs.
func capacity(concurrency int, bare, floor, ours []Figures) Capacity {
	c := Capacity{Concurrency: concurrency}
	for _, f := range bare {
		c.BestBare = max(c.BestBare, f.PerSecond)
	}
	for _, f := range floor {
		c.BestFloor = max(c.BestFloor, f.PerSecond)
	}
	for _, f := range ours {
		c.BestOurs = max(c.BestOurs, f.PerSecond)
	}
	if c.BestBare > 0 {
		c.Ratio = round(c.BestOurs/c.BestBare, 3)
		c.FloorRatio = round(c.BestFloor/c.BestBare, 3)
	}
	bareCPU, floorCPU, oursCPU := leastCPU(bare), leastCPU(floor), leastCPU(ours)
	if oursCPU > 0 {
		c.CPURatio = round(bareCPU/oursCPU, 3)
	}
	if floorCPU > 0 {
		c.FloorCPURatio = round(bareCPU/floorCPU, 3)
	}
	return c
}

// filter returns the runs for which keep is true.
func filter(runs []Figures, keep func(Figures) bool) []Figures {
	var out []Figures
	for _, f := range runs {
		if keep(f) {
			out = append(out, f)
		}
	}
	return out
}

// pairedRatio is the median over rounds of each round's delivery rate over
// its minimal rate: the two kinds of a round run back to back, first one
// then the other in turn (ABBA), so a drift over the rounds cancels out.
// The server slows as its history grows (the first position of a run was
// the fastest of its kind in five stack runs of six), so the best round of
// each kind, as compared until the seventh round, favoured whichever kind
// ran first.
func pairedRatio(delivery, minimal []WorkflowFigures) float64 {
	var ratios []float64
	for i := range min(len(delivery), len(minimal)) {
		if minimal[i].PerSecond > 0 {
			ratios = append(ratios, delivery[i].PerSecond/minimal[i].PerSecond)
		}
	}
	return median(ratios)
}

// median is the middle value of xs (the mean of the two middle ones for an
// even count); 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// leastCPU is the lowest server+client+database CPU per request over runs.
func leastCPU(runs []Figures) float64 {
	least := 0.0
	for _, f := range runs {
		if c := f.CPUPerRequestMS + f.ClientCPUPerRequestMS + f.DatabaseCPUPerRequestMS; c > 0 && (least == 0 || c < least) {
			least = c
		}
	}
	return least
}

// leastWorkflowCPU is the lowest process CPU per workflow over runs.
func leastWorkflowCPU(runs []WorkflowFigures) float64 {
	least := 0.0
	for _, f := range runs {
		if c := f.CPUPerWorkflowMS; c > 0 && (least == 0 || c < least) {
			least = c
		}
	}
	return least
}
