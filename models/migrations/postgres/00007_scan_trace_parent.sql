-- The W3C traceparent of the span that recorded a scan (NULL: untraced),
-- so that a scan dispatched by the outbox's poll continues its trace.

-- +goose Up
ALTER TABLE scans ADD COLUMN trace_parent text;

-- +goose Down
ALTER TABLE scans DROP COLUMN trace_parent;
