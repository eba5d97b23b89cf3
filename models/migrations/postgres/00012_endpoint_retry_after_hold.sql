-- A receiver's Retry-After on an endpoint without limits (issue 19): until
-- held_until its deliveries go through the pacer, so the hold reaches its
-- whole backlog; attempts read it with the endpoint they load anyway.

-- +goose Up
ALTER TABLE endpoints ADD COLUMN held_until timestamp with time zone;

-- +goose Down
ALTER TABLE endpoints DROP COLUMN held_until;
