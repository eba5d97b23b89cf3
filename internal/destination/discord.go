package destination

import "time"

// Discord's documented limits (discord.com/developers/docs/resources/message#embed-object-embed-limits).
// With the fields we send an embed stays far below the 6000 characters
// all of its texts may add up to; the tests check the longest inputs.
const (
	discordContentMax    = 2000
	discordTitleMax      = 256
	discordFieldNameMax  = 256
	discordFieldValueMax = 1024
	discordFieldsMax     = 25
	discordFooterMax     = 2048
	discordColor         = 0x5865F2
)

type discordField struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Inline bool   `json:"inline"`
}

type discordEmbed struct {
	Title     string         `json:"title"`
	Color     int            `json:"color"`
	Fields    []discordField `json:"fields,omitempty"`
	Timestamp string         `json:"timestamp"`
	Footer    struct {
		Text string `json:"text"`
	} `json:"footer"`
}

// discordMessage is an execute-webhook body: content is the notification
// line, the embed shows the details. allowed_mentions parses none, so a
// code named "@everyone" pings nobody.
func discordMessage(s summary) any {
	embed := discordEmbed{
		Title:     truncate(s.Title, discordTitleMax),
		Color:     discordColor,
		Timestamp: s.Time.Format(time.RFC3339),
	}
	embed.Footer.Text = truncate(s.EventID, discordFooterMax)
	for _, f := range s.Facts {
		if f.Name == "Time" || len(embed.Fields) == discordFieldsMax {
			continue // Discord shows the embed's timestamp in the reader's zone
		}
		embed.Fields = append(embed.Fields, discordField{
			Name:   truncate(f.Name, discordFieldNameMax),
			Value:  truncate(f.Value, discordFieldValueMax),
			Inline: f.Name != "Destination" && f.Name != "Message",
		})
	}
	type mentions struct {
		Parse []string `json:"parse"`
	}
	return struct {
		Content         string         `json:"content"`
		Embeds          []discordEmbed `json:"embeds"`
		AllowedMentions mentions       `json:"allowed_mentions"`
	}{truncate(s.Line, discordContentMax), []discordEmbed{embed}, mentions{Parse: []string{}}}
}
