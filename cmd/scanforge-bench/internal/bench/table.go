package bench

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

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
