package api

import (
	"crypto/rand"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/scanforge/scanforge/models"
)

// Limits of user input. Each matches (or is below) the column it goes into,
// so bad input is a 422 here and never a database error (500) later.
const (
	maxURLLength         = 2048
	maxSlugLength        = 64
	maxNameLength        = 200
	maxDescriptionLength = 500
	maxCodeIDsPerRequest = 1000
	generatedSlugLength  = 8
)

// reservedSlugs would collide with routes or confuse readers of a short link.
var reservedSlugs = map[string]bool{
	"api": true, "q": true, "l": true, "healthz": true, "readyz": true,
	"metrics": true, "static": true, "admin": true,
}

// validateURL checks a destination or endpoint URL: absolute http(s) with a
// host, no credentials, a port (if any) of 1–65535, at most 2048 characters.
func validateURL(field, raw string) error {
	if raw == "" {
		return models.Invalid(field, "is required")
	}
	if len(raw) > maxURLLength {
		return models.Invalid(field, fmt.Sprintf("must be at most %d characters", maxURLLength))
	}
	u, err := url.Parse(raw)
	if err != nil {
		return models.Invalid(field, "must be a valid URL")
	}
	if !isHTTPScheme(u.Scheme) {
		return models.Invalid(field, "must be an http or https URL")
	}
	if u.Host == "" || u.Hostname() == "" {
		return models.Invalid(field, "must have a host")
	}
	if u.User != nil {
		return models.Invalid(field, "must not contain a user name or password")
	}
	if problem := hostProblem(u); problem != "" {
		return models.Invalid(field, problem)
	}
	return nil
}

// hostProblem finds hosts that parsers read differently: resolvers and
// browsers take "127.1", "0x7f000001" or "2130706433" for 127.0.0.1, Go's
// URL parser for a name. An address must be written plainly, so that
// everyone, the egress guard included, sees the same one.
func hostProblem(u *url.URL) string {
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "port must be between 1 and 65535"
		}
	}
	host := u.Hostname()
	if strings.Contains(host, "%") {
		return "must not have an IPv6 zone"
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return ""
	}
	labels := strings.Split(strings.TrimSuffix(host, "."), ".")
	last := strings.ToLower(labels[len(labels)-1])
	hex, isHex := strings.CutPrefix(last, "0x")
	if last != "" && strings.Trim(last, "0123456789") == "" || isHex && strings.Trim(hex, "0123456789abcdef") == "" {
		return "host looks like an IP address in a short or numeric form; write IPv4 addresses as four decimal numbers (e.g. 192.0.2.1)"
	}
	return ""
}

func isHTTPScheme(scheme string) bool {
	s := strings.ToLower(scheme)
	return s == "http" || s == "https"
}

// validateSlug checks a slug: 1–64 characters of [A-Za-z0-9_-], not reserved.
func validateSlug(slug string) error {
	if !isSlug(slug) {
		return models.Invalid("slug", fmt.Sprintf("must be 1 to %d characters of letters, digits, '-' and '_'", maxSlugLength))
	}
	if reservedSlugs[strings.ToLower(slug)] {
		return models.Invalid("slug", fmt.Sprintf("%q is reserved", slug))
	}
	return nil
}

func isSlug(s string) bool {
	if len(s) == 0 || len(s) > maxSlugLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// validateText checks free text (name, description): at most max characters
// and no control characters other than tab and newlines (PostgreSQL rejects
// NUL outright).
func validateText(field, s string, max int) error {
	if utf8.RuneCountInString(s) > max {
		return models.Invalid(field, fmt.Sprintf("must be at most %d characters", max))
	}
	for _, r := range s {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0x7f {
			return models.Invalid(field, "must not contain control characters")
		}
	}
	return nil
}

// validateCodeIDs checks the shape of an endpoint's code list and returns it
// without duplicates. Whether each is a code of the workspace is the store's
// check (a 422 on code_ids too).
func validateCodeIDs(ids []string) ([]string, error) {
	if len(ids) > maxCodeIDsPerRequest {
		return nil, models.Invalid("code_ids", fmt.Sprintf("must list at most %d codes", maxCodeIDsPerRequest))
	}
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !isObjectID(codePrefix, id) {
			return nil, models.Invalid("code_ids", fmt.Sprintf("no code %q in this workspace", id))
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out, nil
}

// Prefixes of the IDs the API takes in paths, cursors and bodies
// (see internal/id).
const (
	codePrefix     = "code"
	endpointPrefix = "ep"
)

// idAlphabet is internal/id's Crockford base32 alphabet.
const idAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// isObjectID reports whether s has the shape of an ID made by internal/id
// with prefix. Anything else cannot name an object, so it is "not found"
// without a database round trip (and without sending, say, a NUL byte to
// PostgreSQL, which would fail the query).
func isObjectID(prefix, s string) bool {
	rest, ok := strings.CutPrefix(s, prefix+"_")
	if !ok || len(rest) != 26 {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if strings.IndexByte(idAlphabet, rest[i]) < 0 {
			return false
		}
	}
	return true
}

// newSlug returns a random slug of 8 lowercase letters and digits.
func newSlug() string {
	const chars = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, generatedSlugLength)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	for i := range b {
		b[i] = chars[int(b[i])%len(chars)] // 256 % 36 bias is irrelevant for a slug
	}
	return string(b)
}
