package destination

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/scanforge/scanforge/webhook"
)

// Fields is an endpoint's field privacy policy: which fields of a
// scan.created event's data it receives. The zero value sends everything.
type Fields struct {
	// Exclude names data fields never to send, as paths in data:
	// "user_agent", "referrer", "geo.city", "device" (see Excludable).
	Exclude []string `json:"exclude"`
	// Geo is how much of data.geo to send: GeoFull (the default), GeoCity
	// (no coordinates), GeoCountry (country and country_code only) or
	// GeoNone (no geo object).
	Geo string `json:"geo"`
	// RoundCoordinates, when set, rounds latitude and longitude to that
	// many decimals (2 is about 1 km); it needs Geo full.
	RoundCoordinates *int `json:"round_coordinates"`
}

// Geo levels of Fields.Geo.
const (
	GeoFull    = "full"
	GeoCity    = "city"
	GeoCountry = "country"
	GeoNone    = "none"
)

// MaxRoundCoordinates bounds Fields.RoundCoordinates: six decimals is
// already finer than any GeoIP position.
const MaxRoundCoordinates = 6

// Excludable lists the names Fields.Exclude accepts. scan_id, code.id and
// timestamp are not among them: every receiver needs them to tell scans
// apart.
func Excludable() []string {
	return []string{
		"code.slug", "code.name", "source",
		"geo", "geo.country", "geo.country_code", "geo.region", "geo.city",
		"geo.latitude", "geo.longitude", "geo.timezone",
		"device", "device.type", "device.browser", "device.browser_version", "device.os", "device.os_version",
		"referrer", "user_agent", "destination_url", "bot", "bot.reason",
	}
}

// geoKept are the members of data.geo each level keeps.
var geoKept = map[string][]string{
	GeoCity:    {"country", "country_code", "region", "city", "timezone"},
	GeoCountry: {"country", "country_code"},
}

// FieldError says which part of a policy is wrong; the API answers it 422.
type FieldError struct {
	Field   string // e.g. "fields.exclude"
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Validate checks f and returns it normalised: excludes sorted without
// duplicates, Geo spelt out.
func (f Fields) Validate() (Fields, error) {
	allowed := Excludable()
	out := Fields{Geo: f.Geo, RoundCoordinates: f.RoundCoordinates, Exclude: []string{}}
	for _, name := range f.Exclude {
		if !slices.Contains(allowed, name) {
			msg := fmt.Sprintf("unknown field %q; one of %s", name, strings.Join(allowed, ", "))
			if slices.Contains([]string{"scan_id", "code", "code.id", "timestamp"}, name) {
				msg = fmt.Sprintf("%q cannot be excluded: receivers need it to identify the scan", name)
			}
			return Fields{}, &FieldError{"fields.exclude", msg}
		}
		out.Exclude = append(out.Exclude, name)
	}
	slices.Sort(out.Exclude)
	out.Exclude = slices.Compact(out.Exclude)
	switch out.Geo {
	case "":
		out.Geo = GeoFull
	case GeoFull, GeoCity, GeoCountry, GeoNone:
	default:
		return Fields{}, &FieldError{"fields.geo", fmt.Sprintf("must be %s, %s, %s or %s", GeoFull, GeoCity, GeoCountry, GeoNone)}
	}
	if r := out.RoundCoordinates; r != nil {
		if *r < 0 || *r > MaxRoundCoordinates {
			return Fields{}, &FieldError{"fields.round_coordinates", fmt.Sprintf("must be from 0 to %d decimals", MaxRoundCoordinates)}
		}
		if out.Geo != GeoFull {
			return Fields{}, &FieldError{"fields.round_coordinates", "applies only with geo " + GeoFull + ": other levels send no coordinates"}
		}
	}
	return out, nil
}

// SendsEverything reports whether f leaves every event as it is.
func (f Fields) SendsEverything() bool {
	return len(f.Exclude) == 0 && (f.Geo == "" || f.Geo == GeoFull) && f.RoundCoordinates == nil
}

// Value stores f as JSON text; a policy that sends everything is "".
func (f Fields) Value() (driver.Value, error) {
	if f.SendsEverything() {
		return "", nil
	}
	b, err := json.Marshal(f)
	return string(b), err
}

// Scan reads what Value stored.
func (f *Fields) Scan(src any) error {
	var text string
	switch v := src.(type) {
	case nil:
	case string:
		text = v
	case []byte:
		text = string(v)
	default:
		return fmt.Errorf("destination: cannot read a field policy from %T", src)
	}
	*f = Fields{}
	if text == "" {
		return nil
	}
	return json.Unmarshal([]byte(text), f)
}

// PayloadFor returns the event an endpoint with policy f receives: payload
// itself when f sends everything or the event is not scan.created (a test
// event carries no scan data), else payload with the data fields f keeps.
// Delivery starters call it, so the workflow input, and hence history,
// holds only what is sent.
func PayloadFor(f Fields, payload []byte) ([]byte, error) {
	if f.SendsEverything() {
		return payload, nil
	}
	event, err := decodeObject(payload)
	if err != nil {
		return nil, fmt.Errorf("filter event: %w", err)
	}
	if typ, _ := event.get("type"); string(typ) != strconv.Quote(webhook.TypeScanCreated) {
		return payload, nil
	}
	rawData, _ := event.get("data")
	data, err := decodeObject(rawData)
	if err != nil {
		return nil, fmt.Errorf("filter event data: %w", err)
	}
	if data, err = filterData(f, data); err != nil {
		return nil, err
	}
	return event.set("data", data.encode()).encode(), nil
}

func filterData(f Fields, data object) (object, error) {
	err := editChild(data, "geo", func(geo object) (object, error) {
		if kept, ok := geoKept[f.Geo]; ok {
			geo = slices.DeleteFunc(geo, func(m member) bool { return !slices.Contains(kept, m.Key) })
		}
		if f.RoundCoordinates != nil {
			for i, m := range geo {
				if m.Key == "latitude" || m.Key == "longitude" {
					geo[i].Value = roundNumber(m.Value, *f.RoundCoordinates)
				}
			}
		}
		return geo, nil
	})
	if err != nil {
		return nil, err
	}
	if f.Geo == GeoNone {
		data = data.without("geo")
	}
	for _, name := range f.Exclude {
		parent, child, nested := strings.Cut(name, ".")
		if !nested {
			data = data.without(name)
			continue
		}
		if err := editChild(data, parent, func(o object) (object, error) { return o.without(child), nil }); err != nil {
			return nil, err
		}
	}
	return data, nil
}

// editChild replaces data's object member key by edit's result; a member
// that is absent or null is left alone.
func editChild(data object, key string, edit func(object) (object, error)) error {
	for i, m := range data {
		if m.Key != key || string(m.Value) == "null" {
			continue
		}
		child, err := decodeObject(m.Value)
		if err != nil {
			return fmt.Errorf("filter event data.%s: %w", key, err)
		}
		if child, err = edit(child); err != nil {
			return err
		}
		data[i].Value = child.encode()
	}
	return nil
}

// roundNumber rounds a JSON number to decimals places; null stays null.
func roundNumber(raw json.RawMessage, decimals int) json.RawMessage {
	v, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		return raw
	}
	scale := math.Pow10(decimals)
	return json.RawMessage(strconv.FormatFloat(math.Round(v*scale)/scale, 'f', -1, 64))
}
