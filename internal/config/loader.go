package config

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/scanforge/scanforge/internal/clientip"
	"github.com/scanforge/scanforge/internal/secretbox"
)

// positive is the smallest positive duration: a minimum of "> 0".
const positive = time.Nanosecond

// loader reads variables and collects every problem instead of stopping at
// the first, so one start shows the user all there is to fix.
type loader struct {
	getenv func(string) string
	set    map[string]string // trimmed values as set; "" = unset
	used   map[string]string // values in effect, defaults included
	errs   []error
}

// value returns name's trimmed value, or def when it is unset or blank.
func (l *loader) value(name, def string) string {
	v := strings.TrimSpace(l.getenv(name))
	if l.set == nil {
		l.set, l.used = map[string]string{}, map[string]string{}
	}
	l.set[name] = v
	if v == "" {
		v = def
	}
	l.used[name] = v
	return v
}

// fail records a problem with name's value. When the variable is unset the
// problem lies with its default (a clash with another variable), so the
// message says which default.
func (l *loader) fail(name, problem string) {
	if l.set[name] == "" && l.used[name] != "" {
		problem = "(default " + l.used[name] + ") " + problem
	}
	l.failWith(name, l.set[name], problem, nil)
}

func (l *loader) failWith(name, value, problem string, err error) {
	l.errs = append(l.errs, &VarError{Name: name, Value: value, Problem: problem, Err: err})
}

// conflict records a clash between variables, reported on name.
func (l *loader) conflict(name, problem string) {
	l.failWith(name, "", problem, nil)
}

// hostPort reads a host:port address. The port must be 1–65535; the host
// may be empty (all interfaces) unless hostRequired.
func (l *loader) hostPort(name, def string, hostRequired bool, examples string) (string, int, bool) {
	v := l.value(name, def)
	host, portText, err := net.SplitHostPort(v)
	if err != nil {
		l.fail(name, "not host:port ("+examples+")")
		return "", 0, false
	}
	if hostRequired && host == "" {
		l.fail(name, "the host is missing ("+examples+")")
		return "", 0, false
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 1 || port > 65535 {
		l.fail(name, "the port must be a number between 1 and 65535 ("+examples+")")
		return "", 0, false
	}
	return v, port, true
}

// publicURL reads the absolute http(s) base URL links are built on. A
// trailing slash is dropped so paths can be appended as "/q/SLUG".
// An empty def means the default could not be derived (its source is
// already reported), so an unset variable is then not an error of its own.
func (l *loader) publicURL(name, def string) string {
	v := l.value(name, def)
	if v == "" {
		return ""
	}
	const expected = "expected an absolute http(s) URL such as https://scan.example.com"
	u, err := url.Parse(v)
	switch {
	case err != nil, u.Scheme != "http" && u.Scheme != "https", u.Host == "":
		l.fail(name, "not an absolute http(s) URL; "+expected)
	case u.User != nil:
		l.fail(name, "must not contain a user name or password; "+expected)
	case u.RawQuery != "" || u.ForceQuery:
		l.fail(name, "must not have a query; "+expected)
	case u.Fragment != "":
		l.fail(name, "must not have a fragment; "+expected)
	default:
		return strings.TrimRight(v, "/")
	}
	return ""
}

// databaseURL reads DATABASE_URL: PostgreSQL URLs or sqlite:PATH, the forms
// models.Open accepts. Messages show the value with its password masked.
func (l *loader) databaseURL(mode Mode, def string) string {
	v := l.value(envDatabaseURL, def)
	shown := RedactDatabaseURL(v)
	switch {
	case v == "":
		l.failWith(envDatabaseURL, "", fmt.Sprintf("is required for %q (e.g. %s)", mode, exampleDatabaseURL), nil)
	case strings.HasPrefix(v, "postgres://"), strings.HasPrefix(v, "postgresql://"):
		// url.Parse's error quotes the whole URL, password included: never
		// pass it on.
		u, err := url.Parse(v)
		if err == nil {
			_, err = url.ParseQuery(u.RawQuery)
		}
		if err != nil {
			l.failWith(envDatabaseURL, shown, "not a valid URL; percent-encode special characters in the user name, password and parameters (e.g. "+exampleDatabaseURL+")", nil)
			return ""
		}
		return v
	case strings.HasPrefix(v, "sqlite:"):
		if strings.TrimPrefix(strings.TrimPrefix(v, "sqlite://"), "sqlite:") == "" {
			l.failWith(envDatabaseURL, shown, "the SQLite file path is missing (e.g. sqlite:./.scanforge/app.db)", nil)
			return ""
		}
		return v
	default:
		l.failWith(envDatabaseURL, shown, "unsupported database URL; expected postgres://… or postgresql://… (e.g. "+exampleDatabaseURL+"), or sqlite:PATH for a single node", nil)
	}
	return ""
}

// namespace reads a Temporal namespace name: 1–1000 characters from
// [A-Za-z0-9._-] (a simplification of the server's rules).
func (l *loader) namespace(name, def string) string {
	v := l.value(name, def)
	valid := len(v) <= 1000
	for _, r := range v {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			valid = false
		}
	}
	if !valid {
		l.fail(name, "must be 1–1000 characters of letters, digits, '.', '_' and '-' (e.g. default)")
		return ""
	}
	return v
}

// intRange reads a whole number in [lo, hi]; note explains special values.
func (l *loader) intRange(name, def string, lo, hi int, note string) (int, bool) {
	v := l.value(name, def)
	n, err := strconv.Atoi(v)
	if err != nil {
		l.fail(name, fmt.Sprintf("not a whole number (expected %d–%d)", lo, hi))
		return 0, false
	}
	if n < lo || n > hi {
		problem := fmt.Sprintf("must be between %d and %d", lo, hi)
		if note != "" {
			problem += " (" + note + ")"
		}
		l.fail(name, problem)
		return 0, false
	}
	return n, true
}

