package destination_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/scanforge/scanforge/internal/destination"
	"github.com/scanforge/scanforge/webhook"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func ptr[T any](v T) *T { return &v }

var scanTime = time.Date(2026, 11, 27, 16, 37, 10, 564641000, time.UTC)

// fullScan is a scan.created data with every field known.
func fullScan() webhook.ScanCreated {
	return webhook.ScanCreated{
		ScanID:    "scan_01m8exwc94m1q3fa19n75vhfyd",
		Code:      webhook.Code{ID: "code_01m8exw9ghcs4rt7n4aq8t43mr", Slug: "spring", Name: "Spring menu"},
		Timestamp: scanTime,
		Source:    "qr",
		Geo: webhook.Geo{Country: "Portugal", CountryCode: "PT", Region: "Lisbon", City: "Lisbon",
			Latitude: ptr(38.71667), Longitude: ptr(-9.13333), Timezone: "Europe/Lisbon"},
		Device:         webhook.Device{Type: "mobile", Browser: "Safari", BrowserVersion: "17.4", OS: "iOS", OSVersion: "17.4"},
		Referrer:       "https://menu.example/",
		UserAgent:      "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X)",
		DestinationURL: "https://example.com/spring?utm_source=qr&x=<1>",
		Bot:            webhook.Bot{IsBot: false},
	}
}

