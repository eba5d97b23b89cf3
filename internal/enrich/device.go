package enrich

import (
	"strings"

	"github.com/mileusna/useragent"
)

// Device types reported in Device.Type.
const (
	DeviceMobile  = "mobile"
	DeviceTablet  = "tablet"
	DeviceDesktop = "desktop"
	DeviceTV      = "tv"
	DeviceConsole = "console"
	DeviceBot     = "bot"
	DeviceUnknown = "unknown"
)

// desktopOSes are the OS names (as reported) that make a non-mobile,
// non-tablet device a desktop.
var desktopOSes = map[string]bool{
	"Windows":  true,
	"macOS":    true,
	"Linux":    true,
	"ChromeOS": true,
	"FreeBSD":  true,
}

// ParseDevice derives the device type, browser and OS from a User-Agent.
//
// The type is decided in this order (first match wins):
//
//	bot      any User-Agent rule of DetectBot fires (link preview, HTTP library,
//	         headless browser, crawler, crawler list, contact, not a browser)
//	tv       a TV marker (SmartTV, Tizen, Web0S, AppleTV, Android TV, BRAVIA, Roku, ...)
//	console  PlayStation, Xbox or Nintendo
//	tablet   iPad, or Android without the "Mobi" token (Chrome and Samsung
//	         Internet drop it on tablets), or an explicit "Tablet" token
//	mobile   phones (iPhone, Android "Mobile", Windows Phone, ...)
//	desktop  Windows, macOS, Linux, ChromeOS, FreeBSD
//	unknown  anything else, including an empty User-Agent
//
// TVs and consoles are checked before tablet/mobile/desktop because their UAs
// also claim Android, Linux or Windows. iPadOS Safari asks for desktop sites
// by default and then sends a "Macintosh" UA that is byte-for-byte a Mac's; it
// cannot be told apart by the UA alone, so it is reported as desktop/macOS.
// macOS (10.15.7) and Windows (NT 10.0, also on Windows 11) versions are what
// the UA claims; browsers have frozen them.
func (e *Enricher) ParseDevice(ua string) Device {
	ua = strings.TrimSpace(ua)
	if ua == "" {
		return Device{Type: DeviceUnknown}
	}
	parsed := useragent.Parse(ua)
	return parseDevice(ua, parsed, e.rules().uaReason(ua, parsed) != "")
}

// parseDevice does ParseDevice's work on an already parsed, trimmed,
// non-empty UA; isBot is whether a User-Agent bot rule fired.
func parseDevice(ua string, parsed useragent.UserAgent, isBot bool) Device {
	d := Device{
		Browser:        browserName(parsed),
		BrowserVersion: trimVersion(parsed.Version),
		OS:             osName(parsed.OS),
		OSVersion:      numericVersion(parsed.OSVersion),
	}
	if d.Browser == "" {
		d.BrowserVersion = ""
	} else if d.BrowserVersion == "" {
		d.Browser, d.BrowserVersion = splitTrailingVersion(d.Browser)
	}
	if override, ok := matchBrowserOverride(ua); ok {
		d.Browser, d.BrowserVersion = override.Name, versionAfter(ua, override.Version)
	}
	platform, hasPlatform := matchPlatform(ua)
	if hasPlatform && platform.OS != "" {
		d.OS, d.OSVersion = platform.OS, versionAfter(ua, platform.OSVersion)
	}
	if d.OS == "" {
		d.OSVersion = "" // the useragent package drops Applebot's OS but not its version
	}

	switch {
	case isBot:
		d.Type = DeviceBot
	case hasPlatform:
		d.Type = platform.Type
	case parsed.Tablet, parsed.OS == useragent.Android && !isMobileAndroid(ua, parsed):
		d.Type = DeviceTablet
	case parsed.Mobile:
		d.Type = DeviceMobile
	case desktopOSes[d.OS]:
		d.Type = DeviceDesktop
	default:
		d.Type = DeviceUnknown
	}
	return d
}

// isMobileAndroid tells an Android phone from a tablet: phones carry the
// "Mobi" token (MDN's advice), Opera Mini aside.
func isMobileAndroid(ua string, parsed useragent.UserAgent) bool {
	return strings.Contains(ua, "Mobi") || parsed.Name == useragent.OperaMini
}

func browserName(parsed useragent.UserAgent) string {
	// With no recognisable token the useragent package reports the whole UA
	// as the name; that is not a browser name.
	if parsed.Name == parsed.String {
		return ""
	}
	if name, ok := browserNames[parsed.Name]; ok {
		return name
	}
	return parsed.Name
}

func osName(name string) string {
	if normalized, ok := osNames[name]; ok {
		return normalized
	}
	return name
}

// numericVersion drops "versions" that are really architectures or build tags
// (the useragent package reports "x86_64" for "Linux x86_64").
func numericVersion(v string) string {
	if v == "" || v[0] < '0' || v[0] > '9' {
		return ""
	}
	return v
}

// trimVersion cuts a version at the first character that is neither a digit
// nor a dot ("36.2.2254/119.132" → "36.2.2254", "7~bl" → "7"). Versions
// that do not start with a digit ("v1.4.8") are kept as they are.
func trimVersion(v string) string {
	if numericVersion(v) == "" {
		return v
	}
	end := strings.IndexFunc(v, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if end < 0 {
		return v
	}
	return strings.TrimRight(v[:end], ".")
}

func matchBrowserOverride(ua string) (browserOverride, bool) {
	for _, override := range browserOverrides {
		for _, marker := range override.Markers {
			if strings.Contains(ua, marker) {
				return override, true
			}
		}
	}
	return browserOverride{}, false
}

// splitTrailingVersion splits a name token that carries its version after a
// space ("Slackbot-LinkExpanding 1.0", "PlayStation 4 3.11").
func splitTrailingVersion(name string) (string, string) {
	i := strings.LastIndexByte(name, ' ')
	if i <= 0 {
		return name, ""
	}
	version := name[i+1:]
	if numericVersion(version) == "" || strings.Trim(version, "0123456789.") != "" {
		return name, ""
	}
	return strings.TrimSpace(name[:i]), version
}

func matchPlatform(ua string) (platformRule, bool) {
	for _, rule := range platformRules {
		if strings.Contains(ua, rule.Marker) {
			return rule, true
		}
	}
	return platformRule{}, false
}

// versionAfter returns the dotted version number that directly follows
// prefix in ua ("Tizen 7.0" → "7.0"), or "" when prefix is empty or absent.
func versionAfter(ua, prefix string) string {
	if prefix == "" {
		return ""
	}
	i := strings.Index(ua, prefix)
	if i < 0 {
		return ""
	}
	rest := ua[i+len(prefix):]
	end := 0
	for end < len(rest) && (rest[end] >= '0' && rest[end] <= '9' || rest[end] == '.') {
		end++
	}
	return strings.Trim(rest[:end], ".")
}
