package app

import (
	"context"
	"time"
)

// rollInterval is how often the scans recorded since are folded into the
// stats rollups: stats count the scans past the last roll one by one, so
// it keeps that tail short.
const rollInterval = time.Second

// rollScans folds the recorded scans into the stats rollups every
// rollInterval until ctx ends (see models.Store.RollScans), off the
// redirect path. Every replica runs it; their rolls never overlap.
func (a *App) rollScans(ctx context.Context) {
	ticker := time.NewTicker(rollInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		// A backlog (after a stop, or a burst) goes in slices, one after
		// the other.
		for ctx.Err() == nil {
			n, err := a.Store.RollScans(ctx)
			if err != nil {
				if ctx.Err() == nil {
					a.Logger.Warn("stats rollups", "error", err)
				}
				break
			}
			if n == 0 {
				break
			}
		}
	}
}
