package api

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/gin-gonic/gin"
)

// openAPIDocument is the OpenAPI 3.1 description of the management API,
// written by hand. openapi_test.go keeps it true: every /api/v1 route is in
// it and every operation in it is a route, and real answers match its
// schemas.
//
//go:embed openapi.json
var openAPIDocument []byte

// OpenAPIDocument returns the OpenAPI 3.1 description of the management API.
func OpenAPIDocument() []byte { return slices.Clone(openAPIDocument) }

// Paths of the description, outside the authenticated group: reading the
// API's description needs no key.
const (
	openAPIPath = "/api/v1/openapi.json"
	docsPath    = "/api/v1/docs"
)

// mountOpenAPI serves the description as JSON and as a page rendered here,
// so it needs no script or stylesheet from elsewhere.
func mountOpenAPI(r *gin.Engine, baseURL string) {
	page, err := renderDocsPage(openAPIDocument)
	if err == nil {
		err = mountEventSchemas(r, openAPIDocument, baseURL)
	}
	if err != nil {
		// The file is compiled in and tested; this is a build defect.
		panic("api: embedded openapi.json: " + err.Error())
	}
	r.GET(openAPIPath, func(c *gin.Context) {
		c.Header("Cache-Control", "no-cache")
		c.Data(http.StatusOK, "application/json", openAPIDocument)
	})
	r.GET(docsPath, func(c *gin.Context) {
		c.Header("Cache-Control", "no-cache")
		c.Header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
		c.Data(http.StatusOK, "text/html; charset=utf-8", page)
	})
}

// The parts of an OpenAPI document the page shows.
type oasDocument struct {
	Info struct {
		Title, Version, Description string
	}
	Tags       []struct{ Name, Description string }
	Paths      map[string]map[string]json.RawMessage
	Webhooks   map[string]map[string]json.RawMessage
	Components struct {
		Schemas    map[string]oasSchema
		Parameters map[string]oasParameter
		Responses  map[string]oasResponse
	}
}

type oasOperation struct {
	OperationID string `json:"operationId"`
	Summary     string
	Description string
	Tags        []string
	Parameters  []oasParameter
	RequestBody *struct {
		Required bool
		Content  map[string]struct{ Schema oasSchema }
	} `json:"requestBody"`
	Responses map[string]oasResponse
}

type oasParameter struct {
	Ref         string `json:"$ref"`
	Name, In    string
	Required    bool
	Description string
	Schema      oasSchema
}

type oasResponse struct {
	Ref         string `json:"$ref"`
	Description string
	Content     map[string]struct{ Schema oasSchema }
}

type oasSchema struct {
	Ref         string `json:"$ref"`
	Type        any    // a string or a list of strings
	Description string
	Enum        []any
	Const       any
	Items       *oasSchema
	AllOf       []oasSchema `json:"allOf"`
	Properties  map[string]oasSchema
	Required    []string
}

// summary is a schema in one line: "Code", "array of Scan", "string | null".
func (s oasSchema) summary() string {
	switch {
	case s.Ref != "":
		return strings.TrimPrefix(s.Ref, "#/components/schemas/")
	case s.Const != nil:
		return fmt.Sprintf("%q", fmt.Sprint(s.Const))
	case len(s.AllOf) > 0:
		parts := make([]string, len(s.AllOf))
		for i, p := range s.AllOf {
			parts[i] = p.summary()
		}
		return strings.Join(parts, " + ")
	}
	var types []string
	switch t := s.Type.(type) {
	case string:
		types = []string{t}
	case []any:
		for _, v := range t {
			types = append(types, fmt.Sprint(v))
		}
	}
	for i, t := range types {
		if t == "array" && s.Items != nil {
			types[i] = "array of " + s.Items.summary()
		}
	}
	out := strings.Join(types, " | ")
	if out == "" {
		out = "any"
	}
	if len(s.Enum) > 0 {
		vals := make([]string, len(s.Enum))
		for i, v := range s.Enum {
			vals[i] = fmt.Sprint(v)
		}
		out += ": " + strings.Join(vals, ", ")
	}
	return out
}

// Shapes the template renders.
type docsPage struct {
	Title, Version, Description string
	Groups                      []docsGroup
	Webhooks                    []docsOperation
	Schemas                     []docsSchema
}

type docsGroup struct {
	Name, Description string
	Operations        []docsOperation
}

type docsOperation struct {
	Anchor, Method, Path, Summary, Description string
	Schema                                     string // a webhook's published JSON Schema, relative to the page
	Parameters                                 []docsField
	Body                                       string
	Responses                                  []docsField
}

type docsField struct{ Name, Kind, Type, Description string }

type docsSchema struct {
	Name, Description, Shape string
	Fields                   []docsField
}

