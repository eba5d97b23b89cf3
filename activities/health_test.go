package activities_test

import (
	"context"
	"errors"
	"testing"

	"github.com/scanforge/scanforge/activities"
)

// TestGaveUpRetriesWhenTheEndpointCannotBeRead: only a deleted endpoint
// means there is nothing to note; a failed read is an error, so the local
// activity tries again rather than lose the give-up.
func TestGaveUpRetriesWhenTheEndpointCannotBeRead(t *testing.T) {
	ctx := context.Background()
	in := activities.GaveUpInput{EndpointID: "ep_1", DeliveryID: "delivery:scan_1:ep_1", Attempts: 3}

	deleted := activities.NewDeliverer(newFakeStore(), activities.Options{})
	if disabled, err := deleted.GaveUp(ctx, in); err != nil || disabled {
		t.Fatalf("deleted endpoint: GaveUp = %v, %v; want false, nil", disabled, err)
	}

	down := newFakeStore()
	blip := errors.New("connection reset by peer")
	down.getErr = blip
	if _, err := activities.NewDeliverer(down, activities.Options{}).GaveUp(ctx, in); !errors.Is(err, blip) {
		t.Fatalf("unreadable endpoint: GaveUp error = %v; want it to wrap %v", err, blip)
	}
}
