package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// OutboxBacklog counts the scans whose deliveries have not been started
// (the outbox) and returns the timestamp of the oldest of them, zero when
// there is none. Both queries go through the dispatched_at index, so they
// stay cheap however many dispatched scans the table holds: metrics ask at
// every scrape.
func (s *Store) OutboxBacklog(ctx context.Context) (pending int64, oldest time.Time, err error) {
	db := s.db.WithContext(ctx)
	if err := db.Model(&Scan{}).Where("dispatched_at IS NULL").Count(&pending).Error; err != nil {
		return 0, time.Time{}, fmt.Errorf("outbox backlog: %w", err)
	}
	if pending == 0 {
		return 0, time.Time{}, nil
	}
	// IDs are time-ordered: the smallest pending ID is the oldest scan. Its
	// row is then read by primary key, so the timestamp comes back typed on
	// every database (an aggregate over a SQLite time column would not).
	var first Scan
	oldestID := db.Model(&Scan{}).Select("min(id)").Where("dispatched_at IS NULL")
	err = db.Where("id = (?)", oldestID).Take(&first).Error
	if errors.Is(err, gorm.ErrRecordNotFound) { // dispatched meanwhile
		return pending, time.Time{}, nil
	}
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("outbox backlog: oldest scan: %w", err)
	}
	return pending, first.Timestamp, nil
}
