package models

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/scanforge/scanforge/internal/id"
	"github.com/scanforge/scanforge/internal/secretbox"
)

// Store reads and writes ScanForge's objects. Every workspace-owned read
// takes the workspace ID, so one workspace never sees another's objects:
// they are simply not found.
type Store struct {
	db  *gorm.DB
	now func() time.Time
	box *secretbox.Box // encrypts endpoint secrets; nil: they cannot be written

	stmts *outboxStatements // prepared on first use
}

// StoreOption configures a Store.
type StoreOption func(*Store)

// WithSecretBox makes the store encrypt endpoint secrets with box on write
// and decrypt them on read. Without it the store refuses to write a secret
// (rather than keep it in plaintext) and reads only legacy plaintext ones.
func WithSecretBox(box *secretbox.Box) StoreOption {
	return func(s *Store) { s.box = box }
}

// NewStore returns a Store over db. now is the clock (time.Now in production);
// times are kept in UTC at microsecond precision, what PostgreSQL stores.
func NewStore(db *gorm.DB, now func() time.Time, opts ...StoreOption) *Store {
	s := &Store{db: db, now: func() time.Time { return now().UTC().Truncate(time.Microsecond) }, stmts: &outboxStatements{}}
	for _, opt := range opts {
		opt(s)
	}
	return s
}

// inTx returns a copy of s whose queries run in tx.
func (s *Store) inTx(tx *gorm.DB) *Store {
	c := *s
	c.db = tx
	return &c
}

// DB exposes the connection for health checks and tests.
func (s *Store) DB() *gorm.DB { return s.db }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

// Page asks for up to Limit objects older than the object with ID After.
type Page struct {
	After string
	Limit int
}

func (p Page) apply(q *gorm.DB) *gorm.DB {
	if p.After != "" {
		q = q.Where("id < ?", p.After)
	}
	limit := p.Limit
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	return q.Order("id DESC").Limit(limit)
}

func notFound(what, id string, err error) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return fmt.Errorf("%s %q: %w", what, id, ErrNotFound)
	}
	return fmt.Errorf("%s %q: %w", what, id, err)
}

// --- workspaces and API keys ---

// CreateWorkspace creates a workspace named name.
func (s *Store) CreateWorkspace(ctx context.Context, name string) (Workspace, error) {
	now := s.now()
	ws := Workspace{ID: id.New(id.Workspace, now), Name: name, CreatedAt: now}
	if err := s.db.WithContext(ctx).Create(&ws).Error; err != nil {
		return Workspace{}, fmt.Errorf("create workspace: %w", err)
	}
	return ws, nil
}

// ListWorkspaces returns every workspace, oldest first.
func (s *Store) ListWorkspaces(ctx context.Context) ([]Workspace, error) {
	var out []Workspace
	if err := s.db.WithContext(ctx).Order("id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list workspaces: %w", err)
	}
	return out, nil
}

// CreateWorkspaceWithAPIKey creates a workspace and its first API key
// together (both or neither) and returns the plaintext key, shown once.
func (s *Store) CreateWorkspaceWithAPIKey(ctx context.Context, name, keyName string) (Workspace, APIKey, string, error) {
	var (
		ws    Workspace
		key   APIKey
		plain string
	)
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		if ws, err = s.inTx(tx).CreateWorkspace(ctx, name); err != nil {
			return err
		}
		key, plain, err = s.inTx(tx).CreateAPIKey(ctx, ws.ID, keyName)
		return err
	})
	if err != nil {
		return Workspace{}, APIKey{}, "", err
	}
	return ws, key, plain, nil
}

// apiKeyPrefix starts every API key, so leaked keys are easy to grep for.
const apiKeyPrefix = "sf_"

// CreateAPIKey makes a new key for workspaceID and returns it with the
// plaintext key, which is not stored and cannot be shown again.
func (s *Store) CreateAPIKey(ctx context.Context, workspaceID, name string) (APIKey, string, error) {
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return APIKey{}, "", fmt.Errorf("create api key: %w", err)
	}
	plain := apiKeyPrefix + hex.EncodeToString(raw)
	now := s.now()
	key := APIKey{
		ID:          id.New(id.APIKey, now),
		WorkspaceID: workspaceID,
		Name:        name,
		Prefix:      plain[:len(apiKeyPrefix)+8],
		Hash:        hashKey(plain),
		CreatedAt:   now,
	}
	if err := s.db.WithContext(ctx).Create(&key).Error; err != nil {
		return APIKey{}, "", fmt.Errorf("create api key: %w", err)
	}
	return key, plain, nil
}