var methodOrder = []string{"get", "post", "put", "patch", "delete"}

func renderDocsPage(raw []byte) ([]byte, error) {
	page, err := buildDocsPage(raw)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := docsTemplate.Execute(&buf, page); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// buildDocsPage is what the docs page and the Markdown reference show of
// the OpenAPI document raw.
func buildDocsPage(raw []byte) (docsPage, error) {
	var doc oasDocument
	if err := json.Unmarshal(raw, &doc); err != nil {
		return docsPage{}, err
	}
	page := docsPage{Title: doc.Info.Title, Version: doc.Info.Version, Description: doc.Info.Description}
	groups := map[string]*docsGroup{}
	for _, t := range doc.Tags {
		page.Groups = append(page.Groups, docsGroup{Name: t.Name, Description: t.Description})
	}
	for i := range page.Groups {
		groups[page.Groups[i].Name] = &page.Groups[i]
	}

	paths := make([]string, 0, len(doc.Paths))
	for p := range doc.Paths {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, path := range paths {
		item := doc.Paths[path]
		var shared []oasParameter
		if raw, ok := item["parameters"]; ok {
			if err := json.Unmarshal(raw, &shared); err != nil {
				return docsPage{}, fmt.Errorf("%s: parameters: %w", path, err)
			}
		}
		for _, method := range methodOrder {
			raw, ok := item[method]
			if !ok {
				continue
			}
			d, op, err := doc.operation(path, method, raw, shared)
			if err != nil {
				return docsPage{}, err
			}
			tag := "Other"
			if len(op.Tags) > 0 {
				tag = op.Tags[0]
			}
			g, ok := groups[tag]
			if !ok {
				page.Groups = append(page.Groups, docsGroup{Name: tag})
				g = &page.Groups[len(page.Groups)-1]
				groups = reindex(page.Groups)
			}
			g.Operations = append(g.Operations, d)
		}
	}

	// A tag with no path operations (Webhooks) is shown by its own section.
	page.Groups = slices.DeleteFunc(page.Groups, func(g docsGroup) bool { return len(g.Operations) == 0 })

	hooks := make([]string, 0, len(doc.Webhooks))
	for name := range doc.Webhooks {
		hooks = append(hooks, name)
	}
	sort.Strings(hooks)
	for _, name := range hooks {
		d, _, err := doc.operation(name, "post", doc.Webhooks[name]["post"], nil)
		if err != nil {
			return docsPage{}, err
		}
		d.Anchor = "webhook-" + name
		d.Schema = strings.TrimPrefix(EventSchemaPath(name), "/api/v1/")
		page.Webhooks = append(page.Webhooks, d)
	}

	names := make([]string, 0, len(doc.Components.Schemas))
	for n := range doc.Components.Schemas {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s := doc.Components.Schemas[n]
		ds := docsSchema{Name: n, Description: s.Description, Shape: s.summary()}
		props := s.Properties
		required := s.Required
		for _, part := range s.AllOf { // inline parts of an allOf add fields
			for k, v := range part.Properties {
				if props == nil {
					props = map[string]oasSchema{}
				}
				props[k] = v
			}
			required = append(required, part.Required...)
		}
		keys := make([]string, 0, len(props))
		for k := range props {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			kind := ""
			if slices.Contains(required, k) {
				kind = "required"
			}
			ds.Fields = append(ds.Fields, docsField{Name: k, Kind: kind, Type: props[k].summary(), Description: props[k].Description})
		}
		page.Schemas = append(page.Schemas, ds)
	}

	return page, nil
}

// operation is one operation of doc as the page shows it.
func (doc *oasDocument) operation(path, method string, raw json.RawMessage, shared []oasParameter) (docsOperation, oasOperation, error) {
	var op oasOperation
	if err := json.Unmarshal(raw, &op); err != nil {
		return docsOperation{}, op, fmt.Errorf("%s %s: %w", method, path, err)
	}
	d := docsOperation{Anchor: op.OperationID, Method: strings.ToUpper(method), Path: path,
		Summary: op.Summary, Description: op.Description}
	for _, p := range append(slices.Clone(shared), op.Parameters...) {
		if p.Ref != "" {
			p = doc.Components.Parameters[strings.TrimPrefix(p.Ref, "#/components/parameters/")]
		}
		kind := p.In
		if p.Required {
			kind += ", required"
		}
		d.Parameters = append(d.Parameters, docsField{Name: p.Name, Kind: kind, Type: p.Schema.summary(), Description: p.Description})
	}
	if op.RequestBody != nil {
		for ctype, c := range op.RequestBody.Content {
			d.Body = ctype + ": " + c.Schema.summary()
			if !op.RequestBody.Required {
				d.Body += " (optional)"
			}
		}
	}
	codes := make([]string, 0, len(op.Responses))
	for code := range op.Responses {
		codes = append(codes, code)
	}
	sort.Strings(codes)
	for _, code := range codes {
		r := op.Responses[code]
		if r.Ref != "" {
			r = doc.Components.Responses[strings.TrimPrefix(r.Ref, "#/components/responses/")]
		}
		var types []string
		for ctype, c := range r.Content {
			types = append(types, ctype+": "+c.Schema.summary())
		}
		sort.Strings(types)
		d.Responses = append(d.Responses, docsField{Name: code, Type: strings.Join(types, "; "), Description: r.Description})
	}
	return d, op, nil
}

func reindex(gs []docsGroup) map[string]*docsGroup {
	m := make(map[string]*docsGroup, len(gs))
	for i := range gs {
		m[gs[i].Name] = &gs[i]
	}
	return m
}

var docsTemplate = template.Must(template.New("docs").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
code,.path{font-family:ui-monospace,monospace}
.op{border:1px solid #ddd;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}
.m{display:inline-block;min-width:4.5rem;font-weight:bold}
.GET{color:#0a6}.POST{color:#06c}.PATCH{color:#a60}.DELETE{color:#c22}
table{border-collapse:collapse;width:100%;margin:.5rem 0}td,th{border-top:1px solid #eee;padding:.2rem .4rem;text-align:left;vertical-align:top}
.desc{white-space:pre-line}
</style></head><body>
<h1>{{.Title}} <small>{{.Version}}</small></h1>
<p class="desc">{{.Description}}</p>
<p>Machine-readable: <a href="openapi.json">openapi.json</a> (OpenAPI 3.1).</p>
<nav><ul>{{range .Groups}}<li><a href="#tag-{{.Name}}">{{.Name}}</a></li>{{end}}{{if .Webhooks}}<li><a href="#webhooks">Webhooks</a></li>{{end}}<li><a href="#schemas">Schemas</a></li></ul></nav>
{{range .Groups}}<h2 id="tag-{{.Name}}">{{.Name}}</h2><p>{{.Description}}</p>
{{range .Operations}}<div class="op" id="{{.Anchor}}">
<p><span class="m {{.Method}}">{{.Method}}</span> <span class="path">{{.Path}}</span> — {{.Summary}}</p>
{{if .Description}}<p class="desc">{{.Description}}</p>{{end}}
{{if .Parameters}}<table><tr><th>Parameter</th><th>In</th><th>Type</th><th></th></tr>
{{range .Parameters}}<tr><td><code>{{.Name}}</code></td><td>{{.Kind}}</td><td><code>{{.Type}}</code></td><td>{{.Description}}</td></tr>{{end}}</table>{{end}}
{{if .Body}}<p>Body: <code>{{.Body}}</code></p>{{end}}
<table><tr><th>Status</th><th>Answer</th><th></th></tr>
{{range .Responses}}<tr><td>{{.Name}}</td><td><code>{{.Type}}</code></td><td>{{.Description}}</td></tr>{{end}}</table>
</div>{{end}}{{end}}
{{if .Webhooks}}<h2 id="webhooks">Webhooks</h2><p>Requests ScanForge sends to your endpoints.</p>
{{range .Webhooks}}<div class="op" id="{{.Anchor}}">
<p><span class="m POST">POST</span> <b>{{.Path}}</b> — {{.Summary}}</p>
{{if .Description}}<p class="desc">{{.Description}}</p>{{end}}
{{if .Parameters}}<table><tr><th>Header</th><th>In</th><th>Type</th><th></th></tr>
{{range .Parameters}}<tr><td><code>{{.Name}}</code></td><td>{{.Kind}}</td><td><code>{{.Type}}</code></td><td>{{.Description}}</td></tr>{{end}}</table>{{end}}
{{if .Body}}<p>Body: <code>{{.Body}}</code>; JSON Schema: <a href="{{.Schema}}">{{.Schema}}</a></p>{{end}}
<table><tr><th>Answer</th><th></th><th></th></tr>
{{range .Responses}}<tr><td>{{.Name}}</td><td><code>{{.Type}}</code></td><td>{{.Description}}</td></tr>{{end}}</table>
</div>{{end}}{{end}}
<h2 id="schemas">Schemas</h2>
{{range .Schemas}}<div class="op" id="schema-{{.Name}}"><p><b>{{.Name}}</b> <code>{{.Shape}}</code></p>
{{if .Description}}<p>{{.Description}}</p>{{end}}
{{if .Fields}}<table>{{range .Fields}}<tr><td><code>{{.Name}}</code></td><td>{{.Kind}}</td><td><code>{{.Type}}</code></td><td>{{.Description}}</td></tr>{{end}}</table>{{end}}
</div>{{end}}
</body></html>
`))