// duration reads a Go duration ("90s", "1h30m") or whole days ("7d"), at
// least lo and, when hi > 0, at most hi.
func (l *loader) duration(name, def string, lo, hi time.Duration) (time.Duration, bool) {
	v := l.value(name, def)
	d, ok := parseDuration(v)
	switch {
	case !ok:
		l.fail(name, "not a duration (examples: 15s, 1m, 2h, 7d)")
	case hi > 0 && (d < lo || d > hi):
		l.fail(name, fmt.Sprintf("must be between %s and %s", formatDuration(lo), formatDuration(hi)))
	case d < lo && lo == positive:
		l.fail(name, "must be positive")
	case d < lo:
		l.fail(name, "must be at least "+formatDuration(lo))
	default:
		return d, true
	}
	return 0, false
}

// parseDuration accepts time.ParseDuration's syntax plus whole days ("30d"),
// which Go lacks and retention periods want.
func parseDuration(s string) (time.Duration, bool) {
	const day = 24 * time.Hour
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseInt(days, 10, 64)
		if err != nil || n > math.MaxInt64/int64(day) || n < math.MinInt64/int64(day) {
			return 0, false
		}
		return time.Duration(n) * day, true
	}
	d, err := time.ParseDuration(s)
	return d, err == nil
}

// existingFile reads an optional path that, when set, must be a file.
func (l *loader) existingFile(name string) string {
	v := l.value(name, "")
	if v == "" {
		return ""
	}
	info, err := os.Stat(v)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		l.failWith(name, v, "no such file (expected a GeoIP2 or GeoLite2 City .mmdb file)", err)
	case err != nil:
		l.failWith(name, v, "cannot read the file: "+err.Error(), err)
	case info.IsDir():
		l.failWith(name, v, "is a directory (expected a GeoIP2 or GeoLite2 City .mmdb file)", nil)
	default:
		return v
	}
	return ""
}

// writableDir reads the path of a directory the process will write to: it
// must be a writable directory, or one that can be created (its nearest
// existing parent is a writable directory). Nothing is left behind.
func (l *loader) writableDir(name, def string) string {
	v := l.value(name, def)
	dir := filepath.Clean(v)
	for {
		info, err := os.Stat(dir)
		if err == nil {
			if !info.IsDir() {
				what := "is not a directory"
				if dir != filepath.Clean(v) {
					what = "cannot be created: " + dir + " is not a directory"
				}
				l.fail(name, what)
				return ""
			}
			break
		}
		// ENOTDIR: a parent is a file, reported when the walk reaches it.
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
			l.fail(name, "cannot be read: "+err.Error())
			return ""
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	probe, err := os.CreateTemp(dir, ".scanforge-write-check-*")
	if err != nil {
		problem := "is not writable"
		if dir != filepath.Clean(v) {
			problem = "cannot be created: " + dir + " is not writable"
		}
		l.fail(name, problem+" by this process")
		return ""
	}
	probe.Close()
	os.Remove(probe.Name())
	return v
}

// prefixes reads a comma-separated list of IP addresses and CIDR prefixes.
func (l *loader) prefixes(name string) []netip.Prefix {
	v := l.value(name, "")
	prefixes, err := clientip.ParsePrefixes(v)
	if err != nil {
		l.failWith(name, v, err.Error()+"; expected comma-separated IP addresses or CIDR prefixes (e.g. 10.0.0.0/8,127.0.0.1)", err)
		return nil
	}
	return prefixes
}

// encryptionKey reads a base64 AES-256 key. Messages never show the value.
func (l *loader) encryptionKey(name string, required bool) []byte {
	const how = "expected base64 of 32 random bytes, e.g. from `openssl rand -base64 32`"
	v := l.value(name, "")
	if v == "" {
		if required {
			l.failWith(name, "", "is required: it encrypts endpoint secrets at rest; "+how, nil)
		}
		return nil
	}
	key, err := secretbox.ParseKey(v)
	if err != nil {
		l.failWith(name, "", "is not a valid key ("+strings.TrimPrefix(err.Error(), "secretbox: ")+"); "+how, nil)
		return nil
	}
	return key
}

// secretToken reads an optional secret of at least minLength characters.
// Messages never show the value.
func (l *loader) secretToken(name string, minLength int) string {
	v := l.value(name, "")
	if v != "" && len(v) < minLength {
		l.failWith(name, "", fmt.Sprintf("is too short: use at least %d random characters (e.g. `openssl rand -hex 32`)", minLength), nil)
		return ""
	}
	return v
}

// boolean reads true or false (also 1/0, t/f, in any case).
func (l *loader) boolean(name, def string) bool {
	v := l.value(name, def)
	b, err := strconv.ParseBool(v)
	if err != nil {
		l.fail(name, "expected true or false")
		return false
	}
	return b
}

func (l *loader) logLevel(name, def string) slog.Level {
	v := l.value(name, def)
	switch strings.ToLower(v) {
	case "debug":
		return slog.LevelDebug
	case "info":
		return slog.LevelInfo
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	l.fail(name, "expected debug, info, warn or error")
	return slog.LevelInfo
}

func (l *loader) oneOf(name, def string, choices ...string) string {
	v := strings.ToLower(l.value(name, def))
	for _, c := range choices {
		if v == c {
			return v
		}
	}
	l.fail(name, "expected "+strings.Join(choices, " or "))
	return ""
}
