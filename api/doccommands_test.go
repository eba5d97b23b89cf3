package api_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

// curlCall is one curl command of the documentation: its method and path.
type curlCall struct {
	file, method, path string
}

var (
	curlURL    = regexp.MustCompile(`(?:\$SF|\$\{SF\}|https?://localhost:8080)(/[^\s"'\\)]*)`)
	curlMethod = regexp.MustCompile(`(?:^|\s)-X\s*([A-Z]+)`)
	curlData   = regexp.MustCompile(`(?:^|\s)(?:-d|--data(?:-raw|-binary)?)\s`)
	curlHead   = regexp.MustCompile(`(?:^|\s)-s?I\b|(?:^|\s)--head\b`)
)

// documentedCurls reads every curl command from README.md and docs/*.md,
// continuation lines joined.
func documentedCurls(t *testing.T) []curlCall {
	t.Helper()
	files, err := filepath.Glob("../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	var calls []curlCall
	for _, file := range append([]string{"../README.md"}, files...) {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		text := strings.ReplaceAll(string(b), "\\\n", " ")
		for _, line := range strings.Split(text, "\n") {
			for _, cmd := range strings.Split(line, "curl ")[1:] {
				cmd = " " + cmd
				if i := strings.Index(cmd, "$(curl"); i >= 0 {
					cmd = cmd[:i]
				}
				m := curlURL.FindStringSubmatch(cmd)
				if m == nil {
					continue
				}
				path, _, _ := strings.Cut(m[1], "?")
				method := "GET"
				switch {
				case curlMethod.MatchString(cmd):
					method = curlMethod.FindStringSubmatch(cmd)[1]
				case curlHead.MatchString(cmd):
					method = "HEAD"
				case curlData.MatchString(cmd):
					method = "POST"
				}
				calls = append(calls, curlCall{file: filepath.Base(file), method: method, path: path})
			}
		}
	}
	return calls
}

// A documented ID or variable ($CODE, code_01…, …) stands in for a route
// parameter.
var docPlaceholder = regexp.MustCompile(`^(\$\{?[A-Z_]+\}?|[a-z]+_[0-9a-z]{10,}|…)$`)

// routeMatches: c's method and path are r's (a HEAD is served by GET).
func routeMatches(r gin.RouteInfo, c curlCall) bool {
	if r.Method != c.method && !(c.method == "HEAD" && r.Method == "GET") {
		return false
	}
	rs, ps := strings.Split(strings.Trim(r.Path, "/"), "/"), strings.Split(strings.Trim(c.path, "/"), "/")
	if len(rs) != len(ps) {
		return false
	}
	for i := range rs {
		switch {
		case strings.HasPrefix(rs[i], ":"):
		case rs[i] == ps[i]:
		default:
			return false
		}
		if !strings.HasPrefix(rs[i], ":") && docPlaceholder.MatchString(ps[i]) {
			return false
		}
	}
	return true
}

// TestDocumentedCurlCommandsHitRoutes: every curl command in the README
// and docs/ names a method and path the router answers, so the
// walkthroughs cannot drift from the API.
func TestDocumentedCurlCommandsHitRoutes(t *testing.T) {
	e, _ := fullRouter(t)
	routes := e.router.(*gin.Engine).Routes()
	// internal/app mounts the operations routes next to the API.
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		routes = append(routes, gin.RouteInfo{Method: "GET", Path: path})
	}
	calls := documentedCurls(t)
	if len(calls) < 30 {
		t.Fatalf("found %d curl commands in the docs, want the walkthroughs' (at least 30)", len(calls))
	}
	for _, c := range calls {
		found := false
		for _, r := range routes {
			if routeMatches(r, c) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("%s: curl %s %s matches no route", c.file, c.method, c.path)
		}
	}
}