func hashKey(plain string) string {
	sum := sha256.Sum256([]byte(plain))
	return hex.EncodeToString(sum[:])
}

// Authenticate returns the live API key matching plain, or ErrUnauthorized.
func (s *Store) Authenticate(ctx context.Context, plain string) (APIKey, error) {
	var key APIKey
	err := s.db.WithContext(ctx).Where("hash = ? AND revoked_at IS NULL", hashKey(plain)).Take(&key).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return APIKey{}, ErrUnauthorized
	}
	if err != nil {
		return APIKey{}, fmt.Errorf("authenticate: %w", err)
	}
	// Record use at most once a minute: a write per API call would be waste.
	now := s.now()
	if key.LastUsedAt == nil || now.Sub(*key.LastUsedAt) > time.Minute {
		key.LastUsedAt = &now
		s.db.WithContext(ctx).Model(&APIKey{}).Where("id = ?", key.ID).Update("last_used_at", now)
	}
	return key, nil
}

// ListAPIKeys returns a page of workspaceID's API keys, revoked ones
// included, newest first.
func (s *Store) ListAPIKeys(ctx context.Context, workspaceID string, p Page) ([]APIKey, error) {
	var out []APIKey
	q := s.db.WithContext(ctx).Where("workspace_id = ?", workspaceID)
	if err := p.apply(q).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	return out, nil
}

// RevokeAPIKey revokes workspaceID's key keyID: Authenticate refuses it
// from now on. Revoking a revoked key changes nothing (its first revocation
// time stays).
func (s *Store) RevokeAPIKey(ctx context.Context, workspaceID, keyID string) error {
	res := s.db.WithContext(ctx).Model(&APIKey{}).
		Where("workspace_id = ? AND id = ? AND revoked_at IS NULL", workspaceID, keyID).
		Update("revoked_at", s.now())
	if res.Error != nil {
		return fmt.Errorf("revoke api key: %w", res.Error)
	}
	if res.RowsAffected == 1 {
		return nil
	}
	var key APIKey
	err := s.db.WithContext(ctx).Where("workspace_id = ? AND id = ?", workspaceID, keyID).Take(&key).Error
	if err != nil {
		return notFound("api key", keyID, err)
	}
	return nil // already revoked
}

// --- codes ---

// CreateCode stores c; the slug must be free (ErrConflict otherwise).
func (s *Store) CreateCode(ctx context.Context, c *Code) error {
	now := s.now()
	c.ID = id.New(id.Code, now)
	c.CreatedAt, c.UpdatedAt = now, now
	err := s.db.WithContext(ctx).Create(c).Error
	if isUniqueViolation(err) {
		return fmt.Errorf("slug %q is already taken: %w", c.Slug, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create code: %w", err)
	}
	return nil
}

// ListCodes returns a page of workspaceID's codes, newest first.
func (s *Store) ListCodes(ctx context.Context, workspaceID string, p Page) ([]Code, error) {
	var out []Code
	q := s.db.WithContext(ctx).Where("workspace_id = ?", workspaceID)
	if err := p.apply(q).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list codes: %w", err)
	}
	return out, nil
}

// GetCode returns workspaceID's code codeID.
func (s *Store) GetCode(ctx context.Context, workspaceID, codeID string) (Code, error) {
	var c Code
	err := s.db.WithContext(ctx).Where("workspace_id = ? AND id = ?", workspaceID, codeID).Take(&c).Error
	if err != nil {
		return Code{}, notFound("code", codeID, err)
	}
	return c, nil
}

// GetCodeBySlug returns the code behind a redirect slug, in any workspace.
func (s *Store) GetCodeBySlug(ctx context.Context, slug string) (Code, error) {
	var c Code
	if err := s.db.WithContext(ctx).Where("slug = ?", slug).Take(&c).Error; err != nil {
		return Code{}, notFound("slug", slug, err)
	}
	return c, nil
}

