package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/pb33f/libopenapi"
	"github.com/pb33f/libopenapi/datamodel/high/base"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
	"github.com/pb33f/libopenapi/orderedmap"

	"github.com/scanforge/scanforge/api"
	"github.com/scanforge/scanforge/internal/deliverylog"
)

// The OpenAPI description is parsed by libopenapi, a full OpenAPI 3.1
// implementation; instances (examples, real requests and answers) are
// checked against its schemas by schemaErrors below, a validator of the
// JSON Schema keywords the description uses (type, enum, const, required,
// properties, additionalProperties, items, allOf/anyOf/oneOf, lengths,
// pattern, bounds, formats date-time, date and uri). The keywords it does
// not know make the test fail, so the description cannot silently outgrow it.

// loadOpenAPI parses the served description and builds its model; any
// error (a bad $ref, a wrong field type) fails the test.
func loadOpenAPI(t *testing.T) *v3.Document {
	t.Helper()
	doc, err := libopenapi.NewDocument(api.OpenAPIDocument())
	if err != nil {
		t.Fatalf("openapi.json does not parse: %v", err)
	}
	if v := doc.GetVersion(); v != "3.1.0" {
		t.Fatalf("OpenAPI version %q, want 3.1.0", v)
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		t.Fatalf("openapi.json is not a valid OpenAPI 3.1 document: %v", err)
	}
	if n := len(model.Index.GetReferenceIndexErrors()); n > 0 {
		t.Fatalf("openapi.json has %d reference errors: %v", n, model.Index.GetReferenceIndexErrors())
	}
	return &model.Model
}

// fullRouter is a router with every optional route mounted.
func fullRouter(t *testing.T) (*env, *docDeliveries) {
	t.Helper()
	dl := &docDeliveries{}
	e := newEnv(t, "sqlite", func(o *api.Options) {
		o.Deliveries = dl
		o.AdminToken = docAdminToken
	})
	dl.owner = e.wsID
	return e, dl
}

const docAdminToken = "admin-token-0123456789-0123456789-abcdef"

// operationKey is "METHOD /path/{param}".
func operationKey(method, path string) string { return strings.ToUpper(method) + " " + path }

var ginParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)

func TestOpenAPIDocumentIsValidAndCoversEveryRoute(t *testing.T) {
	doc := loadOpenAPI(t)
	if doc.Info == nil || doc.Info.Title == "" || doc.Paths == nil {
		t.Fatal("no info or paths")
	}

	documented := map[string]bool{}
	opIDs := map[string]bool{}
	for path, item := range doc.Paths.PathItems.FromOldest() {
		for method, op := range item.GetOperations().FromOldest() {
			documented[operationKey(method, path)] = true
			if op.OperationId == "" || opIDs[op.OperationId] {
				t.Errorf("%s %s: missing or duplicate operationId %q", method, path, op.OperationId)
			}
			opIDs[op.OperationId] = true
			if op.Summary == "" || len(op.Tags) == 0 {
				t.Errorf("%s %s: no summary or tag", method, path)
			}
			if op.Responses == nil || op.Responses.Codes.Len() == 0 {
				t.Errorf("%s %s: no responses", method, path)
			}
			// Every {param} in the path is a declared path parameter.
			params := append(slices.Clone(item.Parameters), op.Parameters...)
			for _, m := range regexp.MustCompile(`\{([^}]+)\}`).FindAllStringSubmatch(path, -1) {
				if !slices.ContainsFunc(params, func(p *v3.Parameter) bool { return p.Name == m[1] && p.In == "path" }) {
					t.Errorf("%s %s: path parameter %s not declared", method, path, m[1])
				}
			}
		}
	}

	e, _ := fullRouter(t)
	routed := map[string]bool{}
	for _, r := range e.router.(*gin.Engine).Routes() {
		if !strings.HasPrefix(r.Path, "/api/") {
			continue // redirects, health, metrics: not the management API
		}
		routed[operationKey(r.Method, ginParam.ReplaceAllString(r.Path, "{$1}"))] = true
	}
	for _, k := range sortedOps(routed) {
		if !documented[k] {
			t.Errorf("route %s is not in openapi.json", k)
		}
	}
	for _, k := range sortedOps(documented) {
		if !routed[k] {
			t.Errorf("openapi.json documents %s, which the router does not have", k)
		}
	}
}

