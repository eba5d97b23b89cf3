package faults

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the outcome of a run.
type Report struct {
	Command           string           `json:"command,omitempty"`
	Started           time.Time        `json:"started"`
	Seconds           float64          `json:"seconds"`
	Sizes             Sizes            `json:"sizes"`
	Scenarios         []ScenarioReport `json:"scenarios"`
	InvalidSignatures int              `json:"invalid_signatures"`
}

// ScenarioReport counts what scanners and the receiver saw in one scenario.
type ScenarioReport struct {
	Name         string  `json:"name"`
	Seconds      float64 `json:"seconds"`
	FaultSeconds float64 `json:"fault_seconds"` // from injecting the fault to recovery
	Scans        int     `json:"scans"`         // requests sent
	Answered302  int     `json:"answered_302"`
	// NotAnswered302 counts other answers and failed requests; Other
	// breaks them down ("503", "error: connection reset by peer", …).
	NotAnswered302 int            `json:"not_302"`
	Other          map[string]int `json:"other,omitempty"`
	Recorded       int64          `json:"recorded"`  // scans in the app database
	Delivered      int            `json:"delivered"` // unique event ids accepted by the receiver
	// Lost counts scans answered 302 whose webhook never arrived.
	Lost         int      `json:"lost"`
	LostExamples []string `json:"lost_examples,omitempty"`
	// Duplicates counts extra deliveries of an event id already accepted
	// (at-least-once with a stable id).
	Duplicates int `json:"duplicates"`
	// ScansWithSeveralIDs counts scans delivered under more than one event
	// id: a duplicate a receiver could not recognise. Must be 0.
	ScansWithSeveralIDs int `json:"scans_with_several_ids"`
	// DrainSeconds runs from recovery to the first delivery of the last
	// scan answered 302 before recovery: the backlog's drain.
	DrainSeconds    float64 `json:"drain_seconds"`
	MaxDelaySeconds float64 `json:"max_delay_seconds"` // largest 302 → first delivery
	UnexpectedExits int     `json:"unexpected_exits"`  // serve, worker or Temporal exits the suite did not cause
}

func (r ScenarioReport) summary() string {
	return fmt.Sprintf("%s: %d scans, %d answered 302, %d not, %d recorded, %d delivered, lost %d, duplicates %d, drain %.1fs, max delay %.1fs",
		r.Name, r.Scans, r.Answered302, r.NotAnswered302, r.Recorded, r.Delivered, r.Lost, r.Duplicates, r.DrainSeconds, r.MaxDelaySeconds)
}

// WriteTable prints the report as a table.
func (rep *Report) WriteTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tscans\t302\tnot 302\trecorded\tdelivered\tLOST\tduplicates\tseveral ids\tdrain s\tmax delay s\tunexpected exits\t")
	for _, r := range rep.Scenarios {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%.1f\t%.1f\t%d\t\n",
			r.Name, r.Scans, r.Answered302, r.NotAnswered302, r.Recorded, r.Delivered, r.Lost,
			r.Duplicates, r.ScansWithSeveralIDs, r.DrainSeconds, r.MaxDelaySeconds, r.UnexpectedExits)
	}
	tw.Flush()
	for _, r := range rep.Scenarios {
		if len(r.Other) > 0 {
			var parts []string
			for _, k := range slices.Sorted(maps.Keys(r.Other)) {
				parts = append(parts, fmt.Sprintf("%s ×%d", k, r.Other[k]))
			}
			fmt.Fprintf(w, "%s: answers other than 302: %s\n", r.Name, strings.Join(parts, ", "))
		}
		if r.Lost > 0 {
			fmt.Fprintf(w, "%s: LOST %d, e.g. %s\n", r.Name, r.Lost, strings.Join(r.LostExamples, " "))
		}
	}
	fmt.Fprintf(w, "invalid signatures: %d; %.0f s in all\n", rep.InvalidSignatures, rep.Seconds)
}

// MarshalJSON writes the durations as Go duration strings ("30s").
func (z Sizes) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{
		"scans_per_second": z.Rate, "load_before_fault": z.Before.String(), "load_after_recovery": z.After.String(),
		"kill_pause": z.KillPause.String(), "temporal_down": z.TemporalDown.String(), "outage": z.Outage.String(),
		"receiver_down": z.ReceiverDown.String(), "fail_every": z.FailEvery, "drain_timeout": z.DrainTimeout.String(),
	})
}
