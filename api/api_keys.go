package api

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/scanforge/scanforge/models"
)

// apiKeyIDPrefix starts API key IDs (internal/id.APIKey).
const apiKeyIDPrefix = "key"

// apiKeyAnswer is an API key as the API shows it: never its hash, and the
// key itself only once, in the create answer (apiKeyCreatedAnswer).
type apiKeyAnswer struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

type apiKeyCreatedAnswer struct {
	apiKeyAnswer
	Key string `json:"key"`
}

func newAPIKeyAnswer(k models.APIKey) apiKeyAnswer {
	return apiKeyAnswer{ID: k.ID, Name: k.Name, Prefix: k.Prefix, CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt}
}

// readName reads the body {"name": "..."}: required, 1–200 characters.
func readName(r *http.Request) (string, error) {
	obj, err := readObject(r, "name")
	if err != nil {
		return "", err
	}
	name, ok, err := obj.String("name")
	if err != nil {
		return "", err
	}
	if !ok || strings.TrimSpace(name) == "" {
		return "", models.Invalid("name", "is required")
	}
	return name, validateText("name", name, maxNameLength)
}

func (s *server) createAPIKey(c *gin.Context) {
	name, err := readName(c.Request)
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	key, plain, err := s.store.CreateAPIKey(c.Request.Context(), workspaceID(c), name)
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	c.JSON(http.StatusCreated, apiKeyCreatedAnswer{apiKeyAnswer: newAPIKeyAnswer(key), Key: plain})
}

func (s *server) listAPIKeys(c *gin.Context) {
	after, limit, err := pageQuery(c, apiKeyIDPrefix)
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	ws := workspaceID(c)
	keys, next, err := fetchPage(func(p models.Page) ([]models.APIKey, error) {
		return s.store.ListAPIKeys(c.Request.Context(), ws, p)
	}, func(k models.APIKey) string { return k.ID }, after, limit)
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	out := listAnswer[apiKeyAnswer]{Data: make([]apiKeyAnswer, len(keys)), NextCursor: next}
	for i, k := range keys {
		out.Data[i] = newAPIKeyAnswer(k)
	}
	c.JSON(http.StatusOK, out)
}

// revokeAPIKey revokes a key of the caller's workspace; the very next
// request with it is refused. A key may revoke itself (to roll it: create
// the new key first, switch over, then revoke the old one with either).
func (s *server) revokeAPIKey(c *gin.Context) {
	keyID := c.Param("id")
	if !isObjectID(apiKeyIDPrefix, keyID) {
		writeError(c, s.log, errNotFound("api key"))
		return
	}
	err := s.store.RevokeAPIKey(c.Request.Context(), workspaceID(c), keyID)
	if errors.Is(err, models.ErrNotFound) {
		err = errNotFound("api key")
	}
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	c.Status(http.StatusNoContent)
}
