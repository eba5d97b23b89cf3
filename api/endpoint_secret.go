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

// signingFields are the endpoint fields about signing, read on create and
// update (where a secret is refused: rotate-secret changes it).
var signingFields = []string{"secret", "body_signature"}

// signingInput is how an endpoint's deliveries are signed; nil: not given.
type signingInput struct {
	Secret        *string // checked by secretOrNew
	BodySignature *bool
}

func readSigningInput(obj jsonObject) (signingInput, error) {
	var in signingInput
	var err error
	if in.Secret, err = optionalString(obj, "secret"); err != nil {
		return signingInput{}, err
	}
	if in.BodySignature, err = optionalBool(obj, "body_signature"); err != nil {
		return signingInput{}, err
	}
	return in, nil
}

func (in signingInput) apply(e *models.Endpoint) {
	if in.BodySignature != nil {
		e.BodySignature = *in.BodySignature
	}
}

// secretOrNew returns the given secret if it is valid, or a new one when
// none was given.
func (in signingInput) secretOrNew() (string, error) {
	if in.Secret != nil {
		return *in.Secret, validSecret(*in.Secret)
	}
	return webhook.NewSecret()
}

var errSecretOnUpdate = models.Invalid("secret", "cannot be changed here: use POST /api/v1/endpoints/{id}/rotate-secret")

// validSecret turns webhook.ValidateSecret's verdict into a 422 naming the
// field and the rule; the value itself is never repeated.
func validSecret(secret string) error {
	err := webhook.ValidateSecret(secret)
	var invalid *webhook.InvalidSecretError
	if errors.As(err, &invalid) {
		return models.Invalid("secret", fmt.Sprintf(`must be "whsec_" followed by standard base64 (with = padding) of %d to %d random bytes, or be left out to have one generated; %s`,
			webhook.MinSecretBytes, webhook.MaxSecretBytes, invalid.Reason))
	}
	return err
}

// defaultSecretOverlap is how long the old secret keeps signing after a
// rotation when the caller does not say.
const defaultSecretOverlap = 24 * time.Hour

// rotateEndpointSecret gives an endpoint a new secret, the one given
// ({"secret": "whsec_…"}) or a generated one, shown once in the answer. For
// the overlap window ({"overlap": "24h"} by default, "0s" to
// stop the old secret at once, at most "7d") every delivery carries a
// signature with each secret, so the receiver can switch at its own pace.
func (s *server) rotateEndpointSecret(c *gin.Context) {
	e, err := s.loadEndpoint(c)
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	overlap, given, err := readRotation(c.Request)
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	secret, err := given.secretOrNew()
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

// readRotation reads the optional body {"overlap": DURATION, "secret":
// SECRET}; an empty body means the default overlap and a generated secret.
func readRotation(r *http.Request) (time.Duration, signingInput, error) {
	if r.Body == nil {
		return defaultSecretOverlap, signingInput{}, nil
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return 0, signingInput{}, errBodyTooLarge
		}
		return 0, signingInput{}, errInvalidJSON("", "could not read request body")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return defaultSecretOverlap, signingInput{}, nil
	}
	obj, err := parseObject(body, []string{"overlap", "secret"})
	if err != nil {
		return 0, signingInput{}, err
	}
	in, err := readSigningInput(obj) // only a secret: body_signature is refused above
	if err != nil {
		return 0, signingInput{}, err
	}
	raw, ok, err := obj.String("overlap")
	if err != nil || !ok {
		return defaultSecretOverlap, in, err
	}
	d, ok := parseOverlap(raw)
	if !ok || d < 0 || d > models.MaxSecretOverlap {
		return 0, signingInput{}, models.Invalid("overlap", `must be a duration from "0s" to "7d", e.g. "24h" or "90m"`)
	}
	return d, in, nil
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
