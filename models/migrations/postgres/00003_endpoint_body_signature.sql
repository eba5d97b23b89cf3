-- +goose Up
ALTER TABLE endpoints ADD COLUMN body_signature boolean DEFAULT false NOT NULL;

-- +goose Down
ALTER TABLE endpoints DROP COLUMN body_signature;
