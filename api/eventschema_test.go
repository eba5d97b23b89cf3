package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/scanforge/scanforge/api"
	"github.com/scanforge/scanforge/internal/outbox"
	"github.com/scanforge/scanforge/models"
	"github.com/scanforge/scanforge/webhook"
)

// publishedSchema fetches an event's JSON Schema as a client would (no
// key) and compiles it with a full draft 2020-12 validator, formats
// asserted.
func publishedSchema(t *testing.T, e *env, eventType string) (*jsonschema.Schema, map[string]any) {
	t.Helper()
	path := api.EventSchemaPath(eventType)
	rec := e.do(request{Method: "GET", Path: path})
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/schema+json" {
		t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Header().Get("Content-Type"))
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(rec.Body.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(baseURL+path, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(baseURL + path)
	if err != nil {
		t.Fatalf("%s does not compile as JSON Schema: %v", path, err)
	}
	return sch, doc.(map[string]any)
}

func validate(t *testing.T, sch *jsonschema.Schema, body []byte) error {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	return sch.Validate(v)
}

func TestEventSchemasArePublishedAndCached(t *testing.T) {
	e := newEnv(t, "sqlite")
	for _, ev := range []string{webhook.TypeScanCreated, webhook.TypeTest} {
		_, doc := publishedSchema(t, e, ev)
		if doc["$schema"] != "https://json-schema.org/draft/2020-12/schema" || doc["$id"] != baseURL+api.EventSchemaPath(ev) || doc["title"] != ev {
			t.Errorf("%s: $schema %v, $id %v, title %v", ev, doc["$schema"], doc["$id"], doc["title"])
		}
		if strings.Contains(mustJSON(t, doc), "#/components/") {
			t.Errorf("%s: a reference still points into the OpenAPI document", ev)
		}
		rec := e.do(request{Method: "GET", Path: api.EventSchemaPath(ev)})
		etag := rec.Header().Get("ETag")
		if etag == "" || !strings.Contains(rec.Header().Get("Cache-Control"), "public") {
			t.Errorf("%s: ETag %q, Cache-Control %q", ev, etag, rec.Header().Get("Cache-Control"))
		}
		if again := e.do(request{Method: "GET", Path: api.EventSchemaPath(ev), Header: http.Header{"If-None-Match": {etag}}}); again.Code != http.StatusNotModified || again.Body.Len() != 0 {
			t.Errorf("%s with If-None-Match: %d %q", ev, again.Code, again.Body)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestEventSchemaMatchesGoTypes keeps the published scan.created schema and
// the Go types that build the event (webhook.Event, webhook.ScanCreated)
// in step: the same fields, the non-omitempty ones required, the same JSON
// types.
func TestEventSchemaMatchesGoTypes(t *testing.T) {
	e := newEnv(t, "sqlite")
	_, doc := publishedSchema(t, e, webhook.TypeScanCreated)
	defs, _ := doc["$defs"].(map[string]any)
	resolve := func(s map[string]any) map[string]any {
		if ref, ok := s["$ref"].(string); ok {
			return defs[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
		}
		return s
	}
	timeType := reflect.TypeFor[time.Time]()
	var check func(at string, typ reflect.Type, s map[string]any)
	check = func(at string, typ reflect.Type, s map[string]any) {
		s = resolve(s)
		props, _ := s["properties"].(map[string]any)
		var required []string
		for _, r := range s["required"].([]any) {
			required = append(required, r.(string))
		}
		seen := map[string]bool{}
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			where := at + "." + name
			seen[name] = true
			ps, ok := props[name].(map[string]any)
			if !ok {
				t.Errorf("%s (Go %s.%s) is not in the schema", where, typ.Name(), f.Name)
				continue
			}
			if omit := strings.Contains(opts, "omitempty"); omit == slices.Contains(required, name) {
				t.Errorf("%s: omitempty %v but required %v", where, omit, !omit)
			}
			ps = resolve(ps)
			ft := f.Type
			want := ""
			switch {
			case f.Name == "Data" && ft == reflect.TypeFor[json.RawMessage]():
				check(where, reflect.TypeFor[webhook.ScanCreated](), ps)
				continue
			case ft == timeType:
				want = "string"
				if ps["format"] != "date-time" {
					t.Errorf("%s: format %v, want date-time", where, ps["format"])
				}
			case ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Float64:
				want = `["number","null"]`
			case ft.Kind() == reflect.String:
				want = "string"
			case ft.Kind() == reflect.Bool:
				want = "boolean"
			case ft.Kind() == reflect.Struct:
				if ps["type"] != "object" {
					t.Errorf("%s: type %v, want object", where, ps["type"])
				}
				check(where, ft, ps)
				continue
			default:
				t.Errorf("%s: no JSON type known for Go %s", where, ft)
				continue
			}
			got := mustJSON(t, ps["type"])
			if _, isText := ps["const"].(string); ps["type"] == nil && isText {
				got = `"string"` // type and api_version are string constants
			}
			if strings.Trim(got, `"`) != strings.Trim(want, `"`) {
				t.Errorf("%s: schema type %s, Go %s wants %s", where, got, ft, want)
			}
		}
		for name := range props {
			if !seen[name] {
				t.Errorf("%s.%s is in the schema but not in Go %s", at, name, typ.Name())
			}
		}
	}
	check("$", reflect.TypeFor[webhook.Event](), doc)
	props := doc["properties"].(map[string]any)
	if c := props["api_version"].(map[string]any)["const"]; c != webhook.APIVersion {
		t.Errorf("api_version const %v, want %s", c, webhook.APIVersion)
	}
	if c := props["type"].(map[string]any)["const"]; c != webhook.TypeScanCreated {
		t.Errorf("type const %v", c)
	}
}

// TestEventSchemaValidatesRealBodies: bodies built by the code that builds
// every delivery (outbox.ScanCreatedEvent) validate, whatever the scan
// knew; the OpenAPI examples validate; broken bodies do not.
func TestEventSchemaValidatesRealBodies(t *testing.T) {
	e := newEnv(t, "sqlite")
	sch, _ := publishedSchema(t, e, webhook.TypeScanCreated)
	lat, lon := 52.52, 13.405
	now := time.Date(2026, 11, 27, 16, 37, 10, 564641000, time.UTC)
	full := models.Scan{ID: "scan_01m8exwc94m1q3fa19n75vhfyd", CodeID: "code_01m8exw9ghcs4rt7n4aq8t43mr", Slug: "hello", CodeName: "Hello <poster> & more",
		Timestamp: now, Source: "qr", DestinationURL: "https://example.com/?a=1&b=2", Country: "Germany", CountryCode: "DE", Region: "Berlin",
		City: "Berlin", Latitude: &lat, Longitude: &lon, Timezone: "Europe/Berlin", DeviceType: "mobile", Browser: "Safari", BrowserVersion: "17.4",
		OS: "iOS", OSVersion: "17.4", Referrer: "https://instagram.com/", UserAgent: "Mozilla/5.0 (iPhone)"}
	unknown := models.Scan{ID: "scan_01m8exwc94m1q3fa19n75vhfye", CodeID: "code_01m8exw9ghcs4rt7n4aq8t43mr", Slug: "x", Timestamp: now, Source: "link",
		DestinationURL: "https://example.com", IsBot: true, BotReason: "empty_user_agent"}
	var bodies [][]byte
	for _, s := range []models.Scan{full, unknown} {
		body, err := outbox.ScanCreatedEvent(s)
		if err != nil {
			t.Fatal(err)
		}
		if err := validate(t, sch, body); err != nil {
			t.Errorf("real body %s does not validate: %v", body, err)
		}
		bodies = append(bodies, body)
	}

	// The examples of the webhooks section.
	var doc struct {
		Webhooks map[string]struct {
			Post struct {
				RequestBody struct {
					Content map[string]struct {
						Examples map[string]struct{ Value json.RawMessage }
					}
				} `json:"requestBody"`
			}
		}
	}
	if err := json.Unmarshal(api.OpenAPIDocument(), &doc); err != nil {
		t.Fatal(err)
	}
	for name, hook := range doc.Webhooks {
		evSchema, _ := publishedSchema(t, e, name)
		examples := hook.Post.RequestBody.Content["application/json"].Examples
		if len(examples) == 0 {
			t.Errorf("webhook %s has no example", name)
		}
		for ex, v := range examples {
			if err := validate(t, evSchema, v.Value); err != nil {
				t.Errorf("webhook %s example %s: %v", name, ex, err)
			}
		}
	}

	// Broken bodies fail.
	for name, edit := range map[string]func(m map[string]any){
		"no bot":             func(m map[string]any) { delete(m["data"].(map[string]any), "bot") },
		"source fax":         func(m map[string]any) { m["data"].(map[string]any)["source"] = "fax" },
		"latitude text":      func(m map[string]any) { m["data"].(map[string]any)["geo"].(map[string]any)["latitude"] = "52" },
		"other type":         func(m map[string]any) { m["type"] = "scan.deleted" },
		"created_at not RFC": func(m map[string]any) { m["created_at"] = "yesterday" },
	} {
		var m map[string]any
		if err := json.Unmarshal(bodies[0], &m); err != nil {
			t.Fatal(err)
		}
		edit(m)
		if err := validate(t, sch, []byte(mustJSON(t, m))); err == nil {
			t.Errorf("%s: the schema accepts a broken body", name)
		}
	}
}

func TestDocsPageShowsWebhooks(t *testing.T) {
	e := newEnv(t, "sqlite")
	page := e.do(request{Method: "GET", Path: "/api/v1/docs"}).Body.String()
	for _, want := range []string{
		`id="webhooks"`, `id="webhook-scan.created"`, `id="webhook-test"`, `href="schemas/scan.created.json"`,
		"webhook-signature", "X-ScanForge-Signature-256", `id="schema-ScanCreatedEvent"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("docs page lacks %s", want)
		}
	}
}
