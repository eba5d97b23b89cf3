package enrich

// This file holds every list the user-agent and bot rules match against, as
// plain data, so extending detection means adding a string here (and a line to
// testdata/user_agents.tsv), not touching logic.
//
// Unless stated otherwise, entries are lowercase and matched as substrings of
// the lowercased User-Agent.

// Bot verdict reasons. DetectBot tries them in this order; the first that
// fires is reported:
//
//	reason            fires when
//	----------------  ------------------------------------------------------------
//	empty_user_agent  the User-Agent header is missing or blank
//	head_request      the method is HEAD (link checkers, uptime monitors, unfurlers)
//	prefetch          a prefetchHeaders header announces a speculative load, not a visit
//	link_preview      the UA contains a linkPreviewAgents entry (chat/social unfurlers)
//	http_library      the UA contains an httpLibraryAgents entry (scripts, SDKs, CLIs)
//	headless_browser  the UA contains a headlessBrowserAgents entry (automation)
//	ua_crawler        useragent flags it as a bot (a bot name or a URL in the UA), or
//	                  it contains a crawlerWords/crawlerAgents entry and no
//	                  crawlerWordExceptions entry
const (
	ReasonEmptyUserAgent  = "empty_user_agent"
	ReasonHeadRequest     = "head_request"
	ReasonPrefetch        = "prefetch"
	ReasonLinkPreview     = "link_preview"
	ReasonHTTPLibrary     = "http_library"
	ReasonHeadlessBrowser = "headless_browser"
	ReasonUACrawler       = "ua_crawler"
)

// headerRule matches when header Name's value contains Value (case-insensitive).
type headerRule struct {
	Name  string
	Value string
}

// prefetchHeaders mark requests a browser makes speculatively (link prefetch,
// prerender), before or without the user actually opening the link.
var prefetchHeaders = []headerRule{
	{Name: "Sec-Purpose", Value: "prefetch"}, // Chrome speculation rules: "prefetch", "prefetch;prerender"
	{Name: "Purpose", Value: "prefetch"},     // older Chrome and Safari
	{Name: "X-Moz", Value: "prefetch"},       // Firefox
}

// linkPreviewAgents fetch a link to render a preview card in a chat or feed.
// Checked before the crawler rule so they get the more precise reason.
var linkPreviewAgents = []string{
	"slackbot", // Slackbot-LinkExpanding and Slackbot
	"whatsapp",
	"facebookexternalhit", // also sent by iMessage previews
	"facebot",
	"twitterbot",
	"linkedinbot",
	"telegrambot",
	"discordbot",
	"skypeuripreview",
	"redditbot",
	"embedly",
	"iframely",
}

// httpLibraryAgents are command-line tools and HTTP client libraries.
var httpLibraryAgents = []string{
	"curl/",
	"wget/",
	"python-requests",
	"python-urllib",
	"python-httpx",
	"aiohttp",
	"go-http-client",
	"okhttp",
	"java/",
	"apache-httpclient",
	"libwww-perl",
	"axios/",
	"node-fetch",
	"postmanruntime",
	"insomnia/",
	"httpie/",
	"guzzlehttp",
	"scrapy",
}

// headlessBrowserAgents are browsers driven by automation.
var headlessBrowserAgents = []string{
	"headlesschrome",
	"phantomjs",
	"puppeteer",
	"playwright",
	"selenium",
	"lighthouse", // Chrome-Lighthouse and PageSpeed Insights
	"cypress/",
}

// crawlerWords are generic words crawlers put in their names (Googlebot,
// bingbot, YandexBot, AhrefsBot, SemrushBot, Applebot, GPTBot, ClaudeBot,
// Baiduspider, Bytespider, a "crawler", ...).
var crawlerWords = []string{
	"bot",
	"crawl",
	"spider",
}

// crawlerWordExceptions are human user agents that contain a crawler word.
var crawlerWordExceptions = []string{
	"cubot", // Cubot Android phones, e.g. "Android 10; CUBOT_X30"
}

// crawlerAgents are well-known crawlers and AI fetchers whose names contain
// none of the crawlerWords.
var crawlerAgents = []string{
	"slurp", // Yahoo
	"ia_archiver",
	"mediapartners-google",
	"google-inspectiontool",
	"googleother",
	"feedfetcher-google",
	"chatgpt-user",
	"claude-user",
	"claude-web",
	"perplexity-user",
}

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
