package models

import (
	"context"
	"database/sql"
	"fmt"
)

// endpointTakes is the rule of who gets a scan, in one place: an endpoint
// of the scan's workspace (enabled or not: deliveries to a paused or
// disabled one park until it takes deliveries again), subscribed to all
// its codes or to the scan's, and — when the scan has a bot verdict — not
// for humans only; not an operational endpoint. Its placeholders are the
// scan's workspace, code and bot verdict. The outbox writer asks whether
// any endpoint takes a scan (EndpointTakesScan), the dispatcher which
// ones (SubscribedEndpoints).
const endpointTakes = `e.workspace_id = %[1]s AND NOT e.operational AND (NOT e.human_only OR NOT %[3]s)` +
	` AND (e.all_codes OR EXISTS (SELECT 1 FROM endpoint_codes c WHERE c.endpoint_id = e.id AND c.code_id = %[2]s))`

// EndpointTakesScan returns the SQL condition that some endpoint takes a
// scan of the workspace, code and bot verdict given as SQL expressions
// (placeholders or columns).
func EndpointTakesScan(workspace, code, isBot string) string {
	return `EXISTS (SELECT 1 FROM endpoints e WHERE ` + fmt.Sprintf(endpointTakes, workspace, code, isBot) + `)`
}

// SubscribedEndpoints returns the endpoints that take a scan of codeID in
// workspaceID with the bot verdict isBot (see endpointTakes), by ID.
func (s *Store) SubscribedEndpoints(ctx context.Context, workspaceID, codeID string, isBot bool) ([]Endpoint, error) {
	var out []Endpoint
	db, unlock, err := s.WriteDB(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	err = db.Table("endpoints AS e").Where(fmt.Sprintf(endpointTakes, "@workspace", "@code", "@bot"),
		sql.Named("workspace", workspaceID), sql.Named("code", codeID), sql.Named("bot", isBot)).
		Order("e.id").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("endpoints taking scans of code %q: %w", codeID, err)
	}
	withoutSecrets(out)
	return out, nil
}
