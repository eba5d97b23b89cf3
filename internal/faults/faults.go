// Package faults is ScanForge's fault suite of the production shape, run
// as OS processes from real parts: a private PostgreSQL cluster holding the
// app and Temporal databases, the official Temporal server
// (internal/temporalproc), `scanforge migrate`, two `scanforge serve` and
// two `scanforge worker` processes, a webhook receiver that fails some
// first attempts, and a scan load spread over both serves. Each scenario
// injects one fault under load (kill -9, outage, partition, a bad
// receiver), recovers, and counts what scanners and the receiver saw: every
// scan answered 302 must reach the receiver (lost = 0).
package faults

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Scenario names, in the order a full run takes them.
const (
	ScenarioWorkerKill       = "worker-kill"
	ScenarioServeKill        = "serve-kill"
	ScenarioTemporalKill     = "temporal-kill"
	ScenarioPostgresRestart  = "postgres-restart"
	ScenarioPostgresDown     = "postgres-down"
	ScenarioPartitionWorker  = "partition-worker-temporal"
	ScenarioPartitionServeDB = "partition-serve-postgres"
	ScenarioReceiverHang     = "receiver-hang"
	ScenarioReceiverDown     = "receiver-down"
)

// Scenarios lists every scenario in run order.
func Scenarios() []string {
	return []string{
		ScenarioWorkerKill, ScenarioServeKill, ScenarioTemporalKill, ScenarioPostgresRestart,
		ScenarioPostgresDown, ScenarioPartitionWorker, ScenarioPartitionServeDB,
		ScenarioReceiverHang, ScenarioReceiverDown,
	}
}

// Sizes set the load and the length of the faults.
type Sizes struct {
	Rate         float64       // scans per second, open loop
	Before       time.Duration // load before the fault
	After        time.Duration // load after recovery
	KillPause    time.Duration // a killed serve or worker stays down this long
	TemporalDown time.Duration
	Outage       time.Duration // PostgreSQL down, partitions, hanging receiver
	ReceiverDown time.Duration
	FailEvery    int // the receiver fails the first attempt of 1 event in FailEvery
	// DrainTimeout bounds the wait for webhooks after recovery.
	DrainTimeout time.Duration
}

// FullSizes is the documented full run.
func FullSizes() Sizes {
	return Sizes{
		Rate: 20, Before: 20 * time.Second, After: 20 * time.Second, KillPause: 5 * time.Second,
		TemporalDown: time.Minute, Outage: 30 * time.Second, ReceiverDown: 2 * time.Minute,
		FailEvery: 5, DrainTimeout: 5 * time.Minute,
	}
}

// ShortSizes is the test command's run: a few hundred scans.
func ShortSizes() Sizes {
	return Sizes{
		Rate: 10, Before: 8 * time.Second, After: 8 * time.Second, KillPause: 3 * time.Second,
		TemporalDown: 20 * time.Second, Outage: 15 * time.Second, ReceiverDown: 30 * time.Second,
		FailEvery: 5, DrainTimeout: 3 * time.Minute,
	}
}

// Options configure Run.
type Options struct {
	ProjectDir string // the module root: scanforge and temporal-server are built from it
	Scanforge  string // a scanforge binary to use instead of building one
	CacheDir   string // temporal-server build cache (temporalproc.BuildOptions)
	Scenarios  []string
	Sizes      Sizes
	LogDir     string    // keeps processes.log; default a directory removed at the end
	Progress   io.Writer // progress lines; default io.Discard
	Command    string    // the command line, for the report
}

// Run starts the stack once and runs the scenarios one after the other.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	if len(opts.Scenarios) == 0 {
		opts.Scenarios = Scenarios()
	}
	for _, name := range opts.Scenarios {
		if !slices.Contains(Scenarios(), name) {
			return nil, fmt.Errorf("unknown scenario %q (known: %s)", name, strings.Join(Scenarios(), ", "))
		}
	}
	if opts.Sizes.Rate <= 0 {
		return nil, errors.New("sizes: the scan rate must be above 0")
	}
	rep := &Report{Command: opts.Command, Started: time.Now().UTC().Truncate(time.Second), Sizes: opts.Sizes}
	s, err := startStack(ctx, opts)
	if err != nil {
		return rep, fmt.Errorf("start the stack: %w", err)
	}
	defer s.close()
	for _, name := range Scenarios() {
		if !slices.Contains(opts.Scenarios, name) {
			continue
		}
		if err := s.healthy(ctx); err != nil {
			return rep, fmt.Errorf("before %s: %w", name, err)
		}
		s.progress("scenario %s", name)
		r, err := s.runScenario(ctx, name)
		if err != nil {
			return rep, fmt.Errorf("%s: %w", name, err)
		}
		s.progress("%s", r.summary())
		rep.Scenarios = append(rep.Scenarios, r)
	}
	rep.InvalidSignatures = s.rcv.invalidCount()
	rep.Seconds = time.Since(rep.Started).Seconds()
	return rep, nil
}

