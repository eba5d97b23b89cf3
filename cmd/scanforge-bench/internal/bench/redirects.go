package bench

import (
	"context"
	"net/http"
	"slices"
	"time"
)

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
