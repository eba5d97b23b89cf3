package destination_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/scanforge/scanforge/internal/destination"
	"github.com/scanforge/scanforge/webhook"
)

func decodeData(t *testing.T, payload []byte) map[string]any {
	t.Helper()
	var ev struct {
		ID   string
		Type string
		Data map[string]any
	}
	if err := json.Unmarshal(payload, &ev); err != nil {
		t.Fatalf("%v: %s", err, payload)
	}
	if ev.ID == "" || ev.Type != webhook.TypeScanCreated {
		t.Fatalf("event lost its id or type: %s", payload)
	}
	return ev.Data
}

func TestPayloadForSendsEverythingByDefault(t *testing.T) {
	full := event(t, webhook.TypeScanCreated, fullScan())
	for _, f := range []destination.Fields{{}, {Geo: destination.GeoFull, Exclude: []string{}}} {
		got, err := destination.PayloadFor(f, full)
		if err != nil || !bytes.Equal(got, full) {
			t.Errorf("PayloadFor(%+v) changed the event: %s, %v", f, got, err)
		}
	}
}

func TestPayloadForExcludesFields(t *testing.T) {
	full := event(t, webhook.TypeScanCreated, fullScan())
	got, err := destination.PayloadFor(destination.Fields{Exclude: []string{"user_agent", "referrer", "geo.city", "device.os_version", "bot.reason"}}, full)
	if err != nil {
		t.Fatal(err)
	}
	data := decodeData(t, got)
	for _, gone := range []string{"user_agent", "referrer"} {
		if _, ok := data[gone]; ok {
			t.Errorf("%s still sent", gone)
		}
	}
	geo := data["geo"].(map[string]any)
	if _, ok := geo["city"]; ok || geo["country"] != "Portugal" || geo["latitude"] != 38.71667 {
		t.Errorf("geo = %v; want everything but the city", geo)
	}
	if dev := data["device"].(map[string]any); dev["os"] != "iOS" || dev["os_version"] != nil {
		t.Errorf("device = %v", dev)
	}
	if strings.Contains(string(got), "iPhone") || strings.Contains(string(got), "menu.example") {
		t.Errorf("the filtered event still holds the user agent or referrer: %s", got)
	}
	// The event keeps its order: the filtered body reads like the full one.
	if !strings.HasPrefix(string(got), `{"id":"evt_`) || !strings.Contains(string(got), `"data":{"scan_id":"scan_`) {
		t.Errorf("member order changed: %s", got)
	}
}

func TestPayloadForGeoLevels(t *testing.T) {
	full := event(t, webhook.TypeScanCreated, fullScan())
	for _, c := range []struct {
		level string
		want  []string
	}{
		{destination.GeoCity, []string{"city", "country", "country_code", "region", "timezone"}},
		{destination.GeoCountry, []string{"country", "country_code"}},
	} {
		got, err := destination.PayloadFor(destination.Fields{Geo: c.level}, full)
		if err != nil {
			t.Fatal(err)
		}
		geo := decodeData(t, got)["geo"].(map[string]any)
		if len(geo) != len(c.want) {
			t.Errorf("geo %s sent %v, want keys %v", c.level, geo, c.want)
		}
		for _, k := range c.want {
			if _, ok := geo[k]; !ok {
				t.Errorf("geo %s lacks %s: %v", c.level, k, geo)
			}
		}
	}
	got, err := destination.PayloadFor(destination.Fields{Geo: destination.GeoNone}, full)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := decodeData(t, got)["geo"]; ok || strings.Contains(string(got), "Lisbon") {
		t.Errorf("geo none still sends geo: %s", got)
	}
}