func event(t testing.TB, typ string, data any) []byte {
	t.Helper()
	raw, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(webhook.Event{ID: "evt_01m8exwc94m1q3fa19n75vhfyd", Type: typ, APIVersion: webhook.APIVersion, CreatedAt: scanTime, Data: raw})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// samples are the events every chat format is rendered from.
func samples(t *testing.T) map[string][]byte {
	full := event(t, webhook.TypeScanCreated, fullScan())
	minimal, err := destination.PayloadFor(destination.Fields{Geo: destination.GeoNone, Exclude: []string{"device", "user_agent", "referrer", "destination_url", "code.name"}}, full)
	if err != nil {
		t.Fatal(err)
	}
	bot := fullScan()
	bot.Bot = webhook.Bot{IsBot: true, Reason: "link_preview"}
	bot.Geo = webhook.Geo{}
	bot.Device = webhook.Device{Type: "bot"}
	return map[string][]byte{
		"scan":    full,
		"minimal": minimal,
		"bot":     event(t, webhook.TypeScanCreated, bot),
		"test":    event(t, webhook.TypeTest, map[string]string{"endpoint_id": "ep_01m8exw9ghcs4rt7n4aq8t43mr", "message": "This is a test event from ScanForge."}),
	}
}

var chatFormats = []string{destination.FormatSlack, destination.FormatDiscord, destination.FormatGoogleChat, destination.FormatTeams}

func schemaOf(t *testing.T, format string) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	s, err := c.Compile(filepath.Join("testdata", format+".schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func validate(t *testing.T, s *jsonschema.Schema, format string, body []byte) {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("%s body is not JSON: %v\n%s", format, err, body)
	}
	if err := s.Validate(doc); err != nil {
		t.Errorf("%s body does not match the destination's schema: %v\n%s", format, err, body)
	}
	if format == destination.FormatDiscord {
		checkDiscordTotal(t, body)
	}
}

// checkDiscordTotal checks the limit a schema cannot say: the texts of all
// embeds add up to at most 6000 characters.
func checkDiscordTotal(t *testing.T, body []byte) {
	t.Helper()
	var msg struct {
		Embeds []struct {
			Title, Description string
			Footer             struct{ Text string }
			Author             struct{ Name string }
			Fields             []struct{ Name, Value string }
		}
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, e := range msg.Embeds {
		total += utf8.RuneCountInString(e.Title + e.Description + e.Footer.Text + e.Author.Name)
		for _, f := range e.Fields {
			total += utf8.RuneCountInString(f.Name + f.Value)
		}
	}
	if total > 6000 {
		t.Errorf("discord embeds hold %d characters, more than 6000", total)
	}
}

// Every chat body matches its destination's schema and its golden file
// (go test ./internal/destination -update rewrites them).
func TestRenderMatchesSchemaAndGolden(t *testing.T) {
	events := samples(t)
	for _, format := range chatFormats {
		schema := schemaOf(t, format)
		for name, ev := range events {
			t.Run(format+"/"+name, func(t *testing.T) {
				body, err := destination.Render(format, ev)
				if err != nil {
					t.Fatal(err)
				}
				validate(t, schema, format, body)
				golden := filepath.Join("testdata", format+"_"+name+".golden")
				if *update {
					if err := os.WriteFile(golden, append(body, '\n'), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run with -update to write it)", err)
				}
				if got := string(body) + "\n"; got != string(want) {
					t.Errorf("%s body differs from %s:\ngot  %s\nwant %s", format, golden, got, want)
				}
			})
		}
	}
}

// The longest values the database holds, with characters that mean
// something to the chat tools, stay within every documented limit and
// ping nobody.
func TestRenderLongestValuesStayWithinLimits(t *testing.T) {
	long := func(n int) string { return strings.Repeat("é", n) }
	d := fullScan()
	d.Code.Name = "<!channel> @everyone " + long(180)
	d.Code.Slug = strings.Repeat("s", 64)
	d.DestinationURL = "https://example.com/" + long(2028)
	d.Geo.City, d.Geo.Region, d.Geo.Country = long(100), long(100), long(100)
	d.Device = webhook.Device{Type: "mobile", Browser: long(64), BrowserVersion: long(64), OS: long(64), OSVersion: long(64)}
	ev := event(t, webhook.TypeScanCreated, d)
	for _, format := range chatFormats {
		body, err := destination.Render(format, ev)
		if err != nil {
			t.Fatal(err)
		}
		validate(t, schemaOf(t, format), format, body)
		if format == destination.FormatSlack {
			checkSlackMentionsEscaped(t, body)
		}
		if format == destination.FormatDiscord && !strings.Contains(string(body), `"allowed_mentions":{"parse":[]}`) {
			t.Errorf("discord body allows mentions: %s", body)
		}
	}
}

func TestRenderScanForgeIsTheEventItself(t *testing.T) {
	ev := event(t, webhook.TypeScanCreated, fullScan())
	for _, f := range []string{"", destination.FormatScanForge} {
		body, err := destination.Render(f, ev)
		if err != nil || !bytes.Equal(body, ev) {
			t.Errorf("Render(%q) = %s, %v; want the event unchanged", f, body, err)
		}
	}
	if _, err := destination.Render("telex", ev); err == nil {
		t.Error("an unknown format rendered")
	}
	if _, err := destination.Render(destination.FormatSlack, []byte(`{"nope"`)); err == nil {
		t.Error("a broken event rendered")
	}
}

func TestValidFormat(t *testing.T) {
	for _, f := range append(destination.Formats(), "") {
		if !destination.ValidFormat(f) {
			t.Errorf("ValidFormat(%q) = false", f)
		}
	}
	for _, f := range []string{"Slack", "msteams", "json"} {
		if destination.ValidFormat(f) {
			t.Errorf("ValidFormat(%q) = true", f)
		}
	}
}

func TestGoogleChatCannotMentionEveryone(t *testing.T) {
	d := fullScan()
	d.Code.Name = "<users/all> hello"
	body, err := destination.Render(destination.FormatGoogleChat, event(t, webhook.TypeScanCreated, d))
	if err != nil {
		t.Fatal(err)
	}
	var msg struct{ Text string }
	if err := json.Unmarshal(body, &msg); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(msg.Text, "<users/all>") {
		t.Errorf("google chat text mentions everyone: %q", msg.Text)
	}
}

// checkSlackMentionsEscaped checks that no mrkdwn text (where Slack parses
// <!channel> and links) holds a code name's "<!channel>"; plain_text
// (the header) is never parsed.
func checkSlackMentionsEscaped(t *testing.T, body []byte) {
	t.Helper()
	var msg struct {
		Text   string
		Blocks []struct {
			Type     string
			Fields   []struct{ Text string }
			Elements []struct{ Text string }
		}
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		t.Fatal(err)
	}
	texts := []string{msg.Text}
	for _, b := range msg.Blocks {
		for _, f := range b.Fields {
			texts = append(texts, f.Text)
		}
		for _, e := range b.Elements {
			texts = append(texts, e.Text)
		}
	}
	for _, text := range texts {
		if strings.Contains(text, "<!channel>") {
			t.Errorf("slack mrkdwn lets a code name mention the channel: %q", text)
		}
	}
}
