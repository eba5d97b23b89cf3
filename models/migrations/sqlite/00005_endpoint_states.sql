-- Endpoint states (issue 19): an operator pause, why an endpoint was
-- disabled, the failure record auto-disabling reads, and operational
-- endpoints (they receive events about the workspace's webhooks, no scans).

-- +goose Up
ALTER TABLE `endpoints` ADD COLUMN `paused_at` datetime;
ALTER TABLE `endpoints` ADD COLUMN `disabled_cause` text NOT NULL DEFAULT "";
ALTER TABLE `endpoints` ADD COLUMN `failing_since` datetime;
ALTER TABLE `endpoints` ADD COLUMN `give_ups` integer NOT NULL DEFAULT 0;
ALTER TABLE `endpoints` ADD COLUMN `operational` numeric NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE `endpoints` DROP COLUMN `operational`;
ALTER TABLE `endpoints` DROP COLUMN `give_ups`;
ALTER TABLE `endpoints` DROP COLUMN `failing_since`;
ALTER TABLE `endpoints` DROP COLUMN `disabled_cause`;
ALTER TABLE `endpoints` DROP COLUMN `paused_at`;
