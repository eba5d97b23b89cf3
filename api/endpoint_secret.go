package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/scanforge/scanforge/models"
	"github.com/scanforge/scanforge/webhook"
)

// defaultSecretOverlap is how long the old secret keeps signing after a
// rotation when the caller does not say.
const defaultSecretOverlap = 24 * time.Hour

// rotateEndpointSecret gives an endpoint a new secret, shown once in the
// answer. For the overlap window ({"overlap": "24h"} by default, "0s" to
// stop the old secret at once, at most "7d") every delivery carries a
// signature with each secret, so the receiver can switch at its own pace.
func (s *server) rotateEndpointSecret(c *gin.Context) {
	e, err := s.loadEndpoint(c)
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	overlap, err := readOverlap(c.Request)
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	secret, err := webhook.NewSecret()
	if err != nil {
		writeError(c, s.log, fmt.Errorf("rotate secret: %w", err))
		return
	}
	rotated, err := s.store.RotateEndpointSecret(c.Request.Context(), e.WorkspaceID, e.ID, secret, overlap)
	switch {
	case errors.Is(err, models.ErrNotFound): // deleted meanwhile
		err = errNotFound("endpoint")
	case errors.Is(err, models.ErrConflict):
		err = &apiError{Status: http.StatusConflict, Code: codeConflict,
			Message: "the secret was rotated by another request at the same time; retry"}
	}
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	c.JSON(http.StatusOK, endpointCreatedAnswer{endpointAnswer: newEndpointAnswer(rotated), Secret: secret})
}

// readOverlap reads the optional body {"overlap": DURATION}; an empty body
// means the default.
func readOverlap(r *http.Request) (time.Duration, error) {
	if r.Body == nil {
		return defaultSecretOverlap, nil
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return 0, errBodyTooLarge
		}
		return 0, errInvalidJSON("", "could not read request body")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return defaultSecretOverlap, nil
	}
	obj, err := parseObject(body, []string{"overlap"})
	if err != nil {
		return 0, err
	}
	raw, ok, err := obj.String("overlap")
	if err != nil || !ok {
		return defaultSecretOverlap, err
	}
	d, ok := parseOverlap(raw)
	if !ok || d < 0 || d > models.MaxSecretOverlap {
		return 0, models.Invalid("overlap", `must be a duration from "0s" to "7d", e.g. "24h" or "90m"`)
	}
	return d, nil
}

// parseOverlap accepts Go durations ("36h", "90m") and whole days ("7d").
func parseOverlap(s string) (time.Duration, bool) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 7 {
			return 0, false
		}
		return time.Duration(n) * 24 * time.Hour, true
	}
	d, err := time.ParseDuration(s)
	return d, err == nil
}
