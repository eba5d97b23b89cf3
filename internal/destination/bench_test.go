package destination_test

import (
	"testing"

	"github.com/scanforge/scanforge/internal/destination"
	"github.com/scanforge/scanforge/webhook"
)

// What the outbox pays per restricted endpoint and the attempt per chat
// delivery: go test -run X -bench . ./internal/destination/
func BenchmarkPayloadFor(b *testing.B) {
	ev := event(b, webhook.TypeScanCreated, fullScan())
	f := destination.Fields{Exclude: []string{"user_agent", "referrer"}, Geo: destination.GeoCountry}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := destination.PayloadFor(f, ev); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRender(b *testing.B) {
	ev := event(b, webhook.TypeScanCreated, fullScan())
	for _, f := range []string{destination.FormatSlack, destination.FormatTeams} {
		b.Run(f, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := destination.Render(f, ev); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
