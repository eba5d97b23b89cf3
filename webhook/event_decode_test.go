package webhook

import (
	"errors"
	"testing"
	"time"
)

func TestParseEventScanCreated(t *testing.T) {
	body := []byte(`{"id":"evt_1","type":"scan.created","api_version":"2026-11-01",
		"created_at":"2026-01-01T00:00:00Z","new_field":true,
		"data":{"scan_id":"scn_1","code":{"id":"cod_1","slug":"menu","name":"Menu"},
		"timestamp":"2026-01-01T00:00:00Z","source":"qr",
		"geo":{"country":"Switzerland","country_code":"CH","latitude":47.37,"longitude":null},
		"device":{"type":"mobile","os":"iOS"},"bot":{"is_bot":true,"reason":"ua"}}}`)
	e, err := ParseEvent(body)
	if err != nil {
		t.Fatal(err)
	}
	if e.ID != "evt_1" || e.Type != TypeScanCreated || e.APIVersion != APIVersion ||
		!e.CreatedAt.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("event = %+v", e)
	}
	d, err := e.ScanCreated()
	if err != nil {
		t.Fatal(err)
	}
	if d.ScanID != "scn_1" || d.Code.Slug != "menu" || d.Source != "qr" || d.Device.Type != "mobile" ||
		!d.Bot.IsBot || d.Bot.Reason != "ua" || d.Geo.CountryCode != "CH" {
		t.Fatalf("data = %+v", d)
	}
	if d.Geo.Latitude == nil || *d.Geo.Latitude != 47.37 || d.Geo.Longitude != nil {
		t.Fatalf("coordinates = %v, %v; want 47.37 and unknown", d.Geo.Latitude, d.Geo.Longitude)
	}
}

func TestParseEventErrors(t *testing.T) {
	for _, body := range []string{``, `not json`, `[]`, `{}`, `{"id":"evt_1"}`, `{"type":"test"}`} {
		if _, err := ParseEvent([]byte(body)); !errors.Is(err, ErrInvalidEvent) {
			t.Errorf("ParseEvent(%q) = %v, want %v", body, err, ErrInvalidEvent)
		}
	}
	if _, err := (Event{ID: "evt_1", Type: TypeTest}).ScanCreated(); !errors.Is(err, ErrUnexpectedEventType) {
		t.Errorf("ScanCreated of a test event = %v, want %v", err, ErrUnexpectedEventType)
	}
	bad := Event{ID: "evt_1", Type: TypeScanCreated, Data: []byte(`{"scan_id":5}`)}
	if _, err := bad.ScanCreated(); !errors.Is(err, ErrInvalidEvent) {
		t.Errorf("ScanCreated of bad data = %v, want %v", err, ErrInvalidEvent)
	}
}
