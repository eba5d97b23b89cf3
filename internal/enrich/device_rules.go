package enrich

// The lists ParseDevice matches against, as plain data (see rules.go for the
// bot rules' lists).

// platformRule recognises a device class the useragent package does not know
// (TVs, consoles) and optionally names its OS. Markers are matched
// case-sensitively against the raw User-Agent, because some are short
// ("Roku", "Xbox") and their spelling is stable. The first matching rule
// wins, so specific rules (naming an OS) come before generic ones.
type platformRule struct {
	Marker    string // substring of the User-Agent
	Type      string // DeviceTV or DeviceConsole
	OS        string // OS name to report; "" keeps the parsed one
	OSVersion string // prefix whose following number is the OS version; "" for none
}

var platformRules = []platformRule{
	{Marker: "Tizen", Type: DeviceTV, OS: "Tizen", OSVersion: "Tizen "}, // Samsung TVs; Tizen phones are discontinued
	{Marker: "Web0S", Type: DeviceTV, OS: "webOS"},                      // LG
	{Marker: "webOS.TV", Type: DeviceTV, OS: "webOS"},
	{Marker: "AppleTV", Type: DeviceTV, OS: "tvOS"},
	{Marker: "Apple TV", Type: DeviceTV, OS: "tvOS"},
	{Marker: "Roku", Type: DeviceTV, OS: "Roku"},
	{Marker: "SmartTV", Type: DeviceTV},
	{Marker: "SMART-TV", Type: DeviceTV},
	{Marker: "Android TV", Type: DeviceTV},
	{Marker: "AndroidTV", Type: DeviceTV},
	{Marker: "GoogleTV", Type: DeviceTV},
	{Marker: "CrKey", Type: DeviceTV}, // Chromecast
	{Marker: "BRAVIA", Type: DeviceTV},
	{Marker: "HbbTV", Type: DeviceTV},
	{Marker: "PlayStation", Type: DeviceConsole, OS: "PlayStation"},
	{Marker: "Xbox", Type: DeviceConsole, OS: "Xbox"},
	{Marker: "Nintendo", Type: DeviceConsole, OS: "Nintendo"},
}

// browserOverride names a browser the useragent package misses or misnames:
// in-app browsers (whose UAs also carry the Safari or Chrome WebView engine
// that would otherwise be reported) and a few others. Checked in order, before
// the parsed name.
type browserOverride struct {
	Name    string
	Markers []string // any of these, case-sensitive substring of the User-Agent
	Version string   // prefix whose following number is the version; "" for none
}

var browserOverrides = []browserOverride{
	{Name: "Instagram", Markers: []string{"Instagram "}, Version: "Instagram "},
	{Name: "Facebook", Markers: []string{"FBAN/", "FBAV/", "FB_IAB/"}, Version: "FBAV/"},
	{Name: "WeChat", Markers: []string{"MicroMessenger/"}, Version: "MicroMessenger/"},
	{Name: "Snapchat", Markers: []string{"Snapchat/"}, Version: "Snapchat/"},
	{Name: "LINE", Markers: []string{" Line/"}, Version: " Line/"},
	{Name: "LinkedIn", Markers: []string{"LinkedInApp"}, Version: "[LinkedInApp]/"},
	{Name: "DuckDuckGo", Markers: []string{"DuckDuckGo/"}, Version: "DuckDuckGo/"},
	{Name: "Silk", Markers: []string{"Silk/"}, Version: "Silk/"}, // Amazon Fire tablets
	{Name: "Nintendo Browser", Markers: []string{"NintendoBrowser/"}, Version: "NintendoBrowser/"},
	{Name: "Chrome", Markers: []string{"CrKey/"}, Version: "Chrome/"}, // Chromecast's Chrome
	{Name: "PhantomJS", Markers: []string{"PhantomJS/"}, Version: "PhantomJS/"},
	{Name: "Internet Explorer", Markers: []string{"Trident/"}, Version: "rv:"}, // IE 11 has no MSIE token
}

// browserNames maps the useragent package's browser names to the names we
// report.
var browserNames = map[string]string{
	"Samsung Browser": "Samsung Internet",
	"Facebook App":    "Facebook",
	"Instagram App":   "Instagram",
	"TikTok App":      "TikTok",
	"Android browser": "Android Browser",
	"Miui Browser":    "MIUI Browser",
	"OPR":             "Opera",
	"Edg":             "Edge",
	"EdgA":            "Edge",
}

// osNames maps the useragent package's (and raw UA) OS names to the names we
// report.
var osNames = map[string]string{
	"Mac OS X":   "macOS",
	"Mac OS":     "macOS",
	"CrOS":       "ChromeOS",
	"Windows NT": "Windows",
	"Harmony":    "HarmonyOS",
}
