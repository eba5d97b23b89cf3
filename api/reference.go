package api

import (
	"bytes"
	"strings"
	"text/template"
)

// APIReference renders the embedded OpenAPI document as Markdown:
// docs/api-reference.md is its output, kept current by a test, so the
// reference is generated rather than written by hand.
func APIReference() ([]byte, error) {
	page, err := buildDocsPage(openAPIDocument)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := referenceTemplate.Execute(&buf, page); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// cell makes s fit a Markdown table cell.
func cell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return strings.ReplaceAll(s, "|", `\|`)
}

var referenceTemplate = template.Must(template.New("reference").Funcs(template.FuncMap{"cell": cell}).Parse(
	`# API reference: {{.Title}} {{.Version}}

<!-- Generated from api/openapi.json by api.APIReference; do not edit. Regenerate with: go test ./api/ -run TestAPIReferenceIsCurrent -update -->

{{.Description}}
{{range .Groups}}
## {{.Name}}
{{if .Description}}
{{.Description}}
{{end}}{{range .Operations}}
### ` + "`{{.Method}} {{.Path}}`" + ` — {{.Summary}}
{{if .Description}}
{{.Description}}
{{end}}{{if .Parameters}}
| Parameter | In | Type | Description |
|---|---|---|---|
{{range .Parameters}}| ` + "`{{.Name}}`" + ` | {{.Kind}} | {{cell .Type}} | {{cell .Description}} |
{{end}}{{end}}{{if .Body}}
Body: {{.Body}}
{{end}}{{if .Responses}}
| Answer | Type | Description |
|---|---|---|
{{range .Responses}}| {{.Name}} | {{cell .Type}} | {{cell .Description}} |
{{end}}{{end}}{{end}}{{end}}{{if .Webhooks}}
## Webhooks
{{range .Webhooks}}
### ` + "`{{.Path}}`" + ` — {{.Summary}}
{{if .Description}}
{{.Description}}
{{end}}{{if .Schema}}
JSON Schema: ` + "`/api/v1/{{.Schema}}`" + `
{{end}}{{if .Parameters}}
| Header | Type | Description |
|---|---|---|
{{range .Parameters}}| ` + "`{{.Name}}`" + ` | {{cell .Type}} | {{cell .Description}} |
{{end}}{{end}}{{if .Body}}
Body: {{.Body}}
{{end}}{{end}}{{end}}
## Schemas
{{range .Schemas}}
### {{.Name}}
{{if .Description}}
{{.Description}}
{{end}}{{if .Fields}}
| Field | | Type | Description |
|---|---|---|---|
{{range .Fields}}| ` + "`{{.Name}}`" + ` | {{.Kind}} | {{cell .Type}} | {{cell .Description}} |
{{end}}{{else}}
{{.Shape}}
{{end}}{{end}}`))