// fault injects one fault and recovers from it; it returns once recovered.
func (s *stack) fault(ctx context.Context, name string) error {
	z := s.opts.Sizes
	switch name {
	case ScenarioWorkerKill:
		s.workers[0].kill()
		sleepCtx(ctx, z.KillPause)
		return s.workers[0].start(ctx)
	case ScenarioServeKill:
		s.serves[0].kill()
		sleepCtx(ctx, z.KillPause)
		return s.serves[0].start(ctx)
	case ScenarioTemporalKill:
		s.temporal.Kill()
		sleepCtx(ctx, z.TemporalDown)
		return s.temporal.Restart(ctx)
	case ScenarioPostgresRestart:
		return s.pg.restart(ctx)
	case ScenarioPostgresDown:
		if err := s.pg.stop(ctx, "fast"); err != nil {
			return err
		}
		sleepCtx(ctx, z.Outage)
		return s.pg.start(ctx)
	case ScenarioPartitionWorker:
		s.workerTemporal.cut()
		sleepCtx(ctx, z.Outage)
		s.workerTemporal.restore()
		return nil
	case ScenarioPartitionServeDB:
		s.servePostgres.cut()
		sleepCtx(ctx, z.Outage)
		s.servePostgres.restore()
		return nil
	case ScenarioReceiverHang:
		s.rcv.setMode(receiverHang)
		sleepCtx(ctx, max(z.Outage, 2*deliveryTimeout))
		s.rcv.setMode(receiverNormal)
		return nil
	case ScenarioReceiverDown:
		s.rcv.down()
		sleepCtx(ctx, z.ReceiverDown)
		return s.rcv.up()
	}
	return fmt.Errorf("unknown scenario %q", name)
}

func sleepCtx(ctx context.Context, d time.Duration) { waitCtx(ctx, d) }

// runScenario runs the load, the fault and the recovery, then waits for
// the webhooks and counts.
func (s *stack) runScenario(ctx context.Context, name string) (ScenarioReport, error) {
	z := s.opts.Sizes
	exitsBefore := s.unexpectedExits()
	began := time.Now()
	ld := startLoad(ctx, s.balancer, "/q/"+codeSlug, name, z.Rate)
	sleepCtx(ctx, z.Before)
	faultAt := time.Now()
	ferr := s.fault(ctx, name)
	recovered := time.Now()
	if ferr != nil {
		ld.finish()
		return ScenarioReport{}, fmt.Errorf("fault: %w", ferr)
	}
	sleepCtx(ctx, z.After)
	answers := ld.finish()

	prefix := markerBase + name + "/"
	answered := map[string]time.Time{} // 302s by referrer
	r := ScenarioReport{
		Name: name, FaultSeconds: recovered.Sub(faultAt).Seconds(), Scans: len(answers),
		Other: map[string]int{},
	}
	for _, a := range answers {
		if a.Status == 302 {
			answered[a.Referrer] = a.At
		} else {
			r.Other[a.String()]++
		}
	}
	r.Answered302 = len(answered)
	r.NotAnswered302 = len(answers) - len(answered)

	// Wait until every recorded scan is delivered: a scan answered 302 but
	// never recorded can never be, so waiting longer would not change lost.
	deadline := time.Now().Add(z.DrainTimeout)
	var dels map[string]delivery
	for {
		dels = s.rcv.deliveriesOf(prefix)
		rec, err := s.recorded(ctx, prefix)
		if err == nil {
			r.Recorded = rec
		}
		// Events, not referrers: a scan recorded twice (a client's retry)
		// is two rows and two events.
		if err == nil && int64(len(dels)) >= rec {
			break
		}
		if time.Now().After(deadline) || !waitCtx(ctx, 500*time.Millisecond) {
			break
		}
	}
	r.Delivered = len(dels)
	r.Lost = missing(answered, dels)
	r.LostExamples = lostExamples(answered, dels, 5)
	byRef := map[string]int{}
	var drained time.Time // when the last scan answered before recovery arrived
	for _, d := range dels {
		r.Duplicates += d.Count - 1
		byRef[d.Referrer]++
		if at, ok := answered[d.Referrer]; ok {
			r.MaxDelaySeconds = max(r.MaxDelaySeconds, d.First.Sub(at).Seconds())
			if at.Before(recovered) && d.First.After(drained) {
				drained = d.First
			}
		}
	}
	for _, n := range byRef {
		if n > 1 {
			r.ScansWithSeveralIDs++
		}
	}
	if drained.After(recovered) {
		r.DrainSeconds = drained.Sub(recovered).Seconds()
	}
	r.UnexpectedExits = s.unexpectedExits() - exitsBefore
	r.Seconds = time.Since(began).Seconds()
	return r, nil
}

func missing(answered map[string]time.Time, dels map[string]delivery) int {
	got := map[string]bool{}
	for _, d := range dels {
		got[d.Referrer] = true
	}
	n := 0
	for ref := range answered {
		if !got[ref] {
			n++
		}
	}
	return n
}

func lostExamples(answered map[string]time.Time, dels map[string]delivery, limit int) []string {
	got := map[string]bool{}
	for _, d := range dels {
		got[d.Referrer] = true
	}
	var out []string
	for ref := range answered {
		if !got[ref] {
			out = append(out, strings.TrimPrefix(ref, markerBase))
		}
	}
	slices.Sort(out)
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}
