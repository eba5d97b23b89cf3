package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/scanforge/scanforge/internal/app"
	"github.com/scanforge/scanforge/internal/config"
	"github.com/scanforge/scanforge/internal/devserver"
	"github.com/scanforge/scanforge/models"
)

// runDev runs the whole product in one process for a laptop.
func runDev(ctx context.Context, stdout io.Writer) error {
	started := time.Now()
	cfg, err := config.Load(config.ModeDev, os.Getenv)
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	logger := newLogger(cfg.LogLevel, cfg.LogFormat, os.Stderr)
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}

	key := cfg.EncryptionKey
	if key == nil {
		if key, err = devEncryptionKey(cfg.DataDir); err != nil {
			return err
		}
		cfg.EncryptionKey = key // visitor keys derive from it too
	}
	storeOpts, err := secretStoreOptions(key)
	if err != nil {
		return err
	}
	tr, stopTracing, err := startTracing(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer stopTracing()
	stack, err := app.StartDev(ctx, app.DevOptions{Config: cfg, Logger: logger, StoreOptions: storeOpts, Tracing: tr})
	if err != nil {
		return err
	}
	defer stack.Close()
	if err := prepareSecrets(ctx, stack.Store, logger); err != nil {
		return err
	}
	ws, apiKey, err := devWorkspace(ctx, stack.Store, cfg.DataDir)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s (set SCANFORGE_HTTP_ADDR to use another address): %w", cfg.HTTPAddr, err)
	}
	printQuickStart(stdout, cfg, stack.Temporal, ws, apiKey, time.Since(started))

	a := stack.App(cfg, logger)
	a.GeoIPReload = hangups()
	return a.Run(ctx, ln)
}

// devWorkspace returns the dev workspace and its API key, creating both on
// first start. The key is kept in the data directory (mode 0600) so that
// every start can print it again; only its hash is in the database.
func devWorkspace(ctx context.Context, store *models.Store, dataDir string) (models.Workspace, string, error) {
	keyFile := filepath.Join(dataDir, "api-key")
	workspaces, err := store.ListWorkspaces(ctx)
	if err != nil {
		return models.Workspace{}, "", err
	}
	if len(workspaces) > 0 {
		if b, err := os.ReadFile(keyFile); err == nil {
			key := strings.TrimSpace(string(b))
			if k, err := store.Authenticate(ctx, key); err == nil && k.WorkspaceID == workspaces[0].ID {
				return workspaces[0], key, nil
			}
		}
		// The key file is gone or stale: issue a fresh key for the same workspace.
		_, key, err := store.CreateAPIKey(ctx, workspaces[0].ID, "dev")
		if err != nil {
			return models.Workspace{}, "", err
		}
		return workspaces[0], key, os.WriteFile(keyFile, []byte(key+"\n"), 0o600)
	}
	ws, err := store.CreateWorkspace(ctx, "Default workspace")
	if err != nil {
		return models.Workspace{}, "", err
	}
	_, key, err := store.CreateAPIKey(ctx, ws.ID, "dev")
	if err != nil {
		return models.Workspace{}, "", err
	}
	if err := os.WriteFile(keyFile, []byte(key+"\n"), 0o600); err != nil {
		return models.Workspace{}, "", errors.Join(fmt.Errorf("save dev api key: %w", err))
	}
	return ws, key, nil
}

func printQuickStart(w io.Writer, cfg config.Config, ts *devserver.Server, ws models.Workspace, apiKey string, took time.Duration) {
	ui := "disabled (SCANFORGE_UI_PORT=0)"
	deliveries := ""
	if ts.UIAddress() != "" {
		ui = "http://" + ts.UIAddress()
		deliveries = fmt.Sprintf("\nEach delivery is the workflow delivery:<scan_id>:<endpoint_id>, one activity\nDeliveryAttempt per attempt: %s/namespaces/%s/workflows\n",
			ui, ts.Namespace())
	}
	const iPhone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
	fmt.Fprintf(w, `
ScanForge dev is ready (%s).

  API and redirects  %s
  Temporal UI        %s
  Temporal frontend  %s (namespace %q)
  Data directory     %s
  Workspace          %s
  API key            %s

Dev mode lets deliveries reach loopback and private addresses, so local
receivers work; serve and worker refuse them unless told otherwise.

Try it in another terminal (README.md, "Five-minute walkthrough"):

  export SCANFORGE_API_KEY=%s
  curl -s %s/api/v1/codes -H "Authorization: Bearer $SCANFORGE_API_KEY" \
    -d '{"slug":"hello","name":"Hello poster","destination_url":"https://example.com"}'
  curl -s %s/api/v1/endpoints -H "Authorization: Bearer $SCANFORGE_API_KEY" \
    -d '{"url":"http://127.0.0.1:9000/webhooks"}'

The endpoint's answer holds its "secret", shown only there. In a third terminal:

  scanforge receive --port 9000 --secret 'whsec_...'

Then scan the code; the receiver prints the verified event:

  curl -si %s/q/hello -A "%s"
%s
`, took.Round(time.Millisecond), cfg.PublicURL, ui, ts.FrontendAddress(), ts.Namespace(), cfg.DataDir, ws.ID, apiKey,
		apiKey, cfg.PublicURL, cfg.PublicURL, cfg.PublicURL, iPhone, deliveries)
}
