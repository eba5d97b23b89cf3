package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/scanforge/scanforge/internal/destination"
	"github.com/scanforge/scanforge/models"
)

// fieldsAnswer is an endpoint's field privacy policy as the API shows it:
// every key present, the defaults spelt out.
type fieldsAnswer struct {
	Exclude          []string `json:"exclude"`
	Geo              string   `json:"geo"`
	RoundCoordinates *int     `json:"round_coordinates"`
}

func newFieldsAnswer(f destination.Fields) fieldsAnswer {
	if norm, err := f.Validate(); err == nil {
		f = norm
	}
	if f.Exclude == nil {
		f.Exclude = []string{}
	}
	return fieldsAnswer{Exclude: f.Exclude, Geo: f.Geo, RoundCoordinates: f.RoundCoordinates}
}

func formatOrDefault(f string) string {
	if f == "" {
		return destination.FormatScanForge
	}
	return f
}

// readFormat reads the "format" member: nil when not given.
func readFormat(obj jsonObject) (*string, error) {
	f, err := optionalString(obj, "format")
	if err != nil || f == nil {
		return nil, err
	}
	if *f == "" || !destination.ValidFormat(*f) {
		return nil, models.Invalid("format", "must be one of "+strings.Join(destination.Formats(), ", "))
	}
	return f, nil
}

var fieldsKeys = []string{"exclude", "geo", "round_coordinates"}

// readFields reads the "fields" member, the whole policy (nil when not
// given): {"exclude": [...], "geo": "country", "round_coordinates": 2},
// every key optional; {} sends every field.
func readFields(obj jsonObject) (*destination.Fields, error) {
	if !obj.present("fields") {
		return nil, nil
	}
	raw := bytes.TrimSpace(obj["fields"])
	if len(raw) == 0 || raw[0] != '{' {
		return nil, errWrongType("fields", "an object")
	}
	inner, err := parseObject(raw, fieldsKeys)
	var apiErr *apiError
	if errors.As(err, &apiErr) && apiErr.Field != "" {
		return nil, models.Invalid("fields."+apiErr.Field, fmt.Sprintf("unknown key %q; fields takes %s", apiErr.Field, strings.Join(fieldsKeys, ", ")))
	}
	if err != nil {
		return nil, err
	}
	var f destination.Fields
	if f.Exclude, _, err = inner.Strings("exclude"); err != nil {
		return nil, errWrongType("fields.exclude", "an array of strings")
	}
	if f.Geo, _, err = inner.String("geo"); err != nil {
		return nil, errWrongType("fields.geo", "a string")
	}
	if inner.present("round_coordinates") {
		var n int
		if err := json.Unmarshal(inner["round_coordinates"], &n); err != nil {
			return nil, errWrongType("fields.round_coordinates", "an integer or null")
		}
		f.RoundCoordinates = &n
	}
	f, err = f.Validate()
	var fe *destination.FieldError
	if errors.As(err, &fe) {
		return nil, models.Invalid(fe.Field, fe.Message)
	}
	return &f, err
}
