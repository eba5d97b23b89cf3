-- Per-endpoint rate limit and concurrency (issue 19 item 4). rate_limit is
-- deliveries per second (NULL: unlimited), max_in_flight concurrent
-- attempts (NULL: unlimited). endpoint_pacing holds each limited endpoint's
-- next free send time, its last send and the end of its receiver's last
-- Retry-After (unix microseconds), endpoint_in_flight the leases of attempts
-- sending now; both are shared by every worker.

-- +goose Up
ALTER TABLE `endpoints` ADD COLUMN `rate_limit` real;
ALTER TABLE `endpoints` ADD COLUMN `max_in_flight` integer;
CREATE TABLE `endpoint_pacing` (
    `endpoint_id` text PRIMARY KEY,
    `next_at` integer NOT NULL,
    `sent_at` integer NOT NULL DEFAULT 0,
    `held_until` integer NOT NULL DEFAULT 0
);
CREATE TABLE `endpoint_in_flight` (
    `endpoint_id` text NOT NULL,
    `lease_id` text NOT NULL,
    `expires_at` integer NOT NULL,
    PRIMARY KEY (`endpoint_id`, `lease_id`)
);

-- +goose Down
DROP TABLE `endpoint_in_flight`;
DROP TABLE `endpoint_pacing`;
ALTER TABLE `endpoints` DROP COLUMN `max_in_flight`;
ALTER TABLE `endpoints` DROP COLUMN `rate_limit`;
