package api

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/scanforge/scanforge/models"
)

// The fuzz targets below run their seed corpus (testdata/fuzz/FuzzXxx) in
// every `go test`; `go test -run '^$' -fuzz FuzzXxx ./api/` explores further.

var slugPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// FuzzValidateSlug: a slug is accepted exactly when it is 1–64 characters
// of [A-Za-z0-9_-] and not reserved, and every accepted slug is one the
// redirect routes serve.
func FuzzValidateSlug(f *testing.F) {
	f.Fuzz(func(t *testing.T, slug string) {
		err := validateSlug(slug)
		want := slugPattern.MatchString(slug) && !reservedSlugs[strings.ToLower(slug)]
		if (err == nil) != want {
			t.Fatalf("validateSlug(%q) = %v, want accepted=%v", slug, err, want)
		}
		if err != nil {
			assertValidation(t, err, "slug")
			return
		}
		if !isSlug(slug) {
			t.Fatalf("accepted slug %q is not served by the redirect", slug)
		}
	})
}

// FuzzValidateURL: an accepted URL is an absolute http(s) URL with a host,
// no credentials, a sane port, at most 2048 bytes, and one the redirect
// would serve.
func FuzzValidateURL(f *testing.F) {
	f.Fuzz(func(t *testing.T, raw string) {
		err := validateURL("url", raw)
		if err != nil {
			assertValidation(t, err, "url")
			return
		}
		checkAcceptedURL(t, raw)
	})
}

func checkAcceptedURL(t *testing.T, raw string) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("accepted URL %q does not parse: %v", raw, err)
	}
	if len(raw) > maxURLLength || u.Scheme != "http" && u.Scheme != "https" || u.Hostname() == "" || u.User != nil {
		t.Fatalf("accepted URL %q: scheme %q host %q user %v", raw, u.Scheme, u.Hostname(), u.User)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			t.Fatalf("accepted URL %q has port %q", raw, p)
		}
	}
	if strings.ContainsAny(raw, "\x00\r\n") {
		t.Fatalf("accepted URL %q holds NUL or a line break", raw)
	}
	if !isRedirectable(raw) {
		t.Fatalf("accepted URL %q would not be redirected to", raw)
	}
}

// FuzzEndpointInput decodes arbitrary bodies as an endpoint create: every
// refusal is a 400, 413 or 422 naming what is wrong, never a 500, and
// whatever is accepted is safe to store and to deliver to.
func FuzzEndpointInput(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := readEndpointInput(httptest.NewRequest(http.MethodPost, "/api/v1/endpoints", bytes.NewReader(body)), endpointCreateFields)
		if err != nil {
			assertClientError(t, err)
			return
		}
		e := models.Endpoint{Enabled: true, AllCodes: true, CodeIDs: []string{}}
		if err := in.apply(&e); err != nil {
			assertClientError(t, err)
			return
		}
		checkAcceptedURL(t, e.URL)
		if utf8.RuneCountInString(e.Description) > maxDescriptionLength || strings.ContainsRune(e.Description, 0) {
			t.Fatalf("accepted description %q", e.Description)
		}
		if e.AllCodes != (len(e.CodeIDs) == 0) {
			t.Fatalf("AllCodes %v with code IDs %v", e.AllCodes, e.CodeIDs)
		}
		for _, id := range e.CodeIDs {
			if !isObjectID(codePrefix, id) {
				t.Fatalf("accepted code ID %q", id)
			}
		}
	})
}

// FuzzCodeInput does the same for a code create.
func FuzzCodeInput(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := readCodeInput(httptest.NewRequest(http.MethodPost, "/api/v1/codes", bytes.NewReader(body)))
		if err != nil {
			assertClientError(t, err)
			return
		}
		code := models.Code{Slug: "generated", Active: true}
		if err := in.apply(&code); err != nil {
			assertClientError(t, err)
			return
		}
		if validateSlug(code.Slug) != nil || !isSlug(code.Slug) {
			t.Fatalf("accepted slug %q", code.Slug)
		}
		checkAcceptedURL(t, code.DestinationURL)
		if utf8.RuneCountInString(code.Name) > maxNameLength || strings.ContainsRune(code.Name, 0) {
			t.Fatalf("accepted name %q", code.Name)
		}
	})
}

// assertValidation checks that err is a 422 on field.
func assertValidation(t *testing.T, err error, field string) {
	t.Helper()
	var invalid *models.ValidationError
	if !errors.As(err, &invalid) || invalid.Field != field || invalid.Message == "" {
		t.Fatalf("error %v (%T) is not a validation error on %q", err, err, field)
	}
}

// assertClientError checks that err maps to a client error with a message.
func assertClientError(t *testing.T, err error) {
	t.Helper()
	ae := describe(err)
	switch ae.Status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
	default:
		t.Fatalf("error %v answers %d, want 400, 413 or 422", err, ae.Status)
	}
	if ae.Message == "" || ae.Code == "" {
		t.Fatalf("error %v answers without code or message", err)
	}
}
