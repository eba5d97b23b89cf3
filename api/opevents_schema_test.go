package api_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scanforge/scanforge/webhook"
)

// The operational events' published schemas and the Go types that build
// them (webhook.EndpointDisabled, …) have the same data fields, the
// non-omitempty ones required; bodies built from the Go types validate,
// with every field and with only the required ones.
func TestOperationalEventSchemasMatchGoTypes(t *testing.T) {
	e := newEnv(t, "sqlite")
	at := time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	for typ, full := range map[string]any{
		webhook.TypeEndpointDisabled: webhook.EndpointDisabled{EndpointID: "ep_1", URL: "https://h.example.com", State: "gone",
			Reason: "410", FailingSince: &at, LastStatus: 410, LastError: "gone"},
		webhook.TypeEndpointEnabled: webhook.EndpointEnabled{EndpointID: "ep_1", URL: "https://h.example.com"},
		webhook.TypeDeliveryGaveUp: webhook.DeliveryGaveUp{DeliveryID: "delivery:scan_1:ep_1", EndpointID: "ep_1", EventID: "evt_1",
			Attempts: 21, LastStatus: 503, LastError: "x", Message: "gave up"},
		webhook.TypeEndpointPausedBacklog: webhook.EndpointPausedBacklog{EndpointID: "ep_1", URL: "https://h.example.com", State: "paused",
			Reason: "r", Parked: 1001, Threshold: 1000, OldestDeliveryID: "delivery:scan_1:ep_1", OldestScanID: "scan_1", OldestScanAt: &at},
	} {
		sch, doc := publishedSchema(t, e, typ)
		defs, _ := doc["$defs"].(map[string]any)
		dataRef := doc["properties"].(map[string]any)["data"].(map[string]any)["$ref"].(string)
		data := defs[strings.TrimPrefix(dataRef, "#/$defs/")].(map[string]any)
		props := data["properties"].(map[string]any)
		var required []string
		for _, r := range data["required"].([]any) {
			required = append(required, r.(string))
		}
		goType := reflect.TypeOf(full)
		var fields []string
		for i := range goType.NumField() {
			name, opts, _ := strings.Cut(goType.Field(i).Tag.Get("json"), ",")
			fields = append(fields, name)
			if _, ok := props[name]; !ok {
				t.Errorf("%s: data.%s (Go %s) is not in the schema", typ, name, goType.Field(i).Name)
			}
			if omit := strings.Contains(opts, "omitempty"); omit == slices.Contains(required, name) {
				t.Errorf("%s: data.%s omitempty %v but required %v", typ, name, omit, !omit)
			}
		}
		for name := range props {
			if !slices.Contains(fields, name) {
				t.Errorf("%s: data.%s is in the schema but not in Go %s", typ, name, goType.Name())
			}
		}
		raw, _ := json.Marshal(full)
		var minimal map[string]any
		_ = json.Unmarshal(raw, &minimal)
		for name := range minimal {
			if !slices.Contains(required, name) {
				delete(minimal, name) // as omitempty leaves it out
			}
		}
		for _, v := range []any{full, minimal} {
			raw, _ := json.Marshal(v)
			body, _ := json.Marshal(webhook.Event{ID: "evt_01m8f0aq2r5k7d1s3x9v4b6n8m", Type: typ, APIVersion: webhook.APIVersion, CreatedAt: at, Data: raw})
			if err := validate(t, sch, body); err != nil {
				t.Errorf("%s: %s does not validate: %v", typ, body, err)
			}
		}
		wrong, _ := json.Marshal(webhook.Event{ID: "evt_01m8f0aq2r5k7d1s3x9v4b6n8m", Type: "scan.created", APIVersion: webhook.APIVersion, CreatedAt: at, Data: json.RawMessage(`{}`)})
		if validate(t, sch, wrong) == nil {
			t.Errorf("%s: the schema accepts another event type", typ)
		}
	}
}