// UpdateCode saves c (found by workspace and ID). A new slug must be free.
func (s *Store) UpdateCode(ctx context.Context, c *Code) error {
	c.UpdatedAt = s.now()
	res := s.db.WithContext(ctx).Model(&Code{}).
		Where("workspace_id = ? AND id = ?", c.WorkspaceID, c.ID).
		Select("slug", "name", "destination_url", "active", "updated_at").
		Updates(c)
	if isUniqueViolation(res.Error) {
		return fmt.Errorf("slug %q is already taken: %w", c.Slug, ErrConflict)
	}
	if res.Error != nil {
		return fmt.Errorf("update code: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("code %q: %w", c.ID, ErrNotFound)
	}
	return nil
}

// DeleteCode removes a code and its endpoint subscriptions. Its scans stay,
// so analytics and pending deliveries keep their data.
func (s *Store) DeleteCode(ctx context.Context, workspaceID, codeID string) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Where("workspace_id = ? AND id = ?", workspaceID, codeID).Delete(&Code{})
		if res.Error != nil {
			return fmt.Errorf("delete code: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("code %q: %w", codeID, ErrNotFound)
		}
		if err := tx.Where("code_id = ?", codeID).Delete(&EndpointCode{}).Error; err != nil {
			return fmt.Errorf("delete code subscriptions: %w", err)
		}
		return nil
	})
}

// --- endpoints ---

// checkCodesOwned returns a ValidationError if any of codeIDs is not a code
// of workspaceID.
func checkCodesOwned(tx *gorm.DB, workspaceID string, codeIDs []string) error {
	if len(codeIDs) == 0 {
		return nil
	}
	var found []string
	if err := tx.Model(&Code{}).Where("workspace_id = ? AND id IN ?", workspaceID, codeIDs).Pluck("id", &found).Error; err != nil {
		return fmt.Errorf("check codes: %w", err)
	}
	have := make(map[string]bool, len(found))
	for _, f := range found {
		have[f] = true
	}
	for _, c := range codeIDs {
		if !have[c] {
			return Invalid("code_ids", fmt.Sprintf("no code %q in this workspace", c))
		}
	}
	return nil
}

func replaceSubscriptions(tx *gorm.DB, endpointID string, codeIDs []string) error {
	if err := tx.Where("endpoint_id = ?", endpointID).Delete(&EndpointCode{}).Error; err != nil {
		return fmt.Errorf("replace subscriptions: %w", err)
	}
	if len(codeIDs) == 0 {
		return nil
	}
	rows := make([]EndpointCode, len(codeIDs))
	for i, c := range codeIDs {
		rows[i] = EndpointCode{EndpointID: endpointID, CodeID: c}
	}
	if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&rows).Error; err != nil {
		return fmt.Errorf("replace subscriptions: %w", err)
	}
	return nil
}

// CreateEndpoint stores e with its code subscriptions. Its secrets are
// stored encrypted; e keeps the plaintext.
func (s *Store) CreateEndpoint(ctx context.Context, e *Endpoint) error {
	now := s.now()
	e.ID = id.New(id.Endpoint, now)
	e.CreatedAt, e.UpdatedAt = now, now
	row := *e
	var err error
	if row.Secret, err = s.sealSecret(e.ID, e.Secret); err != nil {
		return err
	}
	if row.PreviousSecret, err = s.sealSecret(e.ID, e.PreviousSecret); err != nil {
		return err
	}
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := checkCodesOwned(tx, e.WorkspaceID, e.CodeIDs); err != nil {
			return err
		}
		if err := tx.Create(&row).Error; err != nil {
			return fmt.Errorf("create endpoint: %w", err)
		}
		return replaceSubscriptions(tx, e.ID, e.CodeIDs)
	})
}

// loadCodeIDs fills CodeIDs of eps from the subscription table.
func (s *Store) loadCodeIDs(ctx context.Context, eps []Endpoint) error {
	if len(eps) == 0 {
		return nil
	}
	ids := make([]string, len(eps))
	for i, e := range eps {
		ids[i] = e.ID
	}
	var rows []EndpointCode
	if err := s.db.WithContext(ctx).Where("endpoint_id IN ?", ids).Order("code_id").Find(&rows).Error; err != nil {
		return fmt.Errorf("load subscriptions: %w", err)
	}
	byEndpoint := map[string][]string{}
	for _, r := range rows {
		byEndpoint[r.EndpointID] = append(byEndpoint[r.EndpointID], r.CodeID)
	}
	for i := range eps {
		eps[i].CodeIDs = byEndpoint[eps[i].ID]
		if eps[i].CodeIDs == nil {
			eps[i].CodeIDs = []string{}
		}
	}
	return nil
}

