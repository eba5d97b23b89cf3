package api

import (
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/scanforge/scanforge/internal/id"
)

// Keys of values kept in the gin context.
const (
	workspaceIDKey  = "scanforge.workspace_id"
	apiKeyPrefixKey = "scanforge.api_key_prefix"
	apiKeyIDKey     = "scanforge.api_key_id"
)

const (
	requestIDHeader  = "X-Request-Id"
	maxRequestIDLen  = 128
	maxBodyBytes     = 1 << 20 // 1 MiB
	bearerAuthScheme = "Bearer"
)

// withRequestID takes the caller's X-Request-Id when it is sane (so a proxy's
// ID follows the request through our logs) or makes one, and echoes it.
func withRequestID(ids *id.Sequence) gin.HandlerFunc {
	return func(c *gin.Context) {
		reqID := c.GetHeader(requestIDHeader)
		if !isSaneRequestID(reqID) {
			reqID = ids.Next()
		}
		// Kept in the response's header alone, which requestID reads: a
		// gin key would allocate the context's map on every redirect.
		c.Header(requestIDHeader, reqID)
		c.Next()
	}
}

// isSaneRequestID accepts 1–128 visible ASCII characters without quotes or
// backslashes: safe to echo in a header and to write in logs.
func isSaneRequestID(s string) bool {
	if s == "" || len(s) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f || s[i] == '"' || s[i] == '\\' {
			return false
		}
	}
	return true
}

func requestID(c *gin.Context) string { return c.Writer.Header().Get(requestIDHeader) }

func workspaceID(c *gin.Context) string { return c.GetString(workspaceIDKey) }

// apiKeyID is the ID of the caller's API key: what rate limits count by.
func apiKeyID(c *gin.Context) string { return c.GetString(apiKeyIDKey) }

// callerKeyPrefix is the shown prefix of the caller's API key (sf_1a2b3c4d):
// enough to say who asked for something, useless to an attacker.
func callerKeyPrefix(c *gin.Context) string { return c.GetString(apiKeyPrefixKey) }

// recoverPanics turns a panic into a logged JSON 500, so one bad request
// never takes the process down or leaves the client without an answer.
func recoverPanics(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(v) // net/http's way to abort a response: let it through
			}
			log.ErrorContext(c.Request.Context(), "panic while serving request",
				"request_id", requestID(c), "method", c.Request.Method, "path", c.Request.URL.Path,
				"panic", v, "stack", string(debug.Stack()))
			if c.Writer.Written() {
				c.Abort() // too late for a JSON answer; the client sees a cut response
				return
			}
			c.AbortWithStatusJSON(http.StatusInternalServerError, errorBody{
				Error:     errorDetail{Code: codeInternal, Message: "internal error"},
				RequestID: requestID(c),
			})
		}()
		c.Next()
	}
}

// limitBody caps request bodies at 1 MiB: a declared larger body is refused
// at once, an undeclared (chunked) one fails when the handler reads past the
// cap.
func limitBody(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength > maxBodyBytes {
			writeError(c, log, errBodyTooLarge)
			return
		}
		if c.Request.Body != nil {
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxBodyBytes)
		}
		c.Next()
	}
}

// authenticate requires "Authorization: Bearer <api key>" and puts the key's
// workspace ID in the context. Every management handler scopes to it.
func authenticate(store Store, log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		scheme, key, _ := strings.Cut(strings.TrimSpace(c.GetHeader("Authorization")), " ")
		key = strings.TrimSpace(key)
		if !strings.EqualFold(scheme, bearerAuthScheme) || key == "" {
			writeError(c, log, &apiError{Status: http.StatusUnauthorized, Code: codeUnauthorized,
				Message: "missing API key: send Authorization: Bearer <api key>"})
			return
		}
		apiKey, err := store.Authenticate(c.Request.Context(), key)
		if err != nil {
			writeError(c, log, err) // ErrUnauthorized → 401, a database failure → 500
			return
		}
		c.Set(workspaceIDKey, apiKey.WorkspaceID)
		c.Set(apiKeyPrefixKey, apiKey.Prefix)
		c.Set(apiKeyIDKey, apiKey.ID)
		c.Next()
	}
}
