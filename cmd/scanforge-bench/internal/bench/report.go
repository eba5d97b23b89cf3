package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// Report is everything one run measured.
type Report struct {
	Mode    string        `json:"mode"`
	Command string        `json:"command"`
	Started time.Time     `json:"started"`
	Seconds float64       `json:"seconds"`
	Machine Machine       `json:"machine"`
	Sizes   Sizes         `json:"sizes"`
	Stacks  []StackReport `json:"stacks"`
}

// StackReport holds the figures of one stack.
type StackReport struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// StartupMS is the stack's own start (Temporal, database, app) until it
	// serves; ProcessReadyMS adds the process start, as the harness saw it.
	Scenarios      []string         `json:"scenarios"` // the scenarios run
	StartupMS      int64            `json:"startup_ms"`
	ProcessReadyMS int64            `json:"process_ready_ms"`
	Redirects      RedirectReport   `json:"redirects"`
	ScanToWebhook  WebhookReport    `json:"scan_to_webhook"`
	Delivery       ThroughputReport `json:"delivery_throughput"`
	Burst          BurstReport      `json:"burst"`
	Fanout         BurstReport      `json:"fanout"`
	// Revision is the delivery workflow revision the stack started
	// deliveries with (Options.Revisions); 0: the current one.
	Revision          int      `json:"revision,omitempty"`
	PeakRSSMiB        float64  `json:"peak_rss_mib"` // VmHWM of the stack process over all scenarios
	InvalidSignatures int      `json:"invalid_signatures"`
	Targets           []Target `json:"targets"`
}

// RedirectReport is scenario 1.
type RedirectReport struct {
	Concurrencies []int     `json:"concurrencies"`
	Bare          []Figures `json:"bare_rounds"`
	Ours          []Figures `json:"scanforge_rounds"`
	// Floor is the durable floor (floor.go): a scan made durable and a
	// 302, nothing else; it shows how much of the gap to bare Gin the
	// durable write alone takes on this machine.
	Floor []Figures `json:"floor_rounds"`
	// Capacity compares each side's best over all rounds and concurrencies
	// (its fields appear at this level of the JSON).
	Capacity
	// ByConcurrency holds the same comparison at each concurrency alone;
	// the figures above compare each side's best over all of them.
	ByConcurrency []Capacity `json:"by_concurrency"`
	FixedRate     float64    `json:"fixed_rate"`
	BareAtRate    Figures    `json:"bare_at_fixed_rate"`
	OursAtRate    Figures    `json:"scanforge_at_fixed_rate"`
	PendingAfter  int64      `json:"outbox_pending_after"`
}

// Capacity compares the best closed-loop rounds of the three sides of
// scenario 1, at one concurrency (or at all, Concurrency 0).
type Capacity struct {
	Concurrency int     `json:"concurrency,omitempty"`
	BestBare    float64 `json:"best_bare_rps"`
	BestFloor   float64 `json:"best_floor_rps"`
	BestOurs    float64 `json:"best_scanforge_rps"`
	Ratio       float64 `json:"ratio"`       // best scanforge / best bare
	FloorRatio  float64 `json:"floor_ratio"` // best floor / best bare
	// CPURatio compares the CPU both sides (server, database and load
	// generator) spent per request: bare / scanforge, least of each. On a
	// machine shared with other work it is steadier than the throughput
	// ratio, which it approximates when both sides are CPU-bound.
	CPURatio      float64 `json:"cpu_ratio"`
	FloorCPURatio float64 `json:"floor_cpu_ratio"` // the same, bare / floor
}

// WebhookReport is scenario 2.
type WebhookReport struct {
	Rate       float64 `json:"scans_per_second"`
	Scans      Figures `json:"scans"`
	Received   int     `json:"received"`
	Missing    int     `json:"missing"`
	Duplicates int     `json:"duplicates"`
	Latency    Latency `json:"redirect_to_webhook"`
}

// ThroughputReport is scenario 3.
type ThroughputReport struct {
	Concurrency  int               `json:"concurrency"`
	Minimal      []WorkflowFigures `json:"minimal_rounds"`
	Delivery     []WorkflowFigures `json:"delivery_rounds"`
	BestMinimal  float64           `json:"best_minimal_per_second"`
	BestDelivery float64           `json:"best_delivery_per_second"`
	// Ratio is the median of the rounds' own delivery/minimal ratios
	// (pairedRatio); BestRatio compares the best round of each kind.
	Ratio     float64 `json:"ratio"`
	BestRatio float64 `json:"best_ratio"`
	// CPURatio is the process CPU per minimal workflow over that per
	// delivery workflow, best rounds.
	CPURatio float64 `json:"cpu_ratio"`
}

