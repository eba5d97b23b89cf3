package models_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scanforge/scanforge/internal/secretbox"
	"github.com/scanforge/scanforge/internal/testdb"
	"github.com/scanforge/scanforge/models"
	"github.com/scanforge/scanforge/webhook"
)

// fixedClock is a settable time source.
type fixedClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fixedClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func newSecret(t *testing.T) string {
	t.Helper()
	s, err := webhook.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// secretsEnv is a store with a box over a fresh database, a workspace, and
// one endpoint created with secret.
type secretsEnv struct {
	store  *models.Store
	clock  *fixedClock
	box    *secretbox.Box
	ws     models.Workspace
	ep     models.Endpoint
	secret string
}

func newSecretsEnv(t *testing.T, kind string) *secretsEnv {
	t.Helper()
	e := &secretsEnv{clock: &fixedClock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}, box: testdb.SecretBox(t)}
	e.store = models.NewStore(testdb.Open(t, kind), e.clock.Now, models.WithSecretBox(e.box))
	ctx := context.Background()
	var err error
	if e.ws, err = e.store.CreateWorkspace(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	e.secret = newSecret(t)
	e.ep = models.Endpoint{WorkspaceID: e.ws.ID, URL: "https://hooks.example/a", Secret: e.secret, Enabled: true, AllCodes: true}
	if err := e.store.CreateEndpoint(ctx, &e.ep); err != nil {
		t.Fatal(err)
	}
	return e
}

// column reads a raw column of the endpoints table.
func (e *secretsEnv) column(t *testing.T, endpointID, column string) string {
	t.Helper()
	var v string
	if err := e.store.DB().Raw("SELECT "+column+" FROM endpoints WHERE id = ?", endpointID).Scan(&v).Error; err != nil {
		t.Fatal(err)
	}
	return v
}

func forEachKind(t *testing.T, f func(t *testing.T, kind string)) {
	for _, kind := range testdb.Kinds {
		t.Run(kind, func(t *testing.T) { f(t, kind) })
	}
}

func TestSecretIsEncryptedAtRest(t *testing.T) {
	forEachKind(t, func(t *testing.T, kind string) {
		e := newSecretsEnv(t, kind)
		ctx := context.Background()
		if e.ep.Secret != e.secret {
			t.Fatal("CreateEndpoint changed the caller's plaintext")
		}
		stored := e.column(t, e.ep.ID, "secret")
		if !strings.HasPrefix(stored, "v1:") || strings.Contains(stored, e.secret) ||
			strings.Contains(stored, strings.TrimPrefix(e.secret, webhook.SecretPrefix)) {
			t.Fatalf("secret column = %q", stored)
		}

		got, err := e.store.GetEndpointByID(ctx, e.ep.ID)
		if err != nil || got.Secret != e.secret || got.PreviousSecret != "" {
			t.Fatalf("GetEndpointByID secret = %q, %v", got.Secret, err)
		}
		// Reads for the API carry no secret at all, not even the ciphertext.
		one, err := e.store.GetEndpoint(ctx, e.ws.ID, e.ep.ID)
		if err != nil || one.Secret != "" || one.PreviousSecret != "" {
			t.Fatalf("GetEndpoint = %+v, %v", one, err)
		}
		list, err := e.store.ListEndpoints(ctx, e.ws.ID, models.Page{})
		if err != nil || len(list) != 1 || list[0].Secret != "" {
			t.Fatalf("ListEndpoints = %+v, %v", list, err)
		}
		subs, err := e.store.SubscribedEndpoints(ctx, e.ws.ID, "code_x", false)
		if err != nil || len(subs) != 1 || subs[0].Secret != "" {
			t.Fatalf("SubscribedEndpoints = %+v, %v", subs, err)
		}

		// A sealed secret moved to another row does not open there.
		other := models.Endpoint{WorkspaceID: e.ws.ID, URL: "https://hooks.example/b", Secret: newSecret(t), Enabled: true, AllCodes: true}
		if err := e.store.CreateEndpoint(ctx, &other); err != nil {
			t.Fatal(err)
		}
		if err := e.store.DB().Exec("UPDATE endpoints SET secret = ? WHERE id = ?", stored, other.ID).Error; err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.GetEndpointByID(ctx, other.ID); !errors.Is(err, secretbox.ErrDecrypt) {
			t.Fatalf("moved ciphertext: err = %v", err)
		}

		// Another key cannot read it, and the error does not show the value.
		wrong := models.NewStore(e.store.DB(), time.Now, models.WithSecretBox(testdb.SecretBox(t)))
		_, err = wrong.GetEndpointByID(ctx, e.ep.ID)
		if !errors.Is(err, secretbox.ErrDecrypt) || strings.Contains(err.Error(), stored) || strings.Contains(err.Error(), e.secret) {
			t.Fatalf("wrong key: err = %v", err)
		}
		// Neither can a store without a key.
		keyless := models.NewStore(e.store.DB(), time.Now)
		if _, err := keyless.GetEndpointByID(ctx, e.ep.ID); !errors.Is(err, models.ErrNoSecretBox) {
			t.Fatalf("no key: err = %v", err)
		}
	})
}

func TestStoreWithoutBoxRefusesToStoreSecrets(t *testing.T) {
	s := models.NewStore(testdb.Open(t, "sqlite"), time.Now)
	ctx := context.Background()
	ws, err := s.CreateWorkspace(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	ep := models.Endpoint{WorkspaceID: ws.ID, URL: "https://h.example", Secret: newSecret(t), Enabled: true, AllCodes: true}
	if err := s.CreateEndpoint(ctx, &ep); !errors.Is(err, models.ErrNoSecretBox) {
		t.Fatalf("CreateEndpoint without a box: err = %v", err)
	}
	var n int64
	s.DB().Model(&models.Endpoint{}).Count(&n)
	if n != 0 {
		t.Fatalf("%d endpoints stored", n)
	}
	if _, err := s.EncryptPlaintextSecrets(ctx); !errors.Is(err, models.ErrNoSecretBox) {
		t.Fatalf("EncryptPlaintextSecrets without a box: err = %v", err)
	}
}

// TestPlaintextSecretsFromBeforeEncryption: rows written before secrets
// were encrypted still sign, and EncryptPlaintextSecrets seals them in place.
func TestPlaintextSecretsFromBeforeEncryption(t *testing.T) {
	forEachKind(t, func(t *testing.T, kind string) {
		e := newSecretsEnv(t, kind)
		ctx := context.Background()
		legacy := newSecret(t)
		row := models.Endpoint{ID: "ep_legacy", WorkspaceID: e.ws.ID, URL: "https://old.example", Secret: legacy, Enabled: true, AllCodes: true}
		if err := e.store.DB().Create(&row).Error; err != nil { // as the old code wrote it
			t.Fatal(err)
		}
		if got, err := e.store.GetEndpointByID(ctx, "ep_legacy"); err != nil || got.Secret != legacy {
			t.Fatalf("legacy row: %q, %v", got.Secret, err)
		}
		keyless := models.NewStore(e.store.DB(), time.Now)
		if got, err := keyless.GetEndpointByID(ctx, "ep_legacy"); err != nil || got.Secret != legacy {
			t.Fatalf("legacy row without a key: %q, %v", got.Secret, err)
		}

		n, err := e.store.EncryptPlaintextSecrets(ctx)
		if err != nil || n != 1 {
			t.Fatalf("EncryptPlaintextSecrets = %d, %v", n, err)
		}
		if stored := e.column(t, "ep_legacy", "secret"); !strings.HasPrefix(stored, "v1:") || strings.Contains(stored, legacy) {
			t.Fatalf("after encryption the column holds %q", stored)
		}
		if got, err := e.store.GetEndpointByID(ctx, "ep_legacy"); err != nil || got.Secret != legacy {
			t.Fatalf("after encryption: %q, %v", got.Secret, err)
		}
		if got, err := e.store.GetEndpointByID(ctx, e.ep.ID); err != nil || got.Secret != e.secret {
			t.Fatalf("already sealed one changed: %q, %v", got.Secret, err)
		}
		if n, err := e.store.EncryptPlaintextSecrets(ctx); err != nil || n != 0 {
			t.Fatalf("second run = %d, %v", n, err)
		}
	})
}

func TestRotateEndpointSecret(t *testing.T) {
	forEachKind(t, func(t *testing.T, kind string) {
		e := newSecretsEnv(t, kind)
		ctx := context.Background()
		start := e.clock.Now()

		second := newSecret(t)
		got, err := e.store.RotateEndpointSecret(ctx, e.ws.ID, e.ep.ID, second, 24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if got.Secret != "" || got.PreviousSecret != "" {
			t.Fatal("rotation answer carries secrets")
		}
		if got.SecretRotatedAt == nil || !got.SecretRotatedAt.Equal(start) ||
			got.PreviousSecretExpiresAt == nil || !got.PreviousSecretExpiresAt.Equal(start.Add(24*time.Hour)) {
			t.Fatalf("rotation times: %v %v", got.SecretRotatedAt, got.PreviousSecretExpiresAt)
		}
		for _, column := range []string{"secret", "previous_secret"} {
			stored := e.column(t, e.ep.ID, column)
			if !strings.HasPrefix(stored, "v1:") || strings.Contains(stored, e.secret) || strings.Contains(stored, second) {
				t.Fatalf("%s column = %q", column, stored)
			}
		}
		loaded, err := e.store.GetEndpointByID(ctx, e.ep.ID)
		if err != nil || loaded.Secret != second || loaded.PreviousSecret != e.secret {
			t.Fatalf("after rotation: current ok %v, previous ok %v, %v", loaded.Secret == second, loaded.PreviousSecret == e.secret, err)
		}
		if shown, _ := e.store.GetEndpoint(ctx, e.ws.ID, e.ep.ID); shown.PreviousSecretExpiresAt == nil || shown.SecretRotatedAt == nil {
			t.Fatalf("GetEndpoint lacks rotation times: %+v", shown)
		}

		// A second rotation during the overlap: the first secret stops, the
		// second becomes the previous one.
		e.clock.t = start.Add(time.Hour)
		third := newSecret(t)
		if _, err := e.store.RotateEndpointSecret(ctx, e.ws.ID, e.ep.ID, third, time.Hour); err != nil {
			t.Fatal(err)
		}
		loaded, _ = e.store.GetEndpointByID(ctx, e.ep.ID)
		if loaded.Secret != third || loaded.PreviousSecret != second || !loaded.PreviousSecretExpiresAt.Equal(start.Add(2*time.Hour)) {
			t.Fatal("second rotation did not keep exactly the second secret as previous")
		}

		// Overlap 0: the old secret stops at once.
		fourth := newSecret(t)
		if _, err := e.store.RotateEndpointSecret(ctx, e.ws.ID, e.ep.ID, fourth, 0); err != nil {
			t.Fatal(err)
		}
		loaded, _ = e.store.GetEndpointByID(ctx, e.ep.ID)
		if loaded.Secret != fourth || loaded.PreviousSecret != "" || loaded.PreviousSecretExpiresAt != nil {
			t.Fatalf("overlap 0 kept a previous secret (expires %v)", loaded.PreviousSecretExpiresAt)
		}

		// A secret sealed under a lost key: only a rotation without overlap
		// can replace it (it is not read).
		lost := models.NewStore(e.store.DB(), e.clock.Now, models.WithSecretBox(testdb.SecretBox(t)))
		if _, err := lost.RotateEndpointSecret(ctx, e.ws.ID, e.ep.ID, newSecret(t), time.Hour); !errors.Is(err, secretbox.ErrDecrypt) {
			t.Fatalf("overlap rotation with another key: %v", err)
		}
		fifth := newSecret(t)
		if _, err := lost.RotateEndpointSecret(ctx, e.ws.ID, e.ep.ID, fifth, 0); err != nil {
			t.Fatalf("overlap 0 rotation with another key: %v", err)
		}
		if loaded, err := lost.GetEndpointByID(ctx, e.ep.ID); err != nil || loaded.Secret != fifth {
			t.Fatalf("after recovery: %v", err)
		}

		other, _ := lost.CreateWorkspace(ctx, "other")
		if _, err := lost.RotateEndpointSecret(ctx, other.ID, e.ep.ID, newSecret(t), time.Hour); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("rotation from another workspace: %v", err)
		}
		for _, overlap := range []time.Duration{-time.Second, 7*24*time.Hour + time.Second} {
			if _, err := lost.RotateEndpointSecret(ctx, e.ws.ID, e.ep.ID, newSecret(t), overlap); !errors.Is(err, models.ErrInvalid) {
				t.Fatalf("overlap %v: %v", overlap, err)
			}
		}
		if loaded, _ := lost.GetEndpointByID(ctx, e.ep.ID); loaded.Secret != fifth {
			t.Fatal("a refused rotation changed the secret")
		}
	})
}

func TestSigningSecrets(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	later, earlier := now.Add(time.Second), now.Add(-time.Second)
	tests := []struct {
		name string
		ep   models.Endpoint
		want []string
	}{
		{"never rotated", models.Endpoint{Secret: "new"}, []string{"new"}},
		{"inside the overlap", models.Endpoint{Secret: "new", PreviousSecret: "old", PreviousSecretExpiresAt: &later}, []string{"new", "old"}},
		{"at the end of the overlap", models.Endpoint{Secret: "new", PreviousSecret: "old", PreviousSecretExpiresAt: &now}, []string{"new"}},
		{"after the overlap", models.Endpoint{Secret: "new", PreviousSecret: "old", PreviousSecretExpiresAt: &earlier}, []string{"new"}},
		{"no expiry", models.Endpoint{Secret: "new", PreviousSecret: "old"}, []string{"new"}},
		{"no previous", models.Endpoint{Secret: "new", PreviousSecretExpiresAt: &later}, []string{"new"}},
	}
	for _, tt := range tests {
		if got := tt.ep.SigningSecrets(now); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestAPIKeys(t *testing.T) {
	forEachKind(t, func(t *testing.T, kind string) {
		e := newSecretsEnv(t, kind)
		ctx := context.Background()
		ws, first, plain, err := e.store.CreateWorkspaceWithAPIKey(ctx, "beta", "initial")
		if err != nil || first.WorkspaceID != ws.ID || ws.Name != "beta" || !strings.HasPrefix(plain, first.Prefix) {
			t.Fatalf("CreateWorkspaceWithAPIKey = %+v %+v, %v", ws, first, err)
		}
		e.clock.t = e.clock.t.Add(time.Millisecond) // IDs sort by creation time
		second, plain2, err := e.store.CreateAPIKey(ctx, ws.ID, "ci")
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.store.CreateAPIKey(ctx, e.ws.ID, "theirs"); err != nil {
			t.Fatal(err)
		}
		keys, err := e.store.ListAPIKeys(ctx, ws.ID, models.Page{})
		if err != nil || len(keys) != 2 || keys[0].ID != second.ID || keys[1].ID != first.ID {
			t.Fatalf("ListAPIKeys = %+v, %v", keys, err)
		}

		if err := e.store.RevokeAPIKey(ctx, e.ws.ID, second.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("revoke from another workspace: %v", err)
		}
		if _, err := e.store.Authenticate(ctx, plain2); err != nil {
			t.Fatalf("key stopped working after a foreign revoke attempt: %v", err)
		}
		e.clock.t = e.clock.t.Add(time.Minute)
		if err := e.store.RevokeAPIKey(ctx, ws.ID, second.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.Authenticate(ctx, plain2); !errors.Is(err, models.ErrUnauthorized) {
			t.Fatalf("revoked key authenticates: %v", err)
		}
		if _, err := e.store.Authenticate(ctx, plain); err != nil {
			t.Fatalf("the other key stopped working: %v", err)
		}
		revokedAt := e.clock.Now()
		e.clock.t = e.clock.t.Add(time.Minute)
		if err := e.store.RevokeAPIKey(ctx, ws.ID, second.ID); err != nil {
			t.Fatalf("revoking twice: %v", err)
		}
		keys, _ = e.store.ListAPIKeys(ctx, ws.ID, models.Page{})
		if keys[0].RevokedAt == nil || !keys[0].RevokedAt.Equal(revokedAt) || keys[1].RevokedAt != nil {
			t.Fatalf("revoked_at = %v / %v, want %v / nil", keys[0].RevokedAt, keys[1].RevokedAt, revokedAt)
		}
		if err := e.store.RevokeAPIKey(ctx, ws.ID, "key_missing"); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("revoke unknown: %v", err)
		}
	})
}

func TestCheckSecretKey(t *testing.T) {
	e := newSecretsEnv(t, "sqlite")
	ctx := context.Background()
	if err := e.store.CheckSecretKey(ctx); err != nil {
		t.Fatalf("right key: %v", err)
	}
	wrong := models.NewStore(e.store.DB(), time.Now, models.WithSecretBox(testdb.SecretBox(t)))
	if err := wrong.CheckSecretKey(ctx); !errors.Is(err, secretbox.ErrDecrypt) {
		t.Fatalf("wrong key: %v", err)
	}
	if err := models.NewStore(e.store.DB(), time.Now).CheckSecretKey(ctx); !errors.Is(err, models.ErrNoSecretBox) {
		t.Fatalf("no key: %v", err)
	}
	empty := models.NewStore(testdb.Open(t, "sqlite"), time.Now, models.WithSecretBox(testdb.SecretBox(t)))
	if err := empty.CheckSecretKey(ctx); err != nil {
		t.Fatalf("no secrets yet: %v", err)
	}
}
