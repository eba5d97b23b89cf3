-- Endpoint states (issue 19): an operator pause, why an endpoint was
-- disabled, the failure record auto-disabling reads, and operational
-- endpoints (they receive events about the workspace's webhooks, no scans).

-- +goose Up
ALTER TABLE endpoints ADD COLUMN paused_at timestamp with time zone;
ALTER TABLE endpoints ADD COLUMN disabled_cause character varying(20) DEFAULT ''::character varying NOT NULL;
ALTER TABLE endpoints ADD COLUMN failing_since timestamp with time zone;
ALTER TABLE endpoints ADD COLUMN give_ups bigint DEFAULT 0 NOT NULL;
ALTER TABLE endpoints ADD COLUMN operational boolean DEFAULT false NOT NULL;

-- +goose Down
ALTER TABLE endpoints DROP COLUMN operational;
ALTER TABLE endpoints DROP COLUMN give_ups;
ALTER TABLE endpoints DROP COLUMN failing_since;
ALTER TABLE endpoints DROP COLUMN disabled_cause;
ALTER TABLE endpoints DROP COLUMN paused_at;
