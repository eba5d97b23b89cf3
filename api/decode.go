package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
)

// jsonObject is a request body decoded one level deep: the raw value of each
// field, so a handler can tell absent from null and name the field whose
// value has the wrong type. Decoding by hand (rather than into a struct)
// makes field names case-sensitive and every message predictable.
type jsonObject map[string]json.RawMessage

// readObject reads the whole body of r (already capped by limitBody) and
// decodes it as one JSON object whose keys are all in allowed.
func readObject(r *http.Request, allowed ...string) (jsonObject, error) {
	if r.Body == nil {
		return nil, errInvalidJSON("", "request body is empty")
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, errBodyTooLarge
		}
		return nil, errInvalidJSON("", "could not read request body")
	}
	return parseObject(body, allowed)
}

func parseObject(body []byte, allowed []string) (jsonObject, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, errInvalidJSON("", "request body is empty")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var obj jsonObject
	if err := dec.Decode(&obj); err != nil {
		return nil, jsonSyntaxError(err)
	}
	if obj == nil { // the body was `null`
		return nil, errInvalidJSON("", "request body must be a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errInvalidJSON("", "unexpected data after the JSON object")
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys) // name the same unknown field every time
	for _, k := range keys {
		if !slices.Contains(allowed, k) {
			return nil, errInvalidJSON(k, fmt.Sprintf("unknown field %q", k))
		}
	}
	return obj, nil
}

func jsonSyntaxError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return errInvalidJSON("", fmt.Sprintf("malformed JSON at byte %d: %s", syntax.Offset, syntax.Error()))
	case errors.As(err, &typ):
		return errInvalidJSON("", "request body must be a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return errInvalidJSON("", "malformed JSON: unexpected end of input")
	default:
		return errInvalidJSON("", "malformed JSON")
	}
}

// present reports whether field is in the object with a non-null value.
// JSON null means "not given" everywhere in the API.
func (o jsonObject) present(field string) bool {
	raw, ok := o[field]
	return ok && !bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

// String returns field as a string; ok is false when it is absent or null.
func (o jsonObject) String(field string) (value string, ok bool, err error) {
	if !o.present(field) {
		return "", false, nil
	}
	if err := json.Unmarshal(o[field], &value); err != nil {
		return "", false, errWrongType(field, "a string")
	}
	return value, true, nil
}

// Bool returns field as a boolean; ok is false when it is absent or null.
func (o jsonObject) Bool(field string) (value bool, ok bool, err error) {
	if !o.present(field) {
		return false, false, nil
	}
	if err := json.Unmarshal(o[field], &value); err != nil {
		return false, false, errWrongType(field, "a boolean")
	}
	return value, true, nil
}

// Strings returns field as a list of strings (never nil when ok); ok is
// false when it is absent or null.
func (o jsonObject) Strings(field string) (value []string, ok bool, err error) {
	if !o.present(field) {
		return nil, false, nil
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(o[field], &raw); err != nil {
		return nil, false, errWrongType(field, "an array of strings")
	}
	value = make([]string, len(raw))
	for i, r := range raw {
		// A null element is not a string either: unmarshalling null into a
		// string succeeds silently, so check it first.
		if bytes.Equal(bytes.TrimSpace(r), []byte("null")) || json.Unmarshal(r, &value[i]) != nil {
			return nil, false, errWrongType(field, "an array of strings")
		}
	}
	return value, true, nil
}

func errWrongType(field, what string) error {
	return errInvalidJSON(field, fmt.Sprintf("field %q must be %s", field, what))
}
