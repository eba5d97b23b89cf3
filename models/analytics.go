package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// BotFilter selects scans by their bot verdict.
type BotFilter string

// The bot filters of a ScanFilter.
const (
	BotsInclude BotFilter = ""        // humans and bots
	BotsExclude BotFilter = "exclude" // humans only
	BotsOnly    BotFilter = "only"    // bots only
)

// ScanFilter narrows a code's scans. A zero field does not filter.
type ScanFilter struct {
	From        time.Time // scans at or after From
	To          time.Time // scans before To
	Source      string    // "qr" or "link"
	CountryCode string    // ISO 3166-1 alpha-2, as stored (upper case)
	DeviceType  string    // mobile, tablet, desktop, tv, console, bot, unknown
	Bots        BotFilter
}

// where returns the SQL condition selecting workspaceID's scans of codeID
// (of every code when codeID is empty) that pass f, and its arguments.
// Column names are quoted: "timestamp" is a keyword in both dialects.
func (f ScanFilter) where(workspaceID, codeID string) (string, []any) {
	conds := []string{`workspace_id = ?`}
	args := []any{workspaceID}
	if codeID != "" {
		conds = []string{`code_id = ?`, `workspace_id = ?`}
		args = []any{codeID, workspaceID}
	}
	add := func(cond string, arg any) {
		conds = append(conds, cond)
		args = append(args, arg)
	}
	if !f.From.IsZero() {
		add(`"timestamp" >= ?`, f.From.UTC())
	}
	if !f.To.IsZero() {
		add(`"timestamp" < ?`, f.To.UTC())
	}
	if f.Source != "" {
		add(`source = ?`, f.Source)
	}
	if f.CountryCode != "" {
		add(`country_code = ?`, f.CountryCode)
	}
	if f.DeviceType != "" {
		add(`device_type = ?`, f.DeviceType)
	}
	switch f.Bots {
	case BotsExclude:
		add(`is_bot = ?`, false)
	case BotsOnly:
		add(`is_bot = ?`, true)
	}
	return strings.Join(conds, " AND "), args
}

// ListScans returns a page of workspaceID's scans of codeID that pass f,
// newest first (by timestamp, then ID). p.After is the ID of the last scan
// of the previous page; an ID that names no scan of this code is a
// ValidationError on "cursor". The order is that of idx_scans_code_time
// (code_id, timestamp, id), so a page is a short backward walk of the index
// from the cursor or from f.To, whatever the range.
func (s *Store) ListScans(ctx context.Context, workspaceID, codeID string, f ScanFilter, p Page) ([]Scan, error) {
	cond, args := f.where(workspaceID, codeID)
	q := s.db.WithContext(ctx).Where(cond, args...)
	if p.After != "" {
		var after Scan
		err := s.db.WithContext(ctx).Select("id", "timestamp").
			Where("id = ? AND workspace_id = ? AND code_id = ?", p.After, workspaceID, codeID).Take(&after).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, Invalid("cursor", "names no scan of this code")
		}
		if err != nil {
			return nil, fmt.Errorf("list scans of code %q: cursor: %w", codeID, err)
		}
		// (timestamp, id) < (after's): the first term alone bounds the index range.
		q = q.Where(`"timestamp" <= ? AND ("timestamp" < ? OR id < ?)`, after.Timestamp, after.Timestamp, after.ID)
	}
	limit := p.Limit
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	var out []Scan
	if err := q.Order(`"timestamp" DESC, id DESC`).Limit(limit).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list scans of code %q: %w", codeID, err)
	}
	return out, nil
}

// GetScan returns workspaceID's scan scanID.
func (s *Store) GetScan(ctx context.Context, workspaceID, scanID string) (Scan, error) {
	var sc Scan
	err := s.db.WithContext(ctx).Where("workspace_id = ? AND id = ?", workspaceID, scanID).Take(&sc).Error
	if err != nil {
		return Scan{}, notFound("scan", scanID, err)
	}
	return sc, nil
}
