package enrich

// This file holds every list the bot rules match against, as plain data, so
// extending detection means adding a string here (and a line to the corpus in
// testdata/botcorpus or testdata/user_agents.tsv), not touching logic. The
// device rules' lists are in device_rules.go.
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
//	link_preview      the UA contains a linkPreviewAgents entry (chat/social unfurlers),
//	                  or is browser-shaped and contains a previewWords entry
//	http_library      the UA contains an httpLibraryAgents entry
//	headless_browser  the UA contains a headlessBrowserAgents entry (automation)
//	ua_crawler        useragent flags it as a bot (a bot name or a URL in the UA), or
//	                  it contains a crawlerWords/crawlerAgents entry and no
//	                  crawlerWordExceptions entry
//	known_bot         the UA matches a pattern of the crawler-user-agents list
//	                  (botlist/), less crawlerListExclusions
//	ua_contact        the UA carries a URL, an e-mail address or a domain name
//	http_library      the UA is not browser-shaped and contains an httpLibraryWords entry
//	not_a_browser     the UA is not browser-shaped (see browserShaped: "Mozilla/5.0
//	                  (platform)" with a browserEngines token) and names no TV or
//	                  console platform: a name/version, a domain, a bare word
const (
	ReasonEmptyUserAgent  = "empty_user_agent"
	ReasonHeadRequest     = "head_request"
	ReasonPrefetch        = "prefetch"
	ReasonLinkPreview     = "link_preview"
	ReasonHTTPLibrary     = "http_library"
	ReasonHeadlessBrowser = "headless_browser"
	ReasonUACrawler       = "ua_crawler"
	ReasonKnownBot        = "known_bot"
	ReasonUAContact       = "ua_contact"
	ReasonNotABrowser     = "not_a_browser"
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
	"slack-imgproxy",
	"whatsapp",
	"facebookexternalhit", // also sent by iMessage previews
	"facebot",
	"meta-externalagent",
	"twitterbot",
	"linkedinbot",
	"telegrambot",
	"discordbot",
	"skypeuripreview",
	"microsoftpreview",
	"msteams preview",
	"redditbot",
	"embedly",
	"iframely",
	"bingpreview",
	"google web preview",
	"google favicon",
	"google-pagerenderer",
	"google-read-aloud",
	"web/snippet", // Google+ snippet fetcher
	"vkshare",
	"snap url preview",
	"link preview",
	"cardyb", // Bluesky
}

// previewWords, in an otherwise browser-shaped UA, mark a preview or
// screenshot renderer.
var previewWords = []string{
	"preview",
	"unfurl",
	"thumbnail",
	"screenshot",
	"snapshot",
}

// httpLibraryAgents are command-line tools and HTTP client libraries.
var httpLibraryAgents = []string{
	"curl",
	"wget",
	"python-",
	"python/",
	"aiohttp",
	"httpx",
	"go-http-client",
	"go http package",
	"fasthttp",
	"okhttp",
	"java/",
	"java-http-client",
	"apache-httpclient",
	"apache-httpasyncclient",
	"commons-httpclient",
	"reactornetty",
	"vert.x",
	"libwww-perl",
	"lwp::",
	"http::tiny",
	"axios/",
	"node-fetch",
	"postmanruntime",
	"insomnia/",
	"httpie",
	"guzzlehttp",
	"symfony httpclient",
	"zend_http_client",
	"restsharp",
	"windowspowershell",
	"gcdhttprequest",
	"scrapy",
	"mechanize",
	"typhoeus",
	"rest-client",
	"faraday v",
	"google-apps-script",
	"apachebench",
	"winhttp",
	"indy library",
	"cfnetwork/",
	"dalvik/",
	"aws-sdk",
}

// httpLibraryWords name libraries and runtimes too briefly to be matched in
// a browser-shaped UA, where they could be part of a device or app name;
// they are only looked for in User-Agents that are not browser-shaped, after
// the crawler and contact rules (a crawler's "+http://..." is a contact).
var httpLibraryWords = []string{
	"http",
	"python",
	"java",
	"ruby",
	"perl",
	"php",
	"node",
	"undici",
	"deno/",
	"bun/",
	"dart/",
	"jersey/",
	"resty",
	"colly",
	"got (",
	"reqwest",
	"hyper/",
	"k6/",
	"lua",
	"mojolicious",
	"microsoft-cryptoapi",
	"postman",
	"insomnia",
	"fetch",
	"client",
}

// headlessBrowserAgents are browsers driven by automation.
var headlessBrowserAgents = []string{
	"headless",
	"phantomjs",
	"slimerjs",
	"puppeteer",
	"playwright",
	"selenium",
	"webdriver",
	"lighthouse", // Chrome-Lighthouse and PageSpeed Insights
	"cypress/",
	"(splash)",
	" splash ",
}

