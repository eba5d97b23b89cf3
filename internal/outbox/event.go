package outbox

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/scanforge/scanforge/models"
	"github.com/scanforge/scanforge/webhook"
)

// EventID is the scan.created event's ID for a scan: derived from the scan
// ID, so it is the same for every endpoint, every retry and every replay.
func EventID(scanID string) string {
	return "evt_" + strings.TrimPrefix(scanID, "scan_")
}

// ScanCreatedEvent builds the scan.created payload of s.
func ScanCreatedEvent(s models.Scan) ([]byte, error) {
	data, err := json.Marshal(webhook.ScanCreated{
		ScanID:    s.ID,
		Code:      webhook.Code{ID: s.CodeID, Slug: s.Slug, Name: s.CodeName},
		Timestamp: s.Timestamp.UTC(),
		Source:    s.Source,
		Geo: webhook.Geo{
			Country: s.Country, CountryCode: s.CountryCode, Region: s.Region, City: s.City,
			Latitude: s.Latitude, Longitude: s.Longitude, Timezone: s.Timezone,
		},
		Device: webhook.Device{
			Type: s.DeviceType, Browser: s.Browser, BrowserVersion: s.BrowserVersion,
			OS: s.OS, OSVersion: s.OSVersion,
		},
		Referrer:       s.Referrer,
		UserAgent:      s.UserAgent,
		DestinationURL: s.DestinationURL,
		Bot:            webhook.Bot{IsBot: s.IsBot, Reason: s.BotReason},
		Unique:         s.IsUnique,
	})
	if err != nil {
		return nil, fmt.Errorf("scan %s: encode event data: %w", s.ID, err)
	}
	body, err := json.Marshal(webhook.Event{
		ID:         EventID(s.ID),
		Type:       webhook.TypeScanCreated,
		APIVersion: webhook.APIVersion,
		CreatedAt:  s.Timestamp.UTC(),
		Data:       data,
	})
	if err != nil {
		return nil, fmt.Errorf("scan %s: encode event: %w", s.ID, err)
	}
	return body, nil
}
