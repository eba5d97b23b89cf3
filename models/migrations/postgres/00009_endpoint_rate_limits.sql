-- Per-endpoint rate limit and concurrency (issue 19 item 4). rate_limit is
-- deliveries per second (NULL: unlimited), max_in_flight concurrent
-- attempts (NULL: unlimited). endpoint_pacing holds each limited endpoint's
-- next free send time, its last send and the end of its receiver's last
-- Retry-After (unix microseconds), endpoint_in_flight the leases of attempts
-- sending now; both are shared by every worker.

-- +goose Up
ALTER TABLE endpoints ADD COLUMN rate_limit double precision;
ALTER TABLE endpoints ADD COLUMN max_in_flight bigint;
CREATE TABLE endpoint_pacing (
    endpoint_id character varying(40) PRIMARY KEY,
    next_at bigint NOT NULL,
    sent_at bigint DEFAULT 0 NOT NULL,
    held_until bigint DEFAULT 0 NOT NULL
);
CREATE TABLE endpoint_in_flight (
    endpoint_id character varying(40) NOT NULL,
    lease_id character varying(64) NOT NULL,
    expires_at bigint NOT NULL,
    PRIMARY KEY (endpoint_id, lease_id)
);

-- +goose Down
DROP TABLE endpoint_in_flight;
DROP TABLE endpoint_pacing;
ALTER TABLE endpoints DROP COLUMN max_in_flight;
ALTER TABLE endpoints DROP COLUMN rate_limit;
