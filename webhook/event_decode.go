package webhook

import (
	"encoding/json"
	"errors"
	"fmt"
)

// ErrInvalidEvent means a body is not an event: bad JSON, or no id or type.
var ErrInvalidEvent = errors.New("webhook: invalid event")

// ErrUnexpectedEventType means Data was decoded as the wrong event type.
var ErrUnexpectedEventType = errors.New("webhook: unexpected event type")

// ParseEvent decodes a verified delivery body. Unknown fields are ignored, as
// new ones may appear within an APIVersion.
func ParseEvent(body []byte) (Event, error) {
	var e Event
	if err := json.Unmarshal(body, &e); err != nil {
		return Event{}, fmt.Errorf("%w: %w", ErrInvalidEvent, err)
	}
	if e.ID == "" || e.Type == "" {
		return Event{}, fmt.Errorf("%w: missing id or type", ErrInvalidEvent)
	}
	return e, nil
}

// ScanCreated decodes the Data of a scan.created event.
func (e Event) ScanCreated() (ScanCreated, error) {
	if e.Type != TypeScanCreated {
		return ScanCreated{}, fmt.Errorf("%w: %q, want %q", ErrUnexpectedEventType, e.Type, TypeScanCreated)
	}
	var d ScanCreated
	if err := json.Unmarshal(e.Data, &d); err != nil {
		return ScanCreated{}, fmt.Errorf("%w: data: %w", ErrInvalidEvent, err)
	}
	return d, nil
}
