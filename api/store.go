package api

import (
	"context"
	"time"

	"github.com/scanforge/scanforge/models"
)

// Store is what the handlers need from the database; *models.Store is the
// one the product runs, a fake serves the handler tests that need none.
type Store interface {
	Authenticate(ctx context.Context, plainKey string) (models.APIKey, error)

	CreateWorkspaceWithAPIKey(ctx context.Context, name, keyName string) (models.Workspace, models.APIKey, string, error)
	CreateAPIKey(ctx context.Context, workspaceID, name string) (models.APIKey, string, error)
	ListAPIKeys(ctx context.Context, workspaceID string, p models.Page) ([]models.APIKey, error)
	RevokeAPIKey(ctx context.Context, workspaceID, keyID string) error

	CreateCode(ctx context.Context, c *models.Code) error
	GetCode(ctx context.Context, workspaceID, codeID string) (models.Code, error)
	GetCodeBySlug(ctx context.Context, slug string) (models.Code, error)
	ListCodes(ctx context.Context, workspaceID string, p models.Page) ([]models.Code, error)
	UpdateCode(ctx context.Context, c *models.Code) error
	DeleteCode(ctx context.Context, workspaceID, codeID string) error

	CreateEndpoint(ctx context.Context, e *models.Endpoint) error
	GetEndpoint(ctx context.Context, workspaceID, endpointID string) (models.Endpoint, error)
	ListEndpoints(ctx context.Context, workspaceID string, p models.Page) ([]models.Endpoint, error)
	UpdateEndpoint(ctx context.Context, e *models.Endpoint) error
	DeleteEndpoint(ctx context.Context, workspaceID, endpointID string) error
	RotateEndpointSecret(ctx context.Context, workspaceID, endpointID, newSecret string, overlap time.Duration) (models.Endpoint, error)
	PauseEndpoint(ctx context.Context, workspaceID, endpointID string) (models.Endpoint, error)
	ResumeEndpoint(ctx context.Context, workspaceID, endpointID string) (models.Endpoint, error)

	ListScans(ctx context.Context, workspaceID, codeID string, f models.ScanFilter, p models.Page) ([]models.Scan, error)
	ScanStats(ctx context.Context, workspaceID, codeID string, f models.ScanFilter) (models.ScanStats, error)
	WorkspaceStats(ctx context.Context, workspaceID string, f models.ScanFilter) (models.ScanStats, error)
}

var _ Store = (*models.Store)(nil)
