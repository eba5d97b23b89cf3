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
func runWorkspace(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) < 2 || args[0] != "create" || strings.TrimSpace(args[1]) == "" {
		return fmt.Errorf("usage: scanforge workspace create NAME")
	}
	_, _, store, err := production(config.ModeMigrate)
	if err != nil {
		return err
	}
	ws, err := store.CreateWorkspace(ctx, strings.TrimSpace(args[1]))
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
