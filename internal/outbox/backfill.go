package outbox

import (
	"context"
	"time"

	"golang.org/x/time/rate"

	"github.com/scanforge/scanforge/models"
)

// Bounds of a backfill.
const (
	BackfillLimit = 10000 // scans one backfill sends at most
	BackfillRate  = 20    // deliveries started per second
)

// BackfillStore finds the past scans a new endpoint takes.
type BackfillStore interface {
	BackfillScans(ctx context.Context, e models.Endpoint, since time.Time, limit int) ([]models.Scan, error)
}

// Backfiller sends a new endpoint the scans recorded before it existed,
// each as the endpoint's own delivery of the scan (the same workflow ID a
// live scan would get, so nothing is sent twice), oldest first and paced.
type Backfiller struct {
	store      BackfillStore
	dispatcher *Dispatcher
}

// NewBackfiller returns a Backfiller that starts deliveries as d does.
func NewBackfiller(store BackfillStore, d *Dispatcher) *Backfiller {
	return &Backfiller{store: store, dispatcher: d}
}

// StartBackfill backfills e from since in the background; the request
// that asked for it does not wait.
func (b *Backfiller) StartBackfill(e models.Endpoint, since time.Time) {
	go func() {
		n, err := b.Backfill(context.Background(), e, since)
		b.dispatcher.opts.Logger.Info("backfill finished", "endpoint_id", e.ID, "since", since, "started", n, "error", err)
	}()
}

// Backfill starts the deliveries of at most BackfillLimit scans since
// since to e, at BackfillRate a second, and returns how many it started.
func (b *Backfiller) Backfill(ctx context.Context, e models.Endpoint, since time.Time) (int, error) {
	scans, err := b.store.BackfillScans(ctx, e, since, BackfillLimit)
	if err != nil {
		return 0, err
	}
	pace := rate.NewLimiter(BackfillRate, 1)
	started := 0
	for _, scan := range scans {
		if err := pace.Wait(ctx); err != nil {
			return started, err
		}
		payload, err := ScanCreatedEvent(scan)
		if err != nil {
			return started, err
		}
		if _, err := b.dispatcher.startWorkflow(ctx, scan, e, payload); err != nil {
			return started, err
		}
		started++
	}
	return started, nil
}
