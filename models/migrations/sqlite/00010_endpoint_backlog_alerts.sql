-- Parked backlog alerts (issue 19): an endpoint whose parked deliveries
-- rose above the alert threshold has a row here from the moment
-- endpoint.paused_backlog was sent until the backlog falls back or the
-- endpoint takes deliveries again. The row's insert is the claim: of
-- several serve replicas checking at once, one sends the event.

-- +goose Up
CREATE TABLE `endpoint_backlog_alerts` (
    `endpoint_id` text PRIMARY KEY REFERENCES `endpoints` (`id`) ON DELETE CASCADE,
    `parked` integer NOT NULL,
    `alerted_at` datetime NOT NULL
);

-- +goose Down
DROP TABLE `endpoint_backlog_alerts`;
