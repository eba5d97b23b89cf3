package destination

import (
	"fmt"
	"strings"
)

// Slack's documented limits (api.slack.com/reference/block-kit).
const (
	slackHeaderMax       = 150  // header block plain_text
	slackFieldMax        = 2000 // one section field
	slackSectionFieldMax = 10   // fields of one section
	slackTextMax         = 3000 // top-level text and context text we send
)

type slackText struct {
	Type string `json:"type"` // plain_text or mrkdwn
	Text string `json:"text"`
}

type slackBlock struct {
	Type     string      `json:"type"`
	Text     *slackText  `json:"text,omitempty"`
	Fields   []slackText `json:"fields,omitempty"`
	Elements []slackText `json:"elements,omitempty"`
}

// slackMessage is an incoming webhook message: text is the notification
// and fallback, blocks the message as shown.
func slackMessage(s summary) any {
	var fields []slackText
	for _, f := range s.Facts {
		if f.Name == "Time" || len(fields) == slackSectionFieldMax {
			continue // the time goes into the context line, in the reader's zone
		}
		fields = append(fields, slackText{"mrkdwn", truncate("*"+f.Name+"*\n"+slackEscape(f.Value), slackFieldMax)})
	}
	blocks := []slackBlock{{Type: "header", Text: &slackText{"plain_text", truncate(s.Title, slackHeaderMax)}}}
	if len(fields) > 0 {
		blocks = append(blocks, slackBlock{Type: "section", Fields: fields})
	}
	when := fmt.Sprintf("<!date^%d^{date_short_pretty} at {time_secs}|%s>", s.Time.Unix(), s.Time.Format("2006-01-02 15:04:05 UTC"))
	blocks = append(blocks, slackBlock{Type: "context", Elements: []slackText{{"mrkdwn", when + " · " + slackEscape(s.EventID)}}})
	return struct {
		Text   string       `json:"text"`
		Blocks []slackBlock `json:"blocks"`
	}{truncate(slackEscape(s.Line), slackTextMax), blocks}
}

// slackEscape escapes the three characters Slack's mrkdwn reserves for
// links and mentions, so a code name cannot ping a channel.
var slackEscape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace
