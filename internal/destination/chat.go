package destination

import "strings"

// googleChatTextMax keeps a Google Chat message well inside the 4,096
// characters the Chat API documents for a message's text.
const googleChatTextMax = 4000

// googleChatMessage is an incoming webhook message: one text, with the
// title in Chat's *bold* and one line per detail.
func googleChatMessage(s summary) any {
	var b strings.Builder
	b.WriteString("*" + googleChatEscape(s.Title) + "*")
	for _, f := range s.Facts {
		b.WriteString("\n" + f.Name + ": " + googleChatEscape(f.Value))
	}
	return struct {
		Text string `json:"text"`
	}{truncate(b.String(), googleChatTextMax)}
}

// googleChatEscape breaks Chat's <users/all> and <url|label> syntax with a
// zero-width space, so a code name cannot mention everyone or hide a link.
var googleChatEscape = strings.NewReplacer("<", "<\u200b").Replace

// Adaptive Card texts are not limited by the schema; the Workflows
// webhook takes 28 KB in all, so long values are cut.
const teamsValueMax = 1024

type teamsElement struct {
	Type   string      `json:"type"`
	Text   string      `json:"text,omitempty"`
	Weight string      `json:"weight,omitempty"`
	Size   string      `json:"size,omitempty"`
	Wrap   bool        `json:"wrap,omitempty"`
	Facts  []teamsFact `json:"facts,omitempty"`
}

type teamsFact struct {
	Title string `json:"title"`
	Value string `json:"value"`
}

// teamsMessage is what a Teams Workflows webhook ("Post to a channel when
// a webhook request is received") takes: a message with one Adaptive Card
// 1.4 attachment, the title as a TextBlock and the details as a FactSet.
func teamsMessage(s summary) any {
	facts := make([]teamsFact, len(s.Facts))
	for i, f := range s.Facts {
		facts[i] = teamsFact{f.Name, truncate(f.Value, teamsValueMax)}
	}
	card := map[string]any{
		"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
		"type":    "AdaptiveCard",
		"version": "1.4",
		"body": []teamsElement{
			{Type: "TextBlock", Text: truncate(s.Title, teamsValueMax), Weight: "Bolder", Size: "Medium", Wrap: true},
			{Type: "FactSet", Facts: facts},
		},
	}
	type attachment struct {
		ContentType string         `json:"contentType"`
		Content     map[string]any `json:"content"`
	}
	return struct {
		Type        string       `json:"type"`
		Attachments []attachment `json:"attachments"`
	}{"message", []attachment{{"application/vnd.microsoft.card.adaptive", card}}}
}