// crawlerWords are generic words crawlers, monitors and checkers put in
// their names (Googlebot, bingbot, AhrefsBot, Applebot, GPTBot, Baiduspider,
// a "crawler", UptimeRobot, a link "checker", a feed "fetcher", ...).
var crawlerWords = []string{
	"bot",
	"crawl",
	"spider",
	"scrape",
	"scraping",
	"fetcher",
	"monitor",
	"uptime",
	"checker",
	"check_http",
	"checklink",
	"linkcheck",
	"healthcheck",
	"health-check",
	"health check",
	"probe",
	"validator",
	"archiv",
	"indexer",
	"sitemap",
	"analyzer",
	"httrack",
	"synthetics",
	"pingdom",
	"feed",
	" rss",
	"rss/",
	"rss ",
	"podcast",
	"lychee",
	"muffet",
	"linkinator",
	"sitebulb",
	"screaming frog",
	"statuscake",
	"site24x7",
	"betterstack",
	"zabbix",
	"nagios",
	"prometheus",
	"masscan",
	"zgrab",
	"nmap",
	"nuclei",
	"censys",
	"netcraft",
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
	"google-safety",
	"feedfetcher-google",
	"chatgpt-user",
	"claude-user",
	"claude-web",
	"perplexity-user",
	"ptst/", // WebPageTest
}

// crawlerListExclusions are crawler-user-agents patterns left out because
// they match real browsers (exact pattern text, as in botlist/).
var crawlerListExclusions = []string{
	`AP3A\.240617\.008`, // an Android build number, shared with real phones
	// Names of browsers and apps whose in-app browsers carry them.
	"Fluid", // Fluid.app, a macOS site-specific browser
	"GoPay", // Indonesian payment app
	"Sogou", // Sogou browsers ("SogouMobileBrowser"); Sogou's spiders say "spider"
	"Viber", // Viber's in-app browser ("Viber/21.6.0.1")
	"Sonic", // Slack's desktop app ("Sonic Slack_SSB/4.36.140")
	"Goodreads", "Hatena", "Podimo", "Mastodon", "Lemmy", "Friendica",
	"HubSpot", "MailChimp", "Butterfly", "Charlotte", "Magellan",
}

// browserEngines are the rendering engine tokens of browser User-Agents
// (case-sensitive); "like Gecko" is Internet Explorer 11's. Chrome and
// Firefox count too: some privacy tools strip the engine token.
var browserEngines = []string{
	"AppleWebKit/",
	"Gecko/",
	"Chrome/",
	"Firefox/",
	"like Gecko",
	"Trident/",
	"Presto/",
	"MSIE ",
}

// otherBrowserPrefixes start the User-Agents of browsers that do not send
// "Mozilla/5.0 (...)" (case-sensitive).
var otherBrowserPrefixes = []string{
	"Opera/", // Presto-based Opera and Opera Mini
	"Lynx/",
	"Links (",
	"ELinks",
	"w3m/",
	"NetSurf/",
	"Dillo/",
	"Midori/",
}

// urlMarkers start a URL in a lowercased User-Agent.
var urlMarkers = []string{
	"http://",
	"https://",
	"www.",
	"mailto:",
}

// topLevelDomains end the domain names and e-mail addresses hasContact
// recognises: the generic and country ones crawler operators use (not
// ".link": old carrier gateways append "UP.Link/6.3"). A dot
// followed by one of these and then no further letter, digit or dot
// (".com", ".io/") is a domain, never a browser's version or build token.
var topLevelDomains = map[string]struct{}{
	"com": {}, "net": {}, "org": {}, "io": {}, "ai": {}, "co": {}, "me": {}, "app": {},
	"dev": {}, "info": {}, "biz": {}, "tech": {}, "cloud": {}, "online": {}, "site": {},
	"xyz": {}, "pro": {}, "tools": {}, "agency": {}, "page": {}, "news": {},
	"edu": {}, "gov": {}, "int": {}, "eu": {}, "us": {}, "uk": {}, "de": {}, "fr": {},
	"nl": {}, "be": {}, "ch": {}, "at": {}, "it": {}, "es": {}, "pt": {}, "pl": {},
	"cz": {}, "sk": {}, "se": {}, "no": {}, "dk": {}, "fi": {}, "ru": {}, "ua": {},
	"jp": {}, "cn": {}, "kr": {}, "in": {}, "br": {}, "au": {}, "ca": {}, "tv": {},
	"ly": {}, "sh": {}, "gg": {}, "fm": {}, "ms": {}, "to": {}, "example": {},
}
