-- +goose Up
ALTER TABLE `endpoints` ADD `body_signature` numeric NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE `endpoints` DROP COLUMN `body_signature`;