// WorkflowFigures are one run of workflows.
type WorkflowFigures struct {
	Workflows        int     `json:"workflows"`
	Errors           int     `json:"errors"`
	FirstError       string  `json:"first_error,omitempty"`
	Received         int     `json:"webhooks_received,omitempty"`
	Seconds          float64 `json:"seconds"`
	PerSecond        float64 `json:"per_second"`
	Latency          Latency `json:"start_to_result"`
	CPUSeconds       float64 `json:"process_cpu_seconds"`
	CPUPerWorkflowMS float64 `json:"process_cpu_ms_per_workflow"`
	// Repolls counts result waits that ran out their second and were
	// asked again (control.go, awaitRun): a workflow running over a
	// second, or a close the server did not announce.
	Repolls int `json:"repolls"`
}

// BurstReport is scenario 4.
type BurstReport struct {
	Concurrency              int     `json:"concurrency"`
	Endpoints                int     `json:"endpoints"` // each scan is delivered to this many
	Scans                    Figures `json:"scans"`
	Received                 int     `json:"received_unique"`
	Missing                  int     `json:"missing"`
	Duplicates               int     `json:"duplicates"`
	AllArrivedSeconds        float64 `json:"all_arrived_seconds"`         // from the first scan
	AfterLastRedirectSeconds float64 `json:"after_last_redirect_seconds"` // from the last 302
	DeliveriesPerSecond      float64 `json:"deliveries_per_second"`
	CPUSeconds               float64 `json:"process_cpu_seconds"`         // from the first scan to the last webhook
	CPUPerDeliveryMS         float64 `json:"process_cpu_ms_per_delivery"` // redirect included
	// The production shape: CPU per delivery of each process (serve,
	// worker, temporal, postgres) and of all of them together.
	CPUPerDeliveryMSByProcess    map[string]float64 `json:"cpu_ms_per_delivery_by_process,omitempty"`
	CPUPerDeliveryMSAllProcesses float64            `json:"cpu_ms_per_delivery_all_processes,omitempty"`
	PeakRSSMiB                   float64            `json:"peak_rss_mib"`
}

// Target is one performance target and how the run did against it.
type Target struct {
	Name  string `json:"name"`
	Goal  string `json:"goal"`
	Value string `json:"value"`
	Met   bool   `json:"met"`
}

func targets(s *StackReport) []Target {
	r, w, d, b := s.Redirects, s.ScanToWebhook, s.Delivery, s.Burst
	ts := []Target{
		{"redirect throughput vs bare gin", "≥ 50 %", pct(r.Ratio), r.Ratio >= 0.5},
		{fmt.Sprintf("redirect p99 at %.0f req/s", r.FixedRate), "≤ 10 ms",
			fmt.Sprintf("%.2f ms", r.OursAtRate.Latency.P99), r.OursAtRate.Errors == 0 && r.OursAtRate.Latency.P99 <= 10},
		{"scan → webhook p50", "≤ 100 ms", fmt.Sprintf("%.1f ms", w.Latency.P50), w.Missing == 0 && w.Latency.P50 <= 100},
		{"scan → webhook p99", "≤ 1 s", fmt.Sprintf("%.1f ms", w.Latency.P99), w.Missing == 0 && w.Latency.P99 <= 1000},
		{"delivery throughput vs minimal workflow", "≥ 90 %", pct(d.Ratio), d.Ratio >= 0.9},
		{fmt.Sprintf("burst: %d events received", b.Scans.Requests), "all, none lost",
			fmt.Sprintf("%d unique, %d missing, %d duplicates", b.Received, b.Missing, b.Duplicates),
			b.Scans.Errors == 0 && b.Missing == 0 && b.Received == b.Scans.Requests},
		{"process peak RSS", "≤ 500 MB", fmt.Sprintf("%.0f MiB", s.PeakRSSMiB), s.PeakRSSMiB*1.048576 <= 500},
	}
	// Which scenario each target belongs to; the RSS one to all.
	of := []string{ScenarioRedirects, ScenarioRedirects, ScenarioWebhook, ScenarioWebhook, ScenarioThroughput, ScenarioBurst, ""}
	for i := range ts {
		if of[i] != "" && !slices.Contains(s.Scenarios, of[i]) {
			ts[i].Value, ts[i].Met = "not run", false
		}
	}
	return ts
}

