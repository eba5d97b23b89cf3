package destination_test

import (
	"testing"
	"time"

	"github.com/scanforge/scanforge/internal/destination"
)

func TestDisableReason(t *testing.T) {
	for _, c := range []struct {
		format string
		status int
		body   string
		want   string
	}{
		{"slack", 404, "channel_not_found", "Slack answered 404 channel_not_found"},
		{"slack", 404, "no_service\n", "Slack answered 404 no_service"},
		{"slack", 410, "channel_is_archived", "Slack answered 410 channel_is_archived"},
		{"slack", 404, "something_else", ""},
		{"slack", 400, "invalid_payload", ""},
		{"slack", 403, "action_prohibited", ""},
		{"slack", 410, "", "endpoint answered 410 Gone"},
		{"discord", 404, `{"message": "Unknown Webhook", "code": 10015}`, "Discord answered 404 Unknown Webhook (10015)"},
		{"discord", 404, `{"message": "Unknown Channel", "code": 10003}`, ""},
		{"discord", 404, `not json`, ""},
		{"discord", 400, `{"message": "Unknown Webhook", "code": 10015}`, ""},
		{"scanforge", 410, "", "endpoint answered 410 Gone"},
		{"", 404, "channel_not_found", ""},
		{"teams", 404, "", ""},
		{"google_chat", 200, "", ""},
	} {
		if got := destination.DisableReason(c.format, c.status, c.body); got != c.want {
			t.Errorf("DisableReason(%s, %d, %q) = %q, want %q", c.format, c.status, c.body, got, c.want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	body := `{"message": "You are being rate limited.", "retry_after": 1.337, "global": false}`
	if got := destination.RetryAfter("discord", 429, body); got != 1337*time.Millisecond {
		t.Errorf("discord 429 retry_after 1.337 = %s", got)
	}
	for _, c := range []struct {
		format string
		status int
		body   string
	}{{"slack", 429, body}, {"discord", 503, body}, {"discord", 429, "{}"}, {"discord", 429, "x"}, {"discord", 429, `{"retry_after": -1}`}} {
		if got := destination.RetryAfter(c.format, c.status, c.body); got != 0 {
			t.Errorf("RetryAfter(%s, %d, %s) = %s, want 0", c.format, c.status, c.body, got)
		}
	}
}
