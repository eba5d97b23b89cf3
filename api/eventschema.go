package api

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// publishedEvents are the events whose JSON Schema is served at
// /api/v1/schemas/TYPE.json, each made from a component of openapi.json,
// so the document's webhooks section and the published schemas agree.
var publishedEvents = []struct{ Type, Component string }{
	{"scan.created", "ScanCreatedEvent"},
	{"test", "TestEvent"},
	{"endpoint.disabled", "EndpointDisabledEvent"},
	{"endpoint.enabled", "EndpointEnabledEvent"},
	{"delivery.gave_up", "DeliveryGaveUpEvent"},
	{"endpoint.paused_backlog", "EndpointPausedBacklogEvent"},
}

const (
	eventSchemaPrefix = "/api/v1/schemas/"
	schemaRefPrefix   = "#/components/schemas/"
	jsonSchemaDialect = "https://json-schema.org/draft/2020-12/schema"
)

// EventSchemaPath is where the JSON Schema of an event type is served.
func EventSchemaPath(eventType string) string { return eventSchemaPrefix + eventType + ".json" }

// eventJSONSchema returns a standalone JSON Schema (draft 2020-12) of the
// component of doc: the component itself, with every schema it refers to
// copied under $defs. baseURL (may be "") makes its $id.
func eventJSONSchema(doc []byte, eventType, component, baseURL string) ([]byte, error) {
	var parsed struct {
		Components struct {
			Schemas map[string]json.RawMessage
		}
	}
	if err := json.Unmarshal(doc, &parsed); err != nil {
		return nil, err
	}
	load := func(name string) (map[string]any, error) {
		raw, ok := parsed.Components.Schemas[name]
		if !ok {
			return nil, fmt.Errorf("no schema %q in components", name)
		}
		var s map[string]any
		return s, json.Unmarshal(raw, &s)
	}
	root, err := load(component)
	if err != nil {
		return nil, err
	}
	defs := map[string]any{}
	queue := relink(root)
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		if _, done := defs[name]; done {
			continue
		}
		s, err := load(name)
		if err != nil {
			return nil, err
		}
		defs[name] = s
		queue = append(queue, relink(s)...)
	}
	root["$schema"] = jsonSchemaDialect
	if baseURL != "" {
		root["$id"] = baseURL + EventSchemaPath(eventType)
	}
	root["title"] = eventType
	if len(defs) > 0 {
		root["$defs"] = defs
	}
	return json.MarshalIndent(root, "", "  ")
}

// relink points the component references in v at $defs and returns the
// names it found.
func relink(v any) []string {
	var names []string
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			if ref, ok := child.(string); ok && k == "$ref" && strings.HasPrefix(ref, schemaRefPrefix) {
				name := strings.TrimPrefix(ref, schemaRefPrefix)
				v[k] = "#/$defs/" + name
				names = append(names, name)
				continue
			}
			names = append(names, relink(child)...)
		}
	case []any:
		for _, child := range v {
			names = append(names, relink(child)...)
		}
	}
	return names
}

// mountEventSchemas serves the published event schemas: public, and
// cacheable, since they change only with the binary.
func mountEventSchemas(r *gin.Engine, doc []byte, baseURL string) error {
	for _, ev := range publishedEvents {
		body, err := eventJSONSchema(doc, ev.Type, ev.Component, baseURL)
		if err != nil {
			return fmt.Errorf("schema of %s: %w", ev.Type, err)
		}
		sum := sha256.Sum256(body)
		etag := `"` + hex.EncodeToString(sum[:8]) + `"`
		r.GET(EventSchemaPath(ev.Type), func(c *gin.Context) {
			c.Header("Cache-Control", "public, max-age=3600")
			c.Header("ETag", etag)
			if c.GetHeader("If-None-Match") == etag {
				c.Status(http.StatusNotModified)
				return
			}
			c.Data(http.StatusOK, "application/schema+json", body)
		})
	}
	return nil
}