func pct(ratio float64) string { return fmt.Sprintf("%.1f %%", ratio*100) }

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable writes the report as Markdown tables.
func (r *Report) WriteTable(w io.Writer) {
	m := r.Machine
	fmt.Fprintf(w, "## ScanForge benchmark: %s mode\n\n", r.Mode)
	fmt.Fprintf(w, "- Command: `%s`\n", r.Command)
	fmt.Fprintf(w, "- Started %s, took %.0f s\n", r.Started.Format(time.RFC3339), r.Seconds)
	fmt.Fprintf(w, "- Machine: %d CPUs, %s, %d MiB RAM, %s, %s\n", m.CPUs, m.Model, m.MemoryMiB, m.OS, m.GoVersion)
	fmt.Fprintf(w, "- Load average (1/5/15 min) at start %s, at end %s\n\n", m.LoadAvgStart, m.LoadAvgEnd)

	if len(r.Stacks) == 0 {
		return
	}
	header := "| Target | Goal |"
	rule := "|---|---|"
	for _, s := range r.Stacks {
		header += " " + s.Name + " |"
		rule += "---|"
	}
	fmt.Fprintf(w, "### Targets\n\n%s\n%s\n", header, rule)
	for i, t := range r.Stacks[0].Targets {
		line := fmt.Sprintf("| %s | %s |", t.Name, t.Goal)
		for _, s := range r.Stacks {
			if i < len(s.Targets) {
				line += fmt.Sprintf(" %s %s |", s.Targets[i].Value, mark(s.Targets[i].Met))
			}
		}
		fmt.Fprintln(w, line)
	}
	fmt.Fprintln(w)

	writeRevisions(w, r.Stacks)
	for _, s := range r.Stacks {
		writeStack(w, s)
	}
}

// writeRevisions compares the runs of each delivery workflow revision
// (Options.Revisions): every run, then each revision's medians against the
// first revision's.
func writeRevisions(w io.Writer, stacks []StackReport) {
	byRevision := map[int][]StackReport{}
	var order []int
	for _, s := range stacks {
		if s.Revision == 0 {
			continue
		}
		if _, ok := byRevision[s.Revision]; !ok {
			order = append(order, s.Revision)
		}
		byRevision[s.Revision] = append(byRevision[s.Revision], s)
	}
	if len(order) == 0 {
		return
	}
	fmt.Fprintln(w, "### Delivery workflow revisions side by side")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| run | burst deliveries/s | burst CPU ms/delivery | fan-out deliveries/s | fan-out CPU ms/delivery | scan → webhook p50 / p99 ms | lost / duplicates | peak RSS MiB |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	for _, s := range stacks {
		if s.Revision == 0 {
			continue
		}
		b, f, wh := s.Burst, s.Fanout, s.ScanToWebhook
		fmt.Fprintf(w, "| %s | %.1f | %.2f | %.1f | %.2f | %.1f / %.1f | %d / %d | %.0f |\n", s.Name,
			b.DeliveriesPerSecond, b.CPUPerDeliveryMS, f.DeliveriesPerSecond, f.CPUPerDeliveryMS,
			wh.Latency.P50, wh.Latency.P99,
			b.Missing+f.Missing+wh.Missing, b.Duplicates+f.Duplicates+wh.Duplicates, s.PeakRSSMiB)
	}
	fmt.Fprintln(w)
	base := byRevision[order[0]]
	medianOf := func(runs []StackReport, pick func(StackReport) float64) float64 {
		var xs []float64
		for _, r := range runs {
			xs = append(xs, pick(r))
		}
		return median(xs)
	}
	figures := []struct {
		name string
		pick func(StackReport) float64
	}{
		{"burst deliveries/s", func(s StackReport) float64 { return s.Burst.DeliveriesPerSecond }},
		{"burst CPU ms/delivery", func(s StackReport) float64 { return s.Burst.CPUPerDeliveryMS }},
		{"fan-out deliveries/s", func(s StackReport) float64 { return s.Fanout.DeliveriesPerSecond }},
		{"fan-out CPU ms/delivery", func(s StackReport) float64 { return s.Fanout.CPUPerDeliveryMS }},
	}
	for _, rev := range order[1:] {
		fmt.Fprintf(w, "Medians, revision %d against revision %d:\n\n| figure | r%d | r%d | ratio |\n|---|---|---|---|\n", rev, order[0], order[0], rev)
		for _, f := range figures {
			old, cur := medianOf(base, f.pick), medianOf(byRevision[rev], f.pick)
			ratio := 0.0
			if old > 0 {
				ratio = cur / old
			}
			fmt.Fprintf(w, "| %s | %.2f | %.2f | %.2f |\n", f.name, old, cur, ratio)
		}
		fmt.Fprintln(w)
	}
}

