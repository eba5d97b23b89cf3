package outbox

// Draining the outbox in the worker process (SCANFORGE_OUTBOX_IN=worker):
// serve records scans and sends a PostgreSQL NOTIFY after each commit; of
// all the workers, the one holding the outbox's advisory lock listens and
// drains, so its workflow starts are eager and no two workers start the
// same scans. The others wait for the lock: when the leader's connection
// ends, the lock is freed and one of them takes over.

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"
)

// Channels and advisory locks belong to the whole database, not to a
// schema: both are named after the schema, so that installs (or tests)
// sharing a database in schemas of their own do not meet.
const (
	// wakeChannelSQL names the NOTIFY channel serve signals new pending
	// scans on.
	wakeChannelSQL = "'scanforge_outbox_' || md5(current_schema())"
	// leaderLockSQL takes the session advisory lock the draining worker
	// holds (two-key form: a constant for ScanForge's outbox, the schema).
	leaderLockSQL = "SELECT pg_try_advisory_lock(1935830882, hashtext(current_schema()))"
)

// Notifier tells the draining worker that scans were committed. Notify
// never blocks: notifications that arrive while one is being sent collapse
// into the next.
type Notifier struct {
	db     *gorm.DB
	logger *slog.Logger
	wake   chan struct{}
}

// NewNotifier returns a Notifier sending on db (PostgreSQL).
func NewNotifier(db *gorm.DB, logger *slog.Logger) *Notifier {
	return &Notifier{db: db, logger: logger, wake: make(chan struct{}, 1)}
}

// Notify asks for a notification to be sent.
func (n *Notifier) Notify() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// Run sends the notifications Notify asks for until ctx ends. A failed one
// costs latency only: the worker's periodic poll finds the scans.
func (n *Notifier) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.wake:
		}
		if err := n.db.WithContext(ctx).Exec("SELECT pg_notify(" + wakeChannelSQL + ", '')").Error; err != nil && ctx.Err() == nil {
			n.logger.Warn("outbox: notify the worker", "error", err)
		}
	}
}

// Wakeable is what RunLeader drives: the dispatcher.
type Wakeable interface {
	Run(ctx context.Context)
	Wake()
}

// RunLeader runs d in this process whenever it holds the outbox's leader
// lock on the PostgreSQL database at databaseURL, waking it on every
// notification, until ctx ends.
func RunLeader(ctx context.Context, databaseURL string, d Wakeable, logger *slog.Logger) {
	for ctx.Err() == nil {
		err := lead(ctx, databaseURL, d, logger)
		if ctx.Err() != nil {
			return
		}
		logger.Warn("outbox: lost the database connection of the draining worker; reconnecting", "error", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// leaderPoll is how often a standby worker asks for the lock.
const leaderPoll = time.Second

func lead(ctx context.Context, databaseURL string, d Wakeable, logger *slog.Logger) error {
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for standby := false; ; standby = true {
		var got bool
		if err := conn.QueryRow(ctx, leaderLockSQL).Scan(&got); err != nil {
			return fmt.Errorf("leader lock: %w", err)
		}
		if got {
			break
		}
		if !standby {
			logger.Info("outbox: another worker drains; standing by")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(leaderPoll):
		}
	}
	var channel string
	if err := conn.QueryRow(ctx, "SELECT "+wakeChannelSQL).Scan(&channel); err != nil {
		return fmt.Errorf("channel name: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	logger.Info("outbox: this worker drains the outbox")
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { d.Run(runCtx); close(done) }()
	defer func() { stop(); <-done }()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return fmt.Errorf("wait for notification: %w", err)
		}
		d.Wake()
	}
}
