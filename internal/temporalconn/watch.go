package temporalconn

import (
	"context"
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"
)

// Watch checks Temporal through c until it answers, logging each new
// diagnosis (a configuration mistake as an error, a server not up yet as a
// warning) and then the connection. serve runs it at start: its client
// connects lazily, so nothing else would say why deliveries wait.
func (t *Target) Watch(ctx context.Context, c client.Client, logger *slog.Logger) {
	last := ""
	for delay := time.Second; ; delay = min(2*delay, time.Minute) {
		checkCtx, cancel := context.WithTimeout(ctx, dialTimeout)
		err := t.Check(checkCtx, c)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			logger.Info("temporal connected", "address", t.Address, "namespace", t.Namespace, "tls", t.TLS != nil)
			return
		}
		if msg := err.Error(); msg != last {
			last = msg
			if IsPermanent(err) {
				logger.Error("temporal connection misconfigured; scans are recorded and wait in the outbox until it is fixed", "error", msg)
			} else {
				logger.Warn("temporal not reachable yet; scans wait in the outbox; retrying", "error", msg)
			}
		}
		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
	}
}
