package bench

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"
)

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
