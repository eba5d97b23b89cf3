package app_test

import (
	"bytes"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/scanforge/scanforge/internal/config"
	"github.com/scanforge/scanforge/models"
)

// TestWorkersDrainTheOutbox runs the production shape with the outbox in
// the worker (SCANFORGE_OUTBOX_IN=worker): serve only records scans and
// notifies; of two workers, the one holding the leader lock drains; when
// it stops, the other takes over. Every scan is delivered, once.
func TestWorkersDrainTheOutbox(t *testing.T) {
	logs := []*logBuffer{{}, {}}
	serve, workers := newTwoWorkerStack(t, config.OutboxInWorker, logs...)

	rcv := newReceiver(t, http.StatusOK)
	serve.setup("drained", rcv.URL)
	seen := map[string]int{}
	deliverAll := func(batch string, n int) {
		t.Helper()
		for i := range n {
			serve.scan("/q/drained", http.Header{"Referer": {fmt.Sprintf("https://example.com/%s/%d", batch, i)}})
		}
		for range n {
			seen[rcv.next(t).Header.Get("Webhook-Id")]++
		}
	}

	deliverAll("first", 20)
	leader := -1
	for i, l := range logs {
		if bytes.Contains(l.Bytes(), []byte("this worker drains the outbox")) {
			if leader >= 0 {
				t.Fatal("both workers say they drain the outbox")
			}
			leader = i
		}
	}
	if leader < 0 {
		t.Fatal("no worker says it drains the outbox")
	}
	other := 1 - leader
	if !bytes.Contains(logs[other].Bytes(), []byte("standing by")) {
		t.Fatalf("worker %d neither drains nor stands by:\n%s", other, logs[other].Bytes())
	}

	workers[leader].stop()
	deliverAll("second", 20)
	if !bytes.Contains(logs[other].Bytes(), []byte("this worker drains the outbox")) {
		t.Fatalf("worker %d delivered without taking over the outbox:\n%s", other, logs[other].Bytes())
	}

	if len(seen) != 40 {
		t.Fatalf("%d distinct events delivered, want 40", len(seen))
	}
	// A duplicate would come right behind its original: give it the time.
	select {
	case d := <-rcv.got:
		t.Fatalf("a 41st delivery arrived: %s", d.Header.Get("Webhook-Id"))
	case <-time.After(2 * time.Second):
	}
	var pending int64
	if err := serve.store.DB().Model(&models.Scan{}).Where("dispatched_at IS NULL").Count(&pending).Error; err != nil {
		t.Fatal(err)
	}
	if pending != 0 {
		t.Fatalf("%d scans still pending in the outbox", pending)
	}
}
