package api

import (
	"encoding/base64"
	"net/url"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/scanforge/scanforge/models"
)

const (
	defaultPageLimit = 20
	maxPageLimit     = 100
)

// listAnswer is the JSON shape of every list: newest first, and an opaque
// cursor for the next page (null on the last page).
type listAnswer[T any] struct {
	Data       []T     `json:"data"`
	NextCursor *string `json:"next_cursor"`
}

// pageQuery reads ?limit= and ?cursor=. The cursor is the base64url of the
// last ID of the previous page; it must decode to an ID with prefix.
func pageQuery(c *gin.Context, prefix string) (after string, limit int, err error) {
	// url.Query drops what it cannot parse; a garbled cursor must not
	// silently restart the listing from the first page.
	if _, qErr := url.ParseQuery(c.Request.URL.RawQuery); qErr != nil {
		return "", 0, errBadRequest("", "query string is malformed")
	}
	limit = defaultPageLimit
	if raw, ok := c.GetQuery("limit"); ok {
		n, convErr := strconv.Atoi(raw)
		if convErr != nil || n < 1 || n > maxPageLimit {
			return "", 0, errBadRequest("limit", "limit must be an integer from 1 to 100")
		}
		limit = n
	}
	if raw, ok := c.GetQuery("cursor"); ok && raw != "" {
		decoded, decErr := base64.RawURLEncoding.DecodeString(raw)
		if decErr != nil || !isObjectID(prefix, string(decoded)) {
			return "", 0, errBadRequest("cursor", "cursor is not valid: pass next_cursor from the previous page")
		}
		after = string(decoded)
	}
	return after, limit, nil
}

// fetchPage lists up to limit items after the ID after, and the cursor of
// the page that follows (nil if none). It asks for one item more than it
// shows to know whether another page exists; when the store caps the page
// below that, it checks with a one-item probe.
func fetchPage[T any](list func(models.Page) ([]T, error), idOf func(T) string, after string, limit int) ([]T, *string, error) {
	items, err := list(models.Page{After: after, Limit: limit + 1})
	if err != nil {
		return nil, nil, err
	}
	if len(items) < limit {
		return items, nil, nil
	}
	if len(items) == limit {
		probe, err := list(models.Page{After: idOf(items[limit-1]), Limit: 1})
		if err != nil {
			return nil, nil, err
		}
		if len(probe) == 0 {
			return items, nil, nil
		}
	}
	items = items[:limit]
	cursor := base64.RawURLEncoding.EncodeToString([]byte(idOf(items[limit-1])))
	return items, &cursor, nil
}
