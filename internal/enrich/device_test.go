package enrich

import (
	"bufio"
	"net/http"
	"os"
	"strings"
	"testing"
)

type uaCase struct {
	line   int
	ua     string
	device Device
	bot    Bot
}

// loadUserAgents reads testdata/user_agents.tsv (format in its header).
func loadUserAgents(t *testing.T) []uaCase {
	t.Helper()
	f, err := os.Open("testdata/user_agents.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	field := func(s string) string {
		if s == "-" {
			return ""
		}
		return s
	}
	var cases []uaCase
	scanner := bufio.NewScanner(f)
	for line := 1; scanner.Scan(); line++ {
		text := scanner.Text()
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		cols := strings.Split(text, "\t")
		if len(cols) != 8 {
			t.Fatalf("user_agents.tsv:%d: %d columns, want 8", line, len(cols))
		}
		if cols[6] != "true" && cols[6] != "false" {
			t.Fatalf("user_agents.tsv:%d: is_bot %q, want true or false", line, cols[6])
		}
		cases = append(cases, uaCase{
			line: line,
			ua:   cols[0],
			device: Device{
				Type:           cols[1],
				Browser:        field(cols[2]),
				BrowserVersion: field(cols[3]),
				OS:             field(cols[4]),
				OSVersion:      field(cols[5]),
			},
			bot: Bot{IsBot: cols[6] == "true", Reason: field(cols[7])},
		})
	}
	if err := scanner.Err(); err != nil {
		t.Fatal(err)
	}
	return cases
}

func TestUserAgents(t *testing.T) {
	cases := loadUserAgents(t)
	if len(cases) < 60 {
		t.Fatalf("user_agents.tsv has %d cases, want at least 60", len(cases))
	}
	e := New(nil)
	types := map[string]bool{}
	for _, c := range cases {
		types[c.device.Type] = true
		if got := e.ParseDevice(c.ua); got != c.device {
			t.Errorf("user_agents.tsv:%d ParseDevice(%q)\n got  %+v\n want %+v", c.line, c.ua, got, c.device)
		}
		if got := e.DetectBot(http.MethodGet, nil, c.ua); got != c.bot {
			t.Errorf("user_agents.tsv:%d DetectBot(GET, %q) = %+v, want %+v", c.line, c.ua, got, c.bot)
		}
		// A bot verdict from the UA and the "bot" device type must agree.
		if (c.device.Type == DeviceBot) != c.bot.IsBot {
			t.Errorf("user_agents.tsv:%d: type %q inconsistent with is_bot %v", c.line, c.device.Type, c.bot.IsBot)
		}
	}
	for _, typ := range []string{DeviceMobile, DeviceTablet, DeviceDesktop, DeviceTV, DeviceConsole, DeviceBot, DeviceUnknown} {
		if !types[typ] {
			t.Errorf("user_agents.tsv has no %q case", typ)
		}
	}
}
