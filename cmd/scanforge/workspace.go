package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/scanforge/scanforge/internal/config"
)

// runWorkspace creates a workspace and its first API key in the production
// database: `scanforge workspace create NAME`.
func runWorkspace(ctx context.Context, name string, stdout io.Writer) error {
	name = strings.TrimSpace(name)
	if name == "" {
		return fmt.Errorf("workspace create: the name is empty")
	}
	_, _, store, err := production(config.ModeMigrate)
	if err != nil {
		return err
	}
	ws, err := store.CreateWorkspace(ctx, name)
	if err != nil {
		return err
	}
	_, key, err := store.CreateAPIKey(ctx, ws.ID, "initial")
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "workspace %s (%s)\nAPI key   %s\n\nThe key is shown once; keep it secret.\n", ws.ID, ws.Name, key)
	return nil
}
