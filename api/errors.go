package api

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/scanforge/scanforge/internal/deliverylog"
	"github.com/scanforge/scanforge/models"
)

// Error codes of the JSON error answer. Clients switch on these, not on the
// message, so they never change.
const (
	codeNotFound         = "not_found"
	codeUnauthorized     = "unauthorized"
	codeInvalidJSON      = "invalid_json"
	codeBadRequest       = "bad_request" // a bad query parameter (limit, cursor)
	codeValidation       = "validation_failed"
	codeConflict         = "conflict"
	codeBodyTooLarge     = "body_too_large"
	codeMethodNotAllowed = "method_not_allowed"
	codeRateLimited      = "rate_limited"
	codeInternal         = "internal"
)

// apiError is an error that already knows its HTTP answer. Handlers return
// it for failures they recognise; everything else goes through describe.
type apiError struct {
	Status  int
	Code    string
	Message string
	Field   string
}

func (e *apiError) Error() string { return e.Message }

func errInvalidJSON(field, message string) error {
	return &apiError{Status: http.StatusBadRequest, Code: codeInvalidJSON, Message: message, Field: field}
}

func errBadRequest(field, message string) error {
	return &apiError{Status: http.StatusBadRequest, Code: codeBadRequest, Message: message, Field: field}
}

func errNotFound(what string) error {
	return &apiError{Status: http.StatusNotFound, Code: codeNotFound, Message: what + " not found"}
}

func errSlugTaken(slug string) error {
	return &apiError{Status: http.StatusConflict, Code: codeConflict, Message: `slug "` + slug + `" is already taken`, Field: "slug"}
}

func errRateLimited(retryAfterSeconds int) error {
	return &apiError{Status: http.StatusTooManyRequests, Code: codeRateLimited,
		Message: fmt.Sprintf("too many requests with this API key; retry in %d s", retryAfterSeconds)}
}

var errBodyTooLarge = &apiError{Status: http.StatusRequestEntityTooLarge, Code: codeBodyTooLarge, Message: "request body is larger than 1 MiB"}

// errorBody is the JSON shape of every error answer.
type errorBody struct {
	Error     errorDetail `json:"error"`
	RequestID string      `json:"request_id"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// describe maps any error to its HTTP answer. It is the one place where
// errors become statuses. Unknown errors are internal: their text is never
// shown to the client.
func describe(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return errBodyTooLarge
	}
	var invalid *models.ValidationError
	if errors.As(err, &invalid) {
		return &apiError{Status: http.StatusUnprocessableEntity, Code: codeValidation, Message: invalid.Error(), Field: invalid.Field}
	}
	switch {
	case errors.Is(err, models.ErrNotFound):
		return &apiError{Status: http.StatusNotFound, Code: codeNotFound, Message: "not found"}
	case errors.Is(err, models.ErrUnauthorized):
		return &apiError{Status: http.StatusUnauthorized, Code: codeUnauthorized, Message: "invalid API key"}
	case errors.Is(err, models.ErrConflict):
		return &apiError{Status: http.StatusConflict, Code: codeConflict, Message: "conflict"}
	case errors.Is(err, models.ErrInvalid):
		return &apiError{Status: http.StatusUnprocessableEntity, Code: codeValidation, Message: "invalid input"}
	case errors.Is(err, deliverylog.ErrNotFound):
		return &apiError{Status: http.StatusNotFound, Code: codeNotFound, Message: "delivery not found"}
	case errors.Is(err, deliverylog.ErrStillRunning):
		return &apiError{Status: http.StatusConflict, Code: codeConflict,
			Message: "the delivery is still running: replay it once it has finished, or retry it now (POST …/retry)"}
	case errors.Is(err, deliverylog.ErrNotRunning):
		return &apiError{Status: http.StatusConflict, Code: codeConflict,
			Message: "the delivery has finished: there is no attempt to hurry; replay it instead (POST …/replay)"}
	case errors.Is(err, deliverylog.ErrIdempotencyKeyReused):
		return &apiError{Status: http.StatusConflict, Code: codeConflict, Field: "Idempotency-Key",
			Message: "this Idempotency-Key was used with another request in the last 24 hours: use a new key for a new request"}
	case errors.Is(err, deliverylog.ErrInvalidCursor):
		return &apiError{Status: http.StatusBadRequest, Code: codeBadRequest, Field: "cursor",
			Message: "cursor is not valid: pass next_cursor from the previous page, with the same filters"}
	case errors.Is(err, deliverylog.ErrInvalidFilter):
		return &apiError{Status: http.StatusBadRequest, Code: codeBadRequest, Message: err.Error()}
	}
	return &apiError{Status: http.StatusInternalServerError, Code: codeInternal, Message: "internal error"}
}

// writeError answers err as JSON and stops the handler chain. Internal
// errors are logged with the request ID that the client also receives.
func writeError(c *gin.Context, log *slog.Logger, err error) {
	ae := describe(err)
	reqID := requestID(c)
	if ae.Status >= http.StatusInternalServerError {
		log.ErrorContext(c.Request.Context(), "request failed",
			"request_id", reqID, "method", c.Request.Method, "path", c.FullPath(), "error", err)
	}
	if ae.Status == http.StatusUnauthorized {
		c.Header("WWW-Authenticate", "Bearer")
	}
	c.AbortWithStatusJSON(ae.Status, errorBody{
		Error:     errorDetail{Code: ae.Code, Message: ae.Message, Field: ae.Field},
		RequestID: reqID,
	})
}
