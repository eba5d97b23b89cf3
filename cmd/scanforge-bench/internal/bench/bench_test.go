package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestMain lets the test binary play the children the harness starts: Run
// re-executes its own binary with RoleEnv set.
func TestMain(m *testing.M) {
	if role := os.Getenv(RoleEnv); role != "" {
		if err := RunChild(role); err != nil {
			fmt.Fprintln(os.Stderr, "bench child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// syncBuffer collects the children's logs, written from exec's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestSmoke runs every scenario with tiny sizes on the dev stack and checks
// that the harness measures what it claims: every request answered, every
// webhook received and verified. It asserts no timing.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded Temporal server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	logs := &syncBuffer{}
	var progress syncBuffer
	rep, err := Run(ctx, Options{
		Mode: "smoke", Sizes: SmokeSizes(), Stacks: []string{StackSQLite},
		Progress: &progress, ChildLogs: logs,
	})
	if err != nil {
		t.Fatalf("run: %v\nprogress:\n%s\nchild logs:\n%s", err, progress.String(), tail(logs.String(), 4000))
	}
	if len(rep.Stacks) != 1 {
		t.Fatalf("got %d stack reports, want 1", len(rep.Stacks))
	}
	s := rep.Stacks[0]
	z := SmokeSizes()

	r := s.Redirects
	figures := append(append(append([]Figures{}, r.Bare...), r.Floor...), r.Ours...)
	figures = append(figures, r.BareAtRate, r.OursAtRate)
	for i, f := range figures {
		if f.Requests == 0 || f.Errors != 0 {
			t.Errorf("redirect run %d: %d requests, %d errors", i, f.Requests, f.Errors)
		}
	}
	if r.PendingAfter != 0 {
		t.Errorf("outbox left %d scans pending after the redirect runs", r.PendingAfter)
	}
	// Every scan is committed in some batch, so the mean is at least 1; the
	// bare handler has no recorder and reports none.
	for i, f := range append(append(append([]Figures{}, r.Ours...), r.Floor...), r.OursAtRate) {
		if f.ScansPerCommit < 1 {
			t.Errorf("scanforge or floor redirect run %d: %.1f scans per commit, want the recorder's mean batch", i, f.ScansPerCommit)
		}
	}
	// Every round runs each side at every concurrency, in order.
	if want := z.Rounds * len(z.RedirectConcurrencies); len(r.Bare) != want || len(r.Ours) != want {
		t.Errorf("redirect rounds: %d bare, %d scanforge; want %d each", len(r.Bare), len(r.Ours), want)
	}
	for i, f := range r.Ours {
		if want := z.RedirectConcurrencies[i%len(z.RedirectConcurrencies)]; f.Concurrency != want || r.Bare[i].Concurrency != want {
			t.Errorf("redirect run %d at concurrency %d (bare %d), want %d", i, f.Concurrency, r.Bare[i].Concurrency, want)
		}
		if f.CoresBusy <= 0 {
			t.Errorf("redirect run %d: %.2f cores busy, want the CPU it took", i, f.CoresBusy)
		}
	}
	if len(r.ByConcurrency) != len(z.RedirectConcurrencies) {
		t.Errorf("%d per-concurrency comparisons, want %d", len(r.ByConcurrency), len(z.RedirectConcurrencies))
	}
	for _, c := range r.ByConcurrency {
		if c.BestOurs <= 0 || c.BestOurs > r.BestOurs || c.BestBare > r.BestBare {
			t.Errorf("concurrency %d: best %.0f (bare %.0f) req/s, want above 0 and at most the best of all (%.0f, %.0f)",
				c.Concurrency, c.BestOurs, c.BestBare, r.BestOurs, r.BestBare)
		}
	}
	if len(r.Floor) != len(r.Bare) || r.BestFloor <= 0 {
		t.Errorf("durable floor: %d rounds (best %.0f req/s), want one per bare round (%d)", len(r.Floor), r.BestFloor, len(r.Bare))
	}
	if r.BareAtRate.ScansPerCommit != 0 {
		t.Errorf("bare handler: %.1f scans per commit, want none", r.BareAtRate.ScansPerCommit)
	}

	w := s.ScanToWebhook
	if w.Scans.Requests != z.Scans || w.Scans.Errors != 0 || w.Received != z.Scans || w.Missing != 0 {
		t.Errorf("scan → webhook: %d scans (%d errors), %d received, %d missing; want all %d",
			w.Scans.Requests, w.Scans.Errors, w.Received, w.Missing, z.Scans)
	}
	if w.Latency.Count != z.Scans {
		t.Errorf("scan → webhook: %d latencies, want %d", w.Latency.Count, z.Scans)
	}

	d := s.Delivery
	if len(d.Minimal) != z.Rounds || len(d.Delivery) != z.Rounds {
		t.Fatalf("delivery throughput: %d minimal and %d delivery rounds, want %d", len(d.Minimal), len(d.Delivery), z.Rounds)
	}
	for _, f := range append(append([]WorkflowFigures{}, d.Minimal...), d.Delivery...) {
		if f.Workflows != z.Workflows || f.Errors != 0 {
			t.Errorf("workflow run: %d workflows, %d errors (%s)", f.Workflows, f.Errors, f.FirstError)
		}
	}
	for _, f := range d.Delivery {
		if f.Received != z.Workflows {
			t.Errorf("delivery run: %d webhooks received, want %d", f.Received, z.Workflows)
		}
	}

	b := s.Burst
	if b.Scans.Requests != z.Burst || b.Scans.Errors != 0 || b.Received != z.Burst || b.Missing != 0 {
		t.Errorf("burst: %d scans (%d errors), %d unique events received, %d missing; want all %d",
			b.Scans.Requests, b.Scans.Errors, b.Received, b.Missing, z.Burst)
	}
	fo := s.Fanout
	if want := z.FanoutBurst * z.FanoutEndpoints; fo.Scans.Requests != z.FanoutBurst || fo.Received != want || fo.Missing != 0 || fo.Duplicates != 0 {
		t.Errorf("fan-out burst: %d scans, %d deliveries received (%d missing, %d duplicates); want %d",
			fo.Scans.Requests, fo.Received, fo.Missing, fo.Duplicates, want)
	}
	if fo.CPUPerDeliveryMS <= 0 || b.CPUPerDeliveryMS <= 0 {
		t.Errorf("CPU per delivery not measured: burst %v, fan-out %v ms", b.CPUPerDeliveryMS, fo.CPUPerDeliveryMS)
	}
	if s.InvalidSignatures != 0 {
		t.Errorf("%d deliveries failed signature verification", s.InvalidSignatures)
	}
	if s.PeakRSSMiB <= 0 || b.PeakRSSMiB <= 0 {
		t.Errorf("peak RSS not read: %v / %v MiB", s.PeakRSSMiB, b.PeakRSSMiB)
	}

	var table, js bytes.Buffer
	rep.WriteTable(&table)
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"### Targets", "redirect throughput vs bare gin", "**4. Burst**"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	if !strings.Contains(js.String(), `"received_unique": 30`) {
		t.Errorf("JSON lacks the burst count:\n%s", tail(js.String(), 2000))
	}
}

// TestSmokeComparesRevisions runs the delivery scenarios once per revision
// in ABBA order, each in its own stack process.
func TestSmokeComparesRevisions(t *testing.T) {
	if testing.Short() {
		t.Skip("starts embedded Temporal servers")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	logs := &syncBuffer{}
	var progress syncBuffer
	rep, err := Run(ctx, Options{
		Mode: "smoke", Sizes: SmokeSizes(), Stacks: []string{StackSQLite},
		Scenarios: []string{ScenarioBurst}, Revisions: []int{1, 2},
		Progress: &progress, ChildLogs: logs,
	})
	if err != nil {
		t.Fatalf("run: %v\nprogress:\n%s\nchild logs:\n%s", err, progress.String(), tail(logs.String(), 4000))
	}
	var names []string
	for _, s := range rep.Stacks {
		names = append(names, s.Name)
		if s.Burst.Received != SmokeSizes().Burst {
			t.Errorf("%s: %d of %d deliveries", s.Name, s.Burst.Received, SmokeSizes().Burst)
		}
	}
	if got := strings.Join(names, ","); got != "sqlite-r1,sqlite-r2,sqlite-r2,sqlite-r1" {
		t.Errorf("stack runs %s, want ABBA", got)
	}
	var table bytes.Buffer
	rep.WriteTable(&table)
	if !strings.Contains(table.String(), "Medians, revision 2 against revision 1") {
		t.Errorf("table lacks the comparison:\n%s", table.String())
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
