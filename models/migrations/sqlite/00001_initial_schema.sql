-- The schema as the last release's GORM AutoMigrate left it, in the same
-- words (its column types and the "" default included). Databases made by
-- that release are adopted at this version without running it (see
-- adoptAutoMigrated in migrate.go).

-- +goose Up
CREATE TABLE `workspaces` (`id` text,`name` text NOT NULL,`created_at` datetime,PRIMARY KEY (`id`));

CREATE TABLE `api_keys` (`id` text,`workspace_id` text NOT NULL,`name` text,`prefix` text NOT NULL,`hash` text NOT NULL,`created_at` datetime,`last_used_at` datetime,`revoked_at` datetime,PRIMARY KEY (`id`));
CREATE UNIQUE INDEX `idx_api_keys_hash` ON `api_keys`(`hash`);
CREATE INDEX `idx_api_keys_workspace_id` ON `api_keys`(`workspace_id`);

CREATE TABLE `codes` (`id` text,`workspace_id` text NOT NULL,`slug` text NOT NULL,`name` text,`destination_url` text NOT NULL,`active` numeric NOT NULL,`created_at` datetime,`updated_at` datetime,PRIMARY KEY (`id`));
CREATE UNIQUE INDEX `idx_codes_slug` ON `codes`(`slug`);
CREATE INDEX `idx_codes_workspace_id` ON `codes`(`workspace_id`);

CREATE TABLE `endpoints` (`id` text,`workspace_id` text NOT NULL,`url` text NOT NULL,`description` text,`secret` text NOT NULL,`enabled` numeric NOT NULL,`disabled_reason` text,`all_codes` numeric NOT NULL,`human_only` numeric NOT NULL DEFAULT false,`created_at` datetime,`updated_at` datetime,`previous_secret` text NOT NULL DEFAULT "",`previous_secret_expires_at` datetime,`secret_rotated_at` datetime,PRIMARY KEY (`id`));
CREATE INDEX `idx_endpoints_workspace_id` ON `endpoints`(`workspace_id`);

CREATE TABLE `endpoint_codes` (`endpoint_id` text,`code_id` text,PRIMARY KEY (`endpoint_id`,`code_id`));
CREATE INDEX `idx_endpoint_codes_code_id` ON `endpoint_codes`(`code_id`);

-- The outbox reads idx_scans_pending (pending scans only); analytics read
-- idx_scans_code_time. Every index costs each redirect an insert.
CREATE TABLE `scans` (`id` text,`workspace_id` text NOT NULL,`code_id` text NOT NULL,`slug` text NOT NULL,`code_name` text,`timestamp` datetime NOT NULL,`source` text NOT NULL,`destination_url` text NOT NULL,`ip` text,`country` text,`country_code` text,`region` text,`city` text,`latitude` real,`longitude` real,`timezone` text,`device_type` text,`browser` text,`browser_version` text,`os` text,`os_version` text,`referrer` text,`user_agent` text,`is_bot` numeric NOT NULL,`bot_reason` text,`dispatched_at` datetime,PRIMARY KEY (`id`));
CREATE INDEX `idx_scans_code_time` ON `scans`(`code_id`,`timestamp`,`id`);
CREATE INDEX `idx_scans_pending` ON `scans`(`id`) WHERE dispatched_at IS NULL;

-- +goose Down
DROP TABLE `scans`;
DROP TABLE `endpoint_codes`;
DROP TABLE `endpoints`;
DROP TABLE `codes`;
DROP TABLE `api_keys`;
DROP TABLE `workspaces`;
