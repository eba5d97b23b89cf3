package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// requireAdminToken lets through requests bearing the admin token. Both
// sides are hashed before the constant-time comparison, so neither the
// token's bytes nor its length leak through timing.
func requireAdminToken(token string, log *slog.Logger) gin.HandlerFunc {
	want := sha256.Sum256([]byte(token))
	return func(c *gin.Context) {
		scheme, given, _ := strings.Cut(strings.TrimSpace(c.GetHeader("Authorization")), " ")
		got := sha256.Sum256([]byte(strings.TrimSpace(given)))
		if !strings.EqualFold(scheme, bearerAuthScheme) || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			log.WarnContext(c.Request.Context(), "admin authentication failed",
				"request_id", requestID(c), "method", c.Request.Method, "path", c.FullPath())
			writeError(c, log, &apiError{Status: http.StatusUnauthorized, Code: codeUnauthorized,
				Message: "invalid admin token: send Authorization: Bearer <admin token>"})
			return
		}
		c.Next()
	}
}

type workspaceAnswer struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// workspaceCreatedAnswer carries the workspace's first API key in
// plaintext: the only time it is shown.
type workspaceCreatedAnswer struct {
	Workspace workspaceAnswer `json:"workspace"`
	APIKey    string          `json:"api_key"`
}

// initialKeyName names the API key made with a workspace.
const initialKeyName = "initial"

func (s *server) createWorkspace(c *gin.Context) {
	name, err := readName(c.Request)
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	ws, _, plain, err := s.store.CreateWorkspaceWithAPIKey(c.Request.Context(), name, initialKeyName)
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	s.log.InfoContext(c.Request.Context(), "workspace created", "request_id", requestID(c), "workspace_id", ws.ID)
	c.JSON(http.StatusCreated, workspaceCreatedAnswer{
		Workspace: workspaceAnswer{ID: ws.ID, Name: ws.Name, CreatedAt: ws.CreatedAt},
		APIKey:    plain,
	})
}