func TestPayloadForRoundsCoordinates(t *testing.T) {
	full := event(t, webhook.TypeScanCreated, fullScan())
	for decimals, want := range map[int][2]float64{2: {38.72, -9.13}, 0: {39, -9}} {
		got, err := destination.PayloadFor(destination.Fields{RoundCoordinates: ptr(decimals)}, full)
		if err != nil {
			t.Fatal(err)
		}
		geo := decodeData(t, got)["geo"].(map[string]any)
		if geo["latitude"] != want[0] || geo["longitude"] != want[1] {
			t.Errorf("rounded to %d: %v, %v; want %v", decimals, geo["latitude"], geo["longitude"], want)
		}
	}
	unknown := fullScan()
	unknown.Geo.Latitude, unknown.Geo.Longitude = nil, nil
	got, err := destination.PayloadFor(destination.Fields{RoundCoordinates: ptr(2)}, event(t, webhook.TypeScanCreated, unknown))
	if err != nil || !strings.Contains(string(got), `"latitude":null`) {
		t.Errorf("unknown coordinates: %s, %v; want null kept", got, err)
	}
}

func TestPayloadForLeavesOtherEventsAlone(t *testing.T) {
	test := event(t, webhook.TypeTest, map[string]string{"message": "hi", "user_agent": "kept: not scan data"})
	got, err := destination.PayloadFor(destination.Fields{Exclude: []string{"user_agent"}, Geo: destination.GeoNone}, test)
	if err != nil || !bytes.Equal(got, test) {
		t.Errorf("test event changed: %s, %v", got, err)
	}
	if _, err := destination.PayloadFor(destination.Fields{Geo: destination.GeoNone}, []byte("[1]")); err == nil {
		t.Error("a body that is no event was filtered")
	}
}

func TestFieldsValidate(t *testing.T) {
	got, err := destination.Fields{Exclude: []string{"user_agent", "referrer", "user_agent"}}.Validate()
	if err != nil || got.Geo != destination.GeoFull || strings.Join(got.Exclude, ",") != "referrer,user_agent" {
		t.Errorf("Validate = %+v, %v; want sorted unique excludes and geo full", got, err)
	}
	for _, c := range []struct {
		f     destination.Fields
		field string
		says  string
	}{
		{destination.Fields{Exclude: []string{"scan.user_agent"}}, "fields.exclude", `unknown field "scan.user_agent"`},
		{destination.Fields{Exclude: []string{"scan_id"}}, "fields.exclude", "cannot be excluded"},
		{destination.Fields{Exclude: []string{"code.id"}}, "fields.exclude", "cannot be excluded"},
		{destination.Fields{Geo: "street"}, "fields.geo", "must be full, city, country or none"},
		{destination.Fields{RoundCoordinates: ptr(7)}, "fields.round_coordinates", "from 0 to 6"},
		{destination.Fields{RoundCoordinates: ptr(-1)}, "fields.round_coordinates", "from 0 to 6"},
		{destination.Fields{Geo: "city", RoundCoordinates: ptr(2)}, "fields.round_coordinates", "only with geo full"},
	} {
		_, err := c.f.Validate()
		var fe *destination.FieldError
		if !errors.As(err, &fe) || fe.Field != c.field || !strings.Contains(fe.Message, c.says) {
			t.Errorf("Validate(%+v) = %v; want %s: …%s…", c.f, err, c.field, c.says)
		}
	}
	for _, name := range destination.Excludable() {
		if _, err := (destination.Fields{Exclude: []string{name}}).Validate(); err != nil {
			t.Errorf("excludable %q refused: %v", name, err)
		}
	}
}

func TestFieldsStoredAsJSON(t *testing.T) {
	if v, err := (destination.Fields{Geo: destination.GeoFull}).Value(); err != nil || v != "" {
		t.Errorf("the default policy is stored as %q, %v; want empty", v, err)
	}
	f := destination.Fields{Exclude: []string{"user_agent"}, Geo: destination.GeoFull, RoundCoordinates: ptr(2)}
	v, err := f.Value()
	if err != nil {
		t.Fatal(err)
	}
	var back destination.Fields
	if err := back.Scan([]byte(v.(string))); err != nil || back.Exclude[0] != "user_agent" || *back.RoundCoordinates != 2 {
		t.Errorf("read back %+v, %v", back, err)
	}
	if err := back.Scan(nil); err != nil || !back.SendsEverything() {
		t.Errorf("NULL read as %+v, %v", back, err)
	}
}