func sortedOps(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestOpenAPIExamplesMatchTheirSchemas checks every example of a request or
// response body against the body's schema.
func TestOpenAPIExamplesMatchTheirSchemas(t *testing.T) {
	doc := loadOpenAPI(t)
	n := 0
	check := func(where string, content *orderedmap.Map[string, *v3.MediaType]) {
		for ctype, mt := range content.FromOldest() {
			if mt.Examples == nil {
				continue
			}
			for name, ex := range mt.Examples.FromOldest() {
				var v any
				if err := ex.Value.Decode(&v); err != nil {
					t.Errorf("%s %s example %q: %v", where, ctype, name, err)
					continue
				}
				v = normalize(t, v)
				for _, problem := range schemaErrors(mt.Schema.Schema(), v, "") {
					t.Errorf("%s %s example %q: %s", where, ctype, name, problem)
				}
				n++
			}
		}
	}
	for path, item := range doc.Paths.PathItems.FromOldest() {
		for method, op := range item.GetOperations().FromOldest() {
			where := operationKey(method, path)
			if op.RequestBody != nil {
				check(where+" request", op.RequestBody.Content)
			}
			for code, r := range op.Responses.Codes.FromOldest() {
				if r.Content != nil {
					check(where+" "+code, r.Content)
				}
			}
		}
	}
	if n < 20 {
		t.Fatalf("only %d examples checked", n)
	}
}

// normalize turns a decoded YAML value into what encoding/json would have
// decoded (float64 numbers, map[string]any).
func normalize(t *testing.T, v any) any {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestOpenAPIMatchesRealExchanges drives the router through every
// documented operation and checks each request and answer against the
// description: the operation exists, the status is documented, request
// bodies of accepted requests and every JSON answer match their schemas.
func TestOpenAPIMatchesRealExchanges(t *testing.T) {
	doc := loadOpenAPI(t)
	e, dl := fullRouter(t)
	seen := map[string]bool{}

	exchange := func(method, path, body, key string, header http.Header, wantStatus int) *httptest.ResponseRecorder {
		t.Helper()
		rec := e.do(request{Method: method, Path: path, Body: body, Key: key, Header: header})
		if rec.Code != wantStatus {
			t.Fatalf("%s %s: status %d, want %d: %s", method, path, rec.Code, wantStatus, rec.Body.String())
		}
		u, _ := url.Parse(path)
		template, op := findOperation(doc, method, u.Path)
		if op == nil {
			t.Fatalf("%s %s: no documented operation", method, u.Path)
		}
		seen[operationKey(method, template)] = true
		where := fmt.Sprintf("%s %s → %d", method, path, rec.Code)

		if body != "" && rec.Code < 300 {
			if op.RequestBody == nil {
				t.Errorf("%s: sent a body, but none is documented", where)
			} else if mt := op.RequestBody.Content.GetOrZero("application/json"); mt == nil {
				t.Errorf("%s: no application/json request body documented", where)
			} else {
				var v any
				if err := json.Unmarshal([]byte(body), &v); err != nil {
					t.Fatalf("%s: test body is not JSON: %v", where, err)
				}
				for _, p := range schemaErrors(mt.Schema.Schema(), v, "") {
					t.Errorf("%s: request body: %s", where, p)
				}
			}
		}

		resp := op.Responses.Codes.GetOrZero(fmt.Sprint(rec.Code))
		if resp == nil {
			t.Errorf("%s: status not documented", where)
			return rec
		}
		if resp.Content == nil || resp.Content.Len() == 0 {
			if rec.Body.Len() != 0 {
				t.Errorf("%s: documented without a body, answered %q", where, rec.Body.String())
			}
			return rec
		}
		ctype := strings.TrimSpace(strings.Split(rec.Header().Get("Content-Type"), ";")[0])
		mt := resp.Content.GetOrZero(ctype)
		if mt == nil {
			t.Errorf("%s: Content-Type %q not documented", where, ctype)
			return rec
		}
		if ctype == "application/json" {
			var v any
			if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
				t.Errorf("%s: answer is not JSON: %v", where, err)
				return rec
			}
			for _, p := range schemaErrors(mt.Schema.Schema(), v, "") {
				t.Errorf("%s: answer: %s", where, p)
			}
		}
		return rec
	}
	id := func(rec *httptest.ResponseRecorder) string {
		t.Helper()
		return decode(t, rec)["id"].(string)
	}
	k := e.key

	// Codes.
	code := id(exchange("POST", "/api/v1/codes", `{"slug":"hello","name":"Hello","destination_url":"https://example.com"}`, k, nil, 201))
	exchange("POST", "/api/v1/codes", `{"destination_url":"https://example.com/b","active":null}`, k, nil, 201)
	exchange("POST", "/api/v1/codes", `{"slug":"hello","destination_url":"https://example.com"}`, k, nil, 409)
	exchange("POST", "/api/v1/codes", `{"slug":"no spaces","destination_url":"https://example.com"}`, k, nil, 422)
	exchange("POST", "/api/v1/codes", `{"colour":"red"}`, k, nil, 400)
	exchange("POST", "/api/v1/codes", `{"destination_url":"`+strings.Repeat("x", 1<<20)+`"}`, k, nil, 413)
	page := exchange("GET", "/api/v1/codes?limit=1", "", k, nil, 200)
	cursor := decode(t, page)["next_cursor"].(string)
	exchange("GET", "/api/v1/codes?limit=1&cursor="+cursor, "", k, nil, 200)
	exchange("GET", "/api/v1/codes?limit=0", "", k, nil, 400)
	exchange("GET", "/api/v1/codes", "", "", nil, 401)
	exchange("GET", "/api/v1/codes/"+code, "", k, nil, 200)
	exchange("GET", "/api/v1/codes/"+code, "", e.otherKey, nil, 404)
	exchange("PATCH", "/api/v1/codes/"+code, `{"name":"Hello poster"}`, k, nil, 200)
	exchange("POST", "/api/v1/codes/"+code+"/deactivate", "", k, nil, 200)
	exchange("POST", "/api/v1/codes/"+code+"/activate", "", k, nil, 200)
	png := exchange("GET", "/api/v1/codes/"+code+"/qr.png?size=256", "", k, nil, 200)
	exchange("GET", "/api/v1/codes/"+code+"/qr.png?size=256", "", k, http.Header{"If-None-Match": {png.Header().Get("ETag")}}, 304)
	exchange("GET", "/api/v1/codes/"+code+"/qr.svg?ecc=H", "", k, nil, 200)
	exchange("GET", "/api/v1/codes/"+code+"/qr.svg?colour=red", "", k, nil, 400)

	// Analytics, after one scan.
	if rec := e.do(request{Method: "GET", Path: "/q/hello", Header: http.Header{"User-Agent": {"Mozilla/5.0 (iPhone)"}}}); rec.Code != http.StatusFound {
		t.Fatalf("scan: %d", rec.Code)
	}
	scans := exchange("GET", "/api/v1/codes/"+code+"/scans", "", k, nil, 200)
	if n := len(decode(t, scans)["data"].([]any)); n != 1 {
		t.Fatalf("%d scans listed, want 1", n)
	}
	exchange("GET", "/api/v1/codes/"+code+"/scans?source=fax", "", k, nil, 400)
	exchange("GET", "/api/v1/codes/"+code+"/stats?bots=exclude", "", k, nil, 200)
	exchange("GET", "/api/v1/stats?bots=exclude", "", k, nil, 200)
	exchange("GET", "/api/v1/stats?to=soon", "", k, nil, 400)

	// Endpoints.
	ep := id(exchange("POST", "/api/v1/endpoints", `{"url":"https://hooks.example.com/a","description":"CRM","code_ids":["`+code+`"]}`, k, nil, 201))
	exchange("POST", "/api/v1/endpoints", `{"url":"ftp://hooks.example.com"}`, k, nil, 422)
	exchange("GET", "/api/v1/endpoints", "", k, nil, 200)
	exchange("GET", "/api/v1/endpoints/"+ep, "", k, nil, 200)
	exchange("PATCH", "/api/v1/endpoints/"+ep, `{"code_ids":[],"human_only":true}`, k, nil, 200)
	exchange("POST", "/api/v1/endpoints/"+ep+"/disable", "", k, nil, 200)
	exchange("POST", "/api/v1/endpoints/"+ep+"/enable", "", k, nil, 200)
	exchange("POST", "/api/v1/endpoints/"+ep+"/pause", "", k, nil, 200)
	exchange("POST", "/api/v1/endpoints/"+ep+"/resume", "", k, nil, 200)
	exchange("POST", "/api/v1/endpoints/"+ep+"/rotate-secret", `{"overlap":"1h"}`, k, nil, 200)
	exchange("POST", "/api/v1/endpoints/"+ep+"/rotate-secret", "", k, nil, 200)
	exchange("POST", "/api/v1/endpoints/"+ep+"/rotate-secret", `{"secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw","overlap":"0s"}`, k, nil, 200)
	exchange("POST", "/api/v1/endpoints/"+ep+"/rotate-secret", `{"secret":"whsec_short"}`, k, nil, 422)
	exchange("POST", "/api/v1/endpoints", `{"url":"https://hooks.example.com/b","secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw","body_signature":true}`, k, nil, 201)
	exchange("PATCH", "/api/v1/endpoints/"+ep, `{"body_signature":true}`, k, nil, 200)
	exchange("POST", "/api/v1/endpoints/"+ep+"/test", "", k, nil, 202)
	exchange("POST", "/api/v1/endpoints/"+ep+"/replay", `{"state":"failed","since":"2026-01-01T00:00:00Z"}`, k, nil, 200)
	exchange("POST", "/api/v1/endpoints/"+ep+"/replay", "", k, nil, 200)

	// Deliveries.
	exchange("GET", "/api/v1/deliveries?state=failed", "", k, nil, 200)
	exchange("GET", "/api/v1/deliveries?colour=red", "", k, nil, 400)
	exchange("GET", "/api/v1/deliveries/"+docDeliveryID, "", k, nil, 200)
	exchange("GET", "/api/v1/deliveries/delivery:nope", "", k, nil, 404)
	exchange("POST", "/api/v1/deliveries/"+docDeliveryID+"/replay", "", k, nil, 202)
	exchange("POST", "/api/v1/deliveries/"+docDeliveryID+"/replay", `{"endpoint_id":"`+ep+`","dry_run":true}`, k, nil, 200)
	exchange("POST", "/api/v1/deliveries/"+docDeliveryID+"/replay", `{"endpoint_id":"`+ep+`"}`, k, nil, 202)
	exchange("POST", "/api/v1/deliveries/"+docDeliveryID+"/replay", `{"endpoint_id":"ep_01jq0000000000000000000009"}`, k, nil, 422)
	exchange("POST", "/api/v1/deliveries/"+docDeliveryID+"/retry", "", k, nil, 409) // finished: nothing to hurry
	exchange("POST", "/api/v1/deliveries/replay", "", k, nil, 202)
	exchange("POST", "/api/v1/deliveries/replay", `{"endpoint_id":"`+ep+`","state":"failed","since":"2026-11-27T00:00:00Z","until":"2026-11-27T06:00:00Z"}`, k, nil, 202)
	exchange("POST", "/api/v1/deliveries/replay", `{"code_id":"`+code+`","state":"delivered","to_endpoint_id":"`+ep+`","dry_run":true}`, k, nil, 200)
	exchange("POST", "/api/v1/deliveries/replay", `{"state":"retrying"}`, k, nil, 422)
	exchange("POST", "/api/v1/deliveries/replay", `{"colour":"red"}`, k, nil, 400)
	dl.running = true
	exchange("POST", "/api/v1/deliveries/"+docDeliveryID+"/retry", "", k, nil, 202)
	exchange("POST", "/api/v1/deliveries/"+docDeliveryID+"/replay", "", k, nil, 409)

	exchange("DELETE", "/api/v1/endpoints/"+ep, "", k, nil, 204)
	exchange("DELETE", "/api/v1/endpoints/"+ep, "", k, nil, 404)
	exchange("DELETE", "/api/v1/codes/"+code, "", k, nil, 204)

	// API keys.
	key := id(exchange("POST", "/api/v1/api-keys", `{"name":"ci"}`, k, nil, 201))
	exchange("POST", "/api/v1/api-keys", `{"name":""}`, k, nil, 422)
	exchange("GET", "/api/v1/api-keys", "", k, nil, 200)
	exchange("DELETE", "/api/v1/api-keys/"+key, "", k, nil, 204)

	// Admin.
	exchange("POST", "/api/v1/admin/workspaces", `{"name":"Acme"}`, docAdminToken, nil, 201)
	exchange("POST", "/api/v1/admin/workspaces", `{"name":"Acme"}`, k, nil, 401)

	// The description itself, without a key.
	served := exchange("GET", "/api/v1/openapi.json", "", "", nil, 200)
	if !json.Valid(served.Body.Bytes()) || !strings.Contains(served.Body.String(), `"openapi": "3.1.0"`) {
		t.Errorf("served description: %.200s", served.Body.String())
	}
	eventSchema := exchange("GET", "/api/v1/schemas/scan.created.json", "", "", nil, 200)
	exchange("GET", "/api/v1/schemas/scan.created.json", "", "", http.Header{"If-None-Match": {eventSchema.Header().Get("ETag")}}, 304)
	exchange("GET", "/api/v1/schemas/test.json", "", "", nil, 200)
	for _, ev := range []string{"endpoint.disabled", "endpoint.enabled", "delivery.gave_up", "endpoint.paused_backlog"} {
		exchange("GET", "/api/v1/schemas/"+ev+".json", "", "", nil, 200)
	}
	page2 := exchange("GET", "/api/v1/docs", "", "", nil, 200)
	for _, want := range []string{"<title>ScanForge management API</title>", "/api/v1/endpoints/{id}/rotate-secret", `href="openapi.json"`} {
		if !strings.Contains(page2.Body.String(), want) {
			t.Errorf("docs page lacks %q", want)
		}
	}

	for path, item := range doc.Paths.PathItems.FromOldest() {
		for method := range item.GetOperations().FromOldest() {
			if !seen[operationKey(method, path)] {
				t.Errorf("%s is documented but not exercised by this test", operationKey(method, path))
			}
		}
	}
}

func TestDocsPageListsEveryOperation(t *testing.T) {
	doc := loadOpenAPI(t)
	e, _ := fullRouter(t)
	rec := e.do(request{Method: "GET", Path: "/api/v1/docs"})
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("docs page: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	page := rec.Body.String()
	for path, item := range doc.Paths.PathItems.FromOldest() {
		for method, op := range item.GetOperations().FromOldest() {
			if !strings.Contains(page, `id="`+op.OperationId+`"`) || !strings.Contains(page, path) {
				t.Errorf("docs page lacks %s %s", strings.ToUpper(method), path)
			}
		}
	}
	for name := range doc.Components.Schemas.KeysFromOldest() {
		if !strings.Contains(page, `id="schema-`+name+`"`) {
			t.Errorf("docs page lacks schema %s", name)
		}
	}
}

// findOperation returns the documented path template and operation that
// serve method and path; static segments win over parameters.
func findOperation(doc *v3.Document, method, path string) (string, *v3.Operation) {
	segs := strings.Split(path, "/")
	bestScore, bestPath := -1, ""
	var best *v3.Operation
	for tmpl, item := range doc.Paths.PathItems.FromOldest() {
		tsegs := strings.Split(tmpl, "/")
		if len(tsegs) != len(segs) {
			continue
		}
		score := 0
		for i, s := range tsegs {
			switch {
			case s == segs[i]:
				score++
			case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") && segs[i] != "":
			default:
				score = -1
			}
			if score < 0 {
				break
			}
		}
		if score < 0 {
			continue
		}
		op := item.GetOperations().GetOrZero(strings.ToLower(method))
		if op != nil && score > bestScore {
			bestScore, bestPath, best = score, tmpl, op
		}
	}
	return bestPath, best
}

// schemaErrors lists how v fails schema s; at names the place in v.
func schemaErrors(s *base.Schema, v any, at string) []string {
	if s == nil {
		return nil
	}
	if at == "" {
		at = "$"
	}
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, at+": "+fmt.Sprintf(format, args...)) }

	unsupported := map[string]bool{
		"not": s.Not != nil, "if": s.If != nil, "prefixItems": len(s.PrefixItems) > 0, "contains": s.Contains != nil,
		"patternProperties": s.PatternProperties != nil, "dependentSchemas": s.DependentSchemas != nil,
		"unevaluatedProperties": s.UnevaluatedProperties != nil, "discriminator": s.Discriminator != nil,
	}
	for kw, used := range unsupported {
		if used {
			fail("schema uses %s, which this validator does not implement", kw)
		}
	}

	for _, part := range s.AllOf {
		errs = append(errs, schemaErrors(part.Schema(), v, at)...)
	}
	for kw, alts := range map[string][]*base.SchemaProxy{"anyOf": s.AnyOf, "oneOf": s.OneOf} {
		if len(alts) == 0 {
			continue
		}
		matched := 0
		for _, alt := range alts {
			if len(schemaErrors(alt.Schema(), v, at)) == 0 {
				matched++
			}
		}
		if matched == 0 || kw == "oneOf" && matched > 1 {
			fail("%d alternatives of %s match", matched, kw)
		}
	}

	if len(s.Type) > 0 && !slices.ContainsFunc(s.Type, func(t string) bool { return hasType(v, t) }) {
		fail("%s is not of type %v", brief(v), s.Type)
		return errs
	}
	if len(s.Enum) > 0 {
		found := false
		for _, n := range s.Enum {
			var want any
			if err := n.Decode(&want); err == nil && reflect.DeepEqual(jsonValue(want), v) {
				found = true
			}
		}
		if !found {
			fail("%s is not one of the enum values", brief(v))
		}
	}
	if s.Const != nil {
		var want any
		if err := s.Const.Decode(&want); err != nil || !reflect.DeepEqual(jsonValue(want), v) {
			fail("%s is not the const value", brief(v))
		}
	}

	switch x := v.(type) {
	case string:
		n := int64(utf8.RuneCountInString(x))
		if s.MinLength != nil && n < *s.MinLength || s.MaxLength != nil && n > *s.MaxLength {
			fail("length %d is out of bounds", n)
		}
		if s.Pattern != "" && !regexp.MustCompile(s.Pattern).MatchString(x) {
			fail("%q does not match %s", x, s.Pattern)
		}
		switch s.Format {
		case "date-time":
			if _, err := time.Parse(time.RFC3339Nano, x); err != nil {
				fail("%q is not a date-time", x)
			}
		case "date":
			if _, err := time.Parse(time.DateOnly, x); err != nil {
				fail("%q is not a date", x)
			}
		case "uri":
			if u, err := url.Parse(x); err != nil || !u.IsAbs() {
				fail("%q is not an absolute URI", x)
			}
		}
	case float64:
		if s.Minimum != nil && x < *s.Minimum || s.Maximum != nil && x > *s.Maximum {
			fail("%v is out of bounds", x)
		}
	case []any:
		if s.MaxItems != nil && int64(len(x)) > *s.MaxItems || s.MinItems != nil && int64(len(x)) < *s.MinItems {
			fail("%d items is out of bounds", len(x))
		}
		if s.Items != nil && s.Items.IsA() && s.Items.A != nil {
			for i, item := range x {
				errs = append(errs, schemaErrors(s.Items.A.Schema(), item, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	case map[string]any:
		for _, r := range s.Required {
			if _, ok := x[r]; !ok {
				fail("required property %q is missing", r)
			}
		}
		for _, name := range slices.Sorted(maps.Keys(x)) {
			var prop *base.SchemaProxy
			if s.Properties != nil {
				prop = s.Properties.GetOrZero(name)
			}
			switch {
			case prop != nil:
				errs = append(errs, schemaErrors(prop.Schema(), x[name], at+"."+name)...)
			case s.AdditionalProperties == nil:
			case s.AdditionalProperties.IsB() && !s.AdditionalProperties.B:
				fail("property %q is not allowed", name)
			case s.AdditionalProperties.IsA() && s.AdditionalProperties.A != nil:
				errs = append(errs, schemaErrors(s.AdditionalProperties.A.Schema(), x[name], at+"."+name)...)
			}
		}
	}
	return errs
}

func hasType(v any, t string) bool {
	switch t {
	case "null":
		return v == nil
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "number":
		_, ok := v.(float64)
		return ok
	case "integer":
		f, ok := v.(float64)
		return ok && f == math.Trunc(f)
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	}
	return false
}

// jsonValue converts a decoded YAML scalar to its encoding/json form.
func jsonValue(v any) any {
	switch x := v.(type) {
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case uint64:
		return float64(x)
	}
	return v
}

func brief(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 60 {
		return string(b[:60]) + "…"
	}
	return string(b)
}

// TestSchemaValidatorCatchesMismatches makes sure the validator can fail:
// each bad instance breaks one rule of the Code or Endpoint schemas.
func TestSchemaValidatorCatchesMismatches(t *testing.T) {
	doc := loadOpenAPI(t)
	schema := func(name string) *base.Schema { return doc.Components.Schemas.GetOrZero(name).Schema() }
	good := map[string]any{
		"id": "code_01m8exw9ghcs4rt7n4aq8t43mr", "workspace_id": "ws_1", "slug": "hello", "name": "n",
		"destination_url": "https://example.com", "active": true, "created_at": "2026-11-27T16:37:07Z",
		"updated_at": "2026-11-27T16:37:07Z", "qr_url": "http://x.test/q/hello", "link_url": "http://x.test/l/hello",
	}
	if errs := schemaErrors(schema("Code"), good, ""); len(errs) > 0 {
		t.Fatalf("good code rejected: %v", errs)
	}
	for name, change := range map[string]func(m map[string]any){
		"missing field":  func(m map[string]any) { delete(m, "slug") },
		"wrong type":     func(m map[string]any) { m["active"] = "yes" },
		"bad pattern":    func(m map[string]any) { m["id"] = "ep_1" },
		"bad date-time":  func(m map[string]any) { m["created_at"] = "yesterday" },
		"relative uri":   func(m map[string]any) { m["qr_url"] = "/q/hello" },
		"null not typed": func(m map[string]any) { m["name"] = nil },
	} {
		bad := map[string]any{}
		for k, v := range good {
			bad[k] = v
		}
		change(bad)
		if errs := schemaErrors(schema("Code"), bad, ""); len(errs) == 0 {
			t.Errorf("%s: accepted", name)
		}
	}
	if errs := schemaErrors(schema("CodeCreate"), map[string]any{"destination_url": "https://x.test", "colour": "red"}, ""); len(errs) == 0 {
		t.Errorf("unknown request field accepted")
	}
	if errs := schemaErrors(schema("EndpointWithSecret"), map[string]any{"id": "ep_01m8exw9gy6m3n1b8gq6na0ywv"}, ""); len(errs) == 0 {
		t.Errorf("allOf parts not checked")
	}
	if errs := schemaErrors(schema("DeliveryState"), "lost", ""); len(errs) == 0 {
		t.Errorf("enum not checked")
	}
}

// docDeliveries is a delivery log with one finished (or running) delivery
// owned by workspace owner.
type docDeliveries struct {
	owner   string
	running bool
}

const docDeliveryID = "delivery:scan_01jq0000000000000000000000:ep_01jq0000000000000000000000"

func (d *docDeliveries) summary() deliverylog.Summary {
	started := time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	s := deliverylog.Summary{
		ID: docDeliveryID, RunID: "run-1", EventType: "scan.created", WorkspaceID: d.owner,
		EndpointID: "ep_01jq0000000000000000000000", CodeID: "code_01jq0000000000000000000000",
		ScanID: "scan_01jq0000000000000000000000", State: "failed", Attempts: 2, LastStatus: ptr(500),
		StartedAt: started, FinishedAt: started.Add(time.Hour), Failure: "gave up",
		LastAttempt: &deliverylog.Attempt{Number: 2, StartedAt: started.Add(time.Minute), StatusCode: 500, ResponseBody: "oops", Outcome: "retry"},
	}
	if d.running {
		s.State, s.FinishedAt, s.Failure, s.LastAttempt = "retrying", time.Time{}, "", nil
	}
	return s
}

func (d *docDeliveries) check(ws, id string) error {
	if ws != d.owner || id != docDeliveryID {
		return deliverylog.ErrNotFound
	}
	return nil
}

func (d *docDeliveries) List(_ context.Context, ws string, _ deliverylog.Filter, _ string, _ int) (deliverylog.Page, error) {
	return deliverylog.Page{Deliveries: []deliverylog.Summary{d.summary()}, Next: "page-2"}, nil
}

func (d *docDeliveries) Get(_ context.Context, ws, id string) (deliverylog.Delivery, error) {
	if err := d.check(ws, id); err != nil {
		return deliverylog.Delivery{}, err
	}
	s := d.summary()
	return deliverylog.Delivery{
		Summary: s, EventID: "evt_01jq0000000000000000000000",
		Payload: json.RawMessage(`{"id":"evt_01jq0000000000000000000000","type":"scan.created"}`),
		Runs: []deliverylog.Run{{
			RunID: "run-1", State: s.State, StartedAt: s.StartedAt, FinishedAt: s.FinishedAt, Failure: s.Failure,
			Attempts: []deliverylog.Attempt{
				{Number: 1, StartedAt: s.StartedAt, Duration: 80 * time.Millisecond, URL: "https://hooks.example.com/a",
					RequestHeaders: map[string]string{"Content-Type": "application/json"}, StatusCode: 0,
					Error: "timeout after 15s", Outcome: "retry"},
				{Number: 2, StartedAt: s.StartedAt.Add(time.Minute), Duration: 120 * time.Millisecond,
					StatusCode: 500, ResponseHeaders: map[string]string{"Content-Type": "text/plain"}, ResponseBody: "oops", Outcome: "retry"},
			},
		}},
	}, nil
}

func (d *docDeliveries) Replay(_ context.Context, ws, id, _ string) (deliverylog.Replayed, error) {
	if err := d.check(ws, id); err != nil {
		return deliverylog.Replayed{}, err
	}
	if d.running {
		return deliverylog.Replayed{}, deliverylog.ErrStillRunning
	}
	return deliverylog.Replayed{ID: id, RunID: "run-2"}, nil
}

func (d *docDeliveries) ReplayTo(_ context.Context, ws, id string, to deliverylog.Endpoint, _ string, dryRun bool) (deliverylog.ReplayPlan, error) {
	if err := d.check(ws, id); err != nil {
		return deliverylog.ReplayPlan{}, err
	}
	plan := deliverylog.ReplayPlan{
		DryRun: dryRun, ID: "delivery:scan_01jq0000000000000000000000:" + to.ID, EndpointID: to.ID,
		EventID: "evt_01jq0000000000000000000000", EventType: "scan.created",
		Payload: json.RawMessage(`{"id":"evt_01jq0000000000000000000000","type":"scan.created"}`),
	}
	if !dryRun {
		plan.RunID = "run-1"
	}
	return plan, nil
}

func (d *docDeliveries) ReplayEndpoint(context.Context, string, string, deliverylog.BulkFilter, string) (deliverylog.BulkResult, error) {
	return deliverylog.BulkResult{Replayed: 3, Failed: 1}, nil
}

func (d *docDeliveries) StartBulkReplay(_ context.Context, _ string, r deliverylog.BulkReplay, _ string) (deliverylog.BulkReplayAnswer, error) {
	id := "delivery:scan_01jq0000000000000000000000:ep_01jq0000000000000000000000"
	item := deliverylog.BulkReplayItem{ID: id, Target: id}
	if r.To.ID != "" {
		item.Target = "delivery:scan_01jq0000000000000000000000:" + r.To.ID
	}
	answer := deliverylog.BulkReplayAnswer{DryRun: r.DryRun, Accepted: 1, Rate: 20, Sample: []deliverylog.BulkReplayItem{item},
		AcceptedAt: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
	if r.DryRun {
		answer.Sample[0].Plan = &deliverylog.ReplayPlan{DryRun: true, ID: item.Target, EndpointID: "ep_01jq0000000000000000000000",
			EventID: "evt_01jq0000000000000000000000", EventType: "scan.created",
			Payload: json.RawMessage(`{"id":"evt_01jq0000000000000000000000","type":"scan.created"}`)}
	} else {
		answer.ID = "rpl_01m8f0000000000000000000"
	}
	return answer, nil
}

func (d *docDeliveries) RetryNow(_ context.Context, ws, id string) error {
	if err := d.check(ws, id); err != nil {
		return err
	}
	if !d.running {
		return deliverylog.ErrNotRunning
	}
	return nil
}

func (d *docDeliveries) SendTest(_ context.Context, ep deliverylog.Endpoint) (string, error) {
	return "test:evt_01jq0000000000000000000000:" + ep.ID, nil
}