// ListEndpoints returns a page of workspaceID's endpoints, newest first.
func (s *Store) ListEndpoints(ctx context.Context, workspaceID string, p Page) ([]Endpoint, error) {
	var out []Endpoint
	q := s.db.WithContext(ctx).Where("workspace_id = ?", workspaceID)
	if err := p.apply(q).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list endpoints: %w", err)
	}
	withoutSecrets(out)
	return out, s.loadCodeIDs(ctx, out)
}

// GetEndpoint returns workspaceID's endpoint endpointID, without secrets.
func (s *Store) GetEndpoint(ctx context.Context, workspaceID, endpointID string) (Endpoint, error) {
	var e Endpoint
	err := s.db.WithContext(ctx).Where("workspace_id = ? AND id = ?", workspaceID, endpointID).Take(&e).Error
	if err != nil {
		return Endpoint{}, notFound("endpoint", endpointID, err)
	}
	eps := []Endpoint{e}
	withoutSecrets(eps)
	err = s.loadCodeIDs(ctx, eps)
	return eps[0], err
}

// GetEndpointByID returns an endpoint whatever its workspace, with its
// secrets decrypted: for the delivery activity, which has only the ID from
// its workflow input and signs with them.
func (s *Store) GetEndpointByID(ctx context.Context, endpointID string) (Endpoint, error) {
	var e Endpoint
	if err := s.db.WithContext(ctx).Where("id = ?", endpointID).Take(&e).Error; err != nil {
		return Endpoint{}, notFound("endpoint", endpointID, err)
	}
	if err := s.openSecrets(&e); err != nil {
		return Endpoint{}, err
	}
	return e, nil
}

// UpdateEndpoint saves e (found by workspace and ID) and its subscriptions.
func (s *Store) UpdateEndpoint(ctx context.Context, e *Endpoint) error {
	e.UpdatedAt = s.now()
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := checkCodesOwned(tx, e.WorkspaceID, e.CodeIDs); err != nil {
			return err
		}
		res := tx.Model(&Endpoint{}).
			Where("workspace_id = ? AND id = ?", e.WorkspaceID, e.ID).
			Select("url", "description", "enabled", "disabled_reason", "all_codes", "human_only", "updated_at").
			Updates(e)
		if res.Error != nil {
			return fmt.Errorf("update endpoint: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("endpoint %q: %w", e.ID, ErrNotFound)
		}
		return replaceSubscriptions(tx, e.ID, e.CodeIDs)
	})
}

// DisableEndpoint turns an endpoint off with a reason (e.g. it answered 410).
func (s *Store) DisableEndpoint(ctx context.Context, endpointID, reason string) error {
	err := s.db.WithContext(ctx).Model(&Endpoint{}).Where("id = ?", endpointID).
		Updates(map[string]any{"enabled": false, "disabled_reason": reason, "updated_at": s.now()}).Error
	if err != nil {
		return fmt.Errorf("disable endpoint %q: %w", endpointID, err)
	}
	return nil
}

// DeleteEndpoint removes an endpoint and its subscriptions. Deliveries still
// pending for it stop at their next attempt.
func (s *Store) DeleteEndpoint(ctx context.Context, workspaceID, endpointID string) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Where("workspace_id = ? AND id = ?", workspaceID, endpointID).Delete(&Endpoint{})
		if res.Error != nil {
			return fmt.Errorf("delete endpoint: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("endpoint %q: %w", endpointID, ErrNotFound)
		}
		if err := tx.Where("endpoint_id = ?", endpointID).Delete(&EndpointCode{}).Error; err != nil {
			return fmt.Errorf("delete endpoint subscriptions: %w", err)
		}
		return nil
	})
}

// --- scans: the outbox ---

// GetScan returns workspaceID's scan scanID.
func (s *Store) GetScan(ctx context.Context, workspaceID, scanID string) (Scan, error) {
	var sc Scan
	err := s.db.WithContext(ctx).Where("workspace_id = ? AND id = ?", workspaceID, scanID).Take(&sc).Error
	if err != nil {
		return Scan{}, notFound("scan", scanID, err)
	}
	return sc, nil
}
