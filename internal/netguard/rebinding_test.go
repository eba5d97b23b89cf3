package netguard_test

import (
	"context"
	"encoding/json"
	"net"
	"testing"

	"github.com/scanforge/scanforge/activities"
	"github.com/scanforge/scanforge/internal/netguard"
	"github.com/scanforge/scanforge/models"
	"github.com/scanforge/scanforge/webhook"
)

// oneEndpoint is an activities.EndpointStore holding a single endpoint.
type oneEndpoint struct{ ep models.Endpoint }

func (s oneEndpoint) GetEndpointByID(_ context.Context, id string) (models.Endpoint, error) {
	if id != s.ep.ID {
		return models.Endpoint{}, models.ErrNotFound
	}
	return s.ep, nil
}

func (oneEndpoint) DisableEndpoint(context.Context, string, models.DisableCause, string) error {
	return nil
}

// TestDNSRebindingFailsTheAttemptWithoutConnecting saves an endpoint whose
// name resolves to a public address, then makes the name resolve to
// 127.0.0.1, where a receiver listens: the delivery attempt must fail for
// good, say why, and never reach the receiver.
func TestDNSRebindingFailsTheAttemptWithoutConnecting(t *testing.T) {
	srv, conns := countingServer(t)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	res := newResolver(map[string][]string{"hooks.rebind.test": {"93.184.216.34"}})
	guard := netguard.New(netguard.Options{Resolver: res})
	endpointURL := "http://hooks.rebind.test:" + port + "/webhook"

	// Saving: the name resolves to a public address, so it is accepted.
	if err := guard.CheckURL(context.Background(), endpointURL); err != nil {
		t.Fatalf("CheckURL at save time: %v", err)
	}

	// The name now points inside.
	res.set("hooks.rebind.test", "127.0.0.1")

	secret, err := webhook.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	store := oneEndpoint{models.Endpoint{ID: "ep_rebind", URL: endpointURL, Secret: secret, Enabled: true}}
	deliverer := activities.NewDeliverer(store, activities.Options{Dial: guard.DialContext})
	res2, err := deliverer.Attempt(context.Background(), activities.AttemptInput{
		EndpointID: "ep_rebind", EventID: "msg_1", Payload: json.RawMessage(`{"type":"scan.created"}`), Attempt: 1,
	})
	if err != nil {
		t.Fatalf("Attempt: %v", err)
	}
	if res2.Outcome != activities.OutcomeFailed {
		t.Errorf("outcome %q, want %q (a blocked address is permanent)", res2.Outcome, activities.OutcomeFailed)
	}
	const wantErr = "blocked: hooks.rebind.test resolves to 127.0.0.1, a loopback address"
	if res2.Error != wantErr {
		t.Errorf("attempt error %q, want %q", res2.Error, wantErr)
	}
	if res2.StatusCode != 0 {
		t.Errorf("status %d, want none", res2.StatusCode)
	}
	if n := conns.Load(); n != 0 {
		t.Errorf("receiver on 127.0.0.1 accepted %d connections, want 0", n)
	}
}
