package destination

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"
)

// slackGone are the error codes Slack's incoming webhooks answer (as the
// plain-text body) when the webhook can never work again.
var slackGone = map[int][]string{
	http.StatusNotFound: {"channel_not_found", "no_service", "no_team"},
	http.StatusGone:     {"channel_is_archived"},
}

// discordUnknownWebhook is Discord's JSON error code for a deleted webhook.
const discordUnknownWebhook = 10015

// DisableReason says why the answer (status and the start of its body) of
// an endpoint of format f means the endpoint should be disabled, or ""
// when it does not: 410 Gone from anyone, and the answers Slack and Discord
// give for a webhook, channel or workspace that no longer exists.
func DisableReason(f string, status int, body string) string {
	switch f {
	case FormatSlack:
		code := strings.TrimSpace(body)
		for _, gone := range slackGone[status] {
			if code == gone {
				return fmt.Sprintf("Slack answered %d %s", status, code)
			}
		}
	case FormatDiscord:
		var answer struct {
			Message string `json:"message"`
			Code    int    `json:"code"`
		}
		if status == http.StatusNotFound && json.Unmarshal([]byte(body), &answer) == nil &&
			(answer.Code == discordUnknownWebhook || answer.Message == "Unknown Webhook") {
			return fmt.Sprintf("Discord answered 404 Unknown Webhook (%d)", discordUnknownWebhook)
		}
	}
	if status == http.StatusGone {
		return "endpoint answered 410 Gone"
	}
	return ""
}

// RetryAfter reads the wait a 429 body asks for, for destinations that
// put it there: Discord's retry_after, in (fractional) seconds, is exact
// where its Retry-After header is rounded or missing. It returns 0 when
// there is none.
func RetryAfter(f string, status int, body string) time.Duration {
	if f != FormatDiscord || status != http.StatusTooManyRequests {
		return 0
	}
	var answer struct {
		RetryAfter float64 `json:"retry_after"`
	}
	if json.Unmarshal([]byte(body), &answer) != nil || answer.RetryAfter <= 0 || answer.RetryAfter > 24*3600 {
		return 0
	}
	return time.Duration(math.Ceil(answer.RetryAfter*1000)) * time.Millisecond
}
