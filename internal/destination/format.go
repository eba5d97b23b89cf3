package destination

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/scanforge/scanforge/webhook"
)

// Formats of an endpoint's body.
const (
	// FormatScanForge is the signed event itself (the default).
	FormatScanForge = "scanforge"
	// FormatSlack is a Slack incoming webhook message: text plus blocks.
	FormatSlack = "slack"
	// FormatDiscord is a Discord webhook message: content plus one embed.
	FormatDiscord = "discord"
	// FormatGoogleChat is a Google Chat incoming webhook message: text.
	FormatGoogleChat = "google_chat"
	// FormatTeams is a Microsoft Teams Workflows webhook message holding
	// an Adaptive Card.
	FormatTeams = "teams"
)

// Formats lists every format, the default first.
func Formats() []string {
	return []string{FormatScanForge, FormatSlack, FormatDiscord, FormatGoogleChat, FormatTeams}
}

// ValidFormat reports whether f names a format; "" is the default.
func ValidFormat(f string) bool {
	if f == "" {
		return true
	}
	for _, known := range Formats() {
		if f == known {
			return true
		}
	}
	return false
}

// IsScanForge reports whether f sends the event itself.
func IsScanForge(f string) bool { return f == "" || f == FormatScanForge }

// Render returns the body an endpoint of format f is sent for event (the
// payload the delivery carries, already filtered by the endpoint's field
// policy): event itself for FormatScanForge, else a chat message about it.
func Render(f string, event []byte) ([]byte, error) {
	if IsScanForge(f) {
		return event, nil
	}
	render, ok := renderers[f]
	if !ok {
		return nil, fmt.Errorf("unknown format %q", f)
	}
	s, err := summarize(event)
	if err != nil {
		return nil, fmt.Errorf("render %s body: %w", f, err)
	}
	// Not HTML-escaped: the body is read in the delivery log, not embedded
	// in a page, and "&" reads better than "\u0026".
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(render(s)); err != nil {
		return nil, fmt.Errorf("render %s body: %w", f, err)
	}
	return bytes.TrimSuffix(body.Bytes(), []byte("\n")), nil
}

var renderers = map[string]func(summary) any{
	FormatSlack:      slackMessage,
	FormatDiscord:    discordMessage,
	FormatGoogleChat: googleChatMessage,
	FormatTeams:      teamsMessage,
}

// summary is what every chat format shows of an event.
type summary struct {
	Title   string // "Scan of Spring menu"
	Line    string // the one-line text: title, code slug and place
	Facts   []fact // the details, empty values left out
	Time    time.Time
	EventID string
	IsTest  bool
}

type fact struct{ Name, Value string }

// summarize reads an event into a summary. The data is read as sent: a
// field the policy removed is simply absent and not shown.
func summarize(raw []byte) (summary, error) {
	ev, err := webhook.ParseEvent(raw)
	if err != nil {
		return summary{}, err
	}
	s := summary{Time: ev.CreatedAt.UTC(), EventID: ev.ID}
	switch ev.Type {
	case webhook.TypeScanCreated:
		d, err := ev.ScanCreated()
		if err != nil {
			return summary{}, err
		}
		summarizeScan(&s, d)
	case webhook.TypeTest:
		var d struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(ev.Data, &d)
		s.IsTest = true
		s.Title = "ScanForge test event"
		s.Line = s.Title + ": " + d.Message
		s.Facts = []fact{{"Message", d.Message}}
	default:
		s.Title = "ScanForge event " + ev.Type
		s.Line = s.Title
	}
	s.Facts = append(s.Facts, fact{"Time", s.Time.Format("2006-01-02 15:04:05 UTC")})
	return s, nil
}

func summarizeScan(s *summary, d webhook.ScanCreated) {
	what := d.Code.Name
	if what == "" {
		what = "/" + d.Code.Slug
	}
	if d.Code.Slug == "" {
		what = d.Code.ID
	}
	s.Title = "Scan of " + what
	s.Line = s.Title
	if d.Code.Name != "" && d.Code.Slug != "" {
		s.Line += " (/" + d.Code.Slug + ")"
	}
	place := joinNonEmpty(", ", d.Geo.City, d.Geo.Country)
	if place != "" {
		s.Line += " from " + place
	}
	code := joinNonEmpty(" ", d.Code.Name, "/"+d.Code.Slug)
	if d.Code.Slug == "" {
		code = joinNonEmpty(" ", d.Code.Name, d.Code.ID)
	}
	bot := "no"
	if d.Bot.IsBot {
		bot = joinNonEmpty(": ", "yes", d.Bot.Reason)
	}
	s.Facts = nonEmptyFacts(
		fact{"Code", code},
		fact{"Destination", d.DestinationURL},
		fact{"Location", place},
		fact{"Device", joinNonEmpty(" · ", d.Device.Type,
			joinNonEmpty(" ", d.Device.Browser, d.Device.BrowserVersion),
			joinNonEmpty(" ", d.Device.OS, d.Device.OSVersion))},
		fact{"Bot", bot},
		fact{"Source", d.Source},
	)
}

func nonEmptyFacts(facts ...fact) []fact {
	out := facts[:0]
	for _, f := range facts {
		if f.Value != "" {
			out = append(out, f)
		}
	}
	return out
}

func joinNonEmpty(sep string, parts ...string) string {
	kept := parts[:0:0]
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" && p != "/" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, sep)
}

// truncate cuts s to at most n characters (code points), ending with "…"
// when it cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	runes := []rune(s)
	return string(runes[:n-1]) + "…"
}