func mark(met bool) string {
	if met {
		return "✅"
	}
	return "❌"
}

func writeStack(w io.Writer, s StackReport) {
	fmt.Fprintf(w, "### Stack %s: %s\n\n", s.Name, s.Description)
	fmt.Fprintf(w, "Start: %d ms to serving (%d ms including process start). Peak RSS (VmHWM, whole run): %.0f MiB. Invalid signatures: %d.\n\n",
		s.StartupMS, s.ProcessReadyMS, s.PeakRSSMiB, s.InvalidSignatures)

	if slices.Contains(s.Scenarios, ScenarioRedirects) {
		writeRedirects(w, s.Redirects)
	}
	if slices.Contains(s.Scenarios, ScenarioWebhook) {
		writeWebhook(w, s.ScanToWebhook)
	}
	if slices.Contains(s.Scenarios, ScenarioThroughput) {
		writeThroughput(w, s.Delivery)
	}
	if slices.Contains(s.Scenarios, ScenarioBurst) {
		writeBurst(w, "4. Burst", s.Burst)
	}
	if slices.Contains(s.Scenarios, ScenarioFanout) {
		writeBurst(w, "5. Fan-out burst", s.Fanout)
	}
}

func writeRedirects(w io.Writer, rd RedirectReport) {
	fmt.Fprintf(w, "**1. Redirects** (closed loop at concurrencies %s, each round; scans durably recorded, outbox pending after: %d)\n\n",
		strings.Trim(fmt.Sprint(rd.Concurrencies), "[]"), rd.PendingAfter)
	fmt.Fprintln(w, "| Run | Requests | Errors | req/s | p50 ms | p90 ms | p99 ms | max ms | server CPU ms/req | database CPU ms/req | client CPU ms/req | scans/commit | cores busy |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	// Rounds are stored in the order they ran: side by side per concurrency.
	round := 0
	for i := range rd.Bare {
		if i%max(1, len(rd.Concurrencies)) == 0 {
			round++
		}
		name := func(side string) string {
			return fmt.Sprintf("%s, c %d, round %d", side, rd.Bare[i].Concurrency, round)
		}
		figuresRow(w, name("bare gin"), rd.Bare[i])
		if i < len(rd.Floor) {
			figuresRow(w, name("durable floor"), rd.Floor[i])
		}
		if i < len(rd.Ours) {
			figuresRow(w, name("scanforge"), rd.Ours[i])
		}
	}
	figuresRow(w, fmt.Sprintf("bare gin at %.0f/s", rd.FixedRate), rd.BareAtRate)
	figuresRow(w, fmt.Sprintf("scanforge at %.0f/s", rd.FixedRate), rd.OursAtRate)

	fmt.Fprintln(w, "\n| Concurrency | bare gin best req/s | durable floor best | scanforge best | scanforge / bare | floor / bare | CPU ratio bare/scanforge |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	for _, c := range rd.ByConcurrency {
		fmt.Fprintf(w, "| %d | %.0f | %.0f | %.0f | %s | %s | %s |\n", c.Concurrency, c.BestBare, c.BestFloor, c.BestOurs, pct(c.Ratio), pct(c.FloorRatio), pct(c.CPURatio))
	}
	fmt.Fprintf(w, "\nCapacity (each side's best over all concurrencies and rounds): scanforge %.0f req/s, bare gin %.0f req/s: ratio %s (CPU per request, server, database and client, bare/scanforge: %s).\n",
		rd.BestOurs, rd.BestBare, pct(rd.Ratio), pct(rd.CPURatio))
	fmt.Fprintf(w, "Durable floor (a scan made durable and a 302, nothing else): %.0f req/s, %s of bare gin (CPU: %s).\n\n",
		rd.BestFloor, pct(rd.FloorRatio), pct(rd.FloorCPURatio))
}

func writeWebhook(w io.Writer, wh WebhookReport) {
	fmt.Fprintf(w, "**2. Scan → webhook** (%.0f scans/s, %d scans; %d received, %d missing, %d duplicates)\n\n",
		wh.Rate, wh.Scans.Requests, wh.Received, wh.Missing, wh.Duplicates)
	fmt.Fprintln(w, "| | p50 ms | p90 ms | p99 ms | max ms |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	fmt.Fprintf(w, "| 302 latency | %.2f | %.2f | %.2f | %.2f |\n", wh.Scans.Latency.P50, wh.Scans.Latency.P90, wh.Scans.Latency.P99, wh.Scans.Latency.Max)
	fmt.Fprintf(w, "| 302 → signed webhook received | %.1f | %.1f | %.1f | %.1f |\n\n", wh.Latency.P50, wh.Latency.P90, wh.Latency.P99, wh.Latency.Max)

}

func writeThroughput(w io.Writer, d ThroughputReport) {
	fmt.Fprintf(w, "**3. Delivery throughput** (%d workflows in flight, started eagerly inside the process)\n\n", d.Concurrency)
	fmt.Fprintln(w, "| Run | Workflows | Errors | per s | p50 ms | p99 ms | process CPU ms/workflow |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	for i := range max(len(d.Minimal), len(d.Delivery)) {
		if i < len(d.Minimal) {
			workflowRow(w, fmt.Sprintf("minimal one-activity, round %d", i+1), d.Minimal[i])
		}
		if i < len(d.Delivery) {
			workflowRow(w, fmt.Sprintf("delivery, round %d (%d webhooks)", i+1, d.Delivery[i].Received), d.Delivery[i])
		}
	}
	fmt.Fprintf(w, "\nDelivery against minimal, median of the rounds' ratios: %s. Best rounds: delivery %.1f/s, minimal %.1f/s: %s (process CPU per workflow, minimal/delivery: %s).\n\n",
		pct(d.Ratio), d.BestDelivery, d.BestMinimal, pct(d.BestRatio), pct(d.CPURatio))

}

func writeBurst(w io.Writer, title string, b BurstReport) {
	fmt.Fprintf(w, "**%s** (%d scans to %d endpoint(s), concurrency %d)\n\n", title, b.Scans.Requests, b.Endpoints, b.Concurrency)
	fmt.Fprintln(w, "| Figure | Value |")
	fmt.Fprintln(w, "|---|---|")
	fmt.Fprintf(w, "| redirects | %.0f req/s, %d errors, p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms |\n",
		b.Scans.PerSecond, b.Scans.Errors, b.Scans.Latency.P50, b.Scans.Latency.P90, b.Scans.Latency.P99, b.Scans.Latency.Max)
	fmt.Fprintf(w, "| all webhooks arrived | %.1f s after the first scan, %.1f s after the last 302 |\n", b.AllArrivedSeconds, b.AfterLastRedirectSeconds)
	fmt.Fprintf(w, "| end-to-end deliveries/s | %.1f |\n", b.DeliveriesPerSecond)
	fmt.Fprintf(w, "| unique event IDs received | %d (missing %d, duplicates %d) |\n", b.Received, b.Missing, b.Duplicates)
	fmt.Fprintf(w, "| process CPU | %.1f s (%.2f ms per delivery) |\n", b.CPUSeconds, b.CPUPerDeliveryMS)
	if len(b.CPUPerDeliveryMSByProcess) > 0 {
		names := slices.Sorted(maps.Keys(b.CPUPerDeliveryMSByProcess))
		parts := make([]string, len(names))
		for i, n := range names {
			parts[i] = fmt.Sprintf("%s %.2f", n, b.CPUPerDeliveryMSByProcess[n])
		}
		fmt.Fprintf(w, "| CPU ms per delivery by process | %s; all %.2f |\n", strings.Join(parts, ", "), b.CPUPerDeliveryMSAllProcesses)
	}
	fmt.Fprintf(w, "| peak RSS after the burst | %.0f MiB |\n\n", b.PeakRSSMiB)
}

func figuresRow(w io.Writer, name string, f Figures) {
	perCommit := "–"
	if f.ScansPerCommit > 0 {
		perCommit = fmt.Sprintf("%.1f", f.ScansPerCommit)
	}
	fmt.Fprintf(w, "| %s | %d | %d | %.0f | %.2f | %.2f | %.2f | %.2f | %.3f | %.3f | %.3f | %s | %.2f |\n", name, f.Requests, f.Errors,
		f.PerSecond, f.Latency.P50, f.Latency.P90, f.Latency.P99, f.Latency.Max,
		f.CPUPerRequestMS, f.DatabaseCPUPerRequestMS, f.ClientCPUPerRequestMS, perCommit, f.CoresBusy)
}

func workflowRow(w io.Writer, name string, f WorkflowFigures) {
	errs := fmt.Sprint(f.Errors)
	if f.FirstError != "" {
		errs += " (" + strings.ReplaceAll(f.FirstError, "|", "/") + ")"
	}
	fmt.Fprintf(w, "| %s | %d | %s | %.1f | %.0f | %.0f | %.1f |\n", name, f.Workflows, errs, f.PerSecond, f.Latency.P50, f.Latency.P99, f.CPUPerWorkflowMS)
}
