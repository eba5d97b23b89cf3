package config

import (
	"net/url"
	"regexp"
	"strings"
)

// RedactDatabaseURL masks the password in a database URL, both in the
// userinfo ("postgres://user:xxxxx@host/db") and in password query
// parameters. It also copes with values that do not parse as URLs, masking
// too much rather than too little: everything between the first ':' of the
// userinfo and the last '@'.
func RedactDatabaseURL(raw string) string {
	if raw == "" {
		return ""
	}
	s := raw
	u, err := url.Parse(raw)
	switch {
	case err == nil && u.User != nil:
		s = u.Redacted()
	case err == nil && u.Opaque == "":
		// hierarchical URL without userinfo: nothing to mask there
	case !strings.HasPrefix(raw, "sqlite:"):
		s = maskUserinfo(raw) // unparseable, or opaque like "mysql:user:pw@host"
	}
	return maskPasswordParams(s)
}

// maskUserinfo is the fallback for unparseable URLs.
func maskUserinfo(s string) string {
	start := 0
	if i := strings.Index(s, "://"); i >= 0 {
		start = i + len("://")
	}
	at := strings.LastIndex(s, "@")
	if at <= start {
		return s
	}
	colon := strings.IndexByte(s[start:at], ':')
	if colon < 0 {
		return s
	}
	return s[:start+colon+1] + "xxxxx" + s[at:]
}

// maskPasswordParams masks password=… (and sslpassword=…) in a query string
// or a key=value connection string, quoted values included.
func maskPasswordParams(s string) string {
	re := regexp.MustCompile(`(?i)(password=)('(?:[^'\\]|\\.)*'|[^&\s]*)`)
	return re.ReplaceAllString(s, "${1}xxxxx")
}
