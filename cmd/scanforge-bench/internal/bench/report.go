package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
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
