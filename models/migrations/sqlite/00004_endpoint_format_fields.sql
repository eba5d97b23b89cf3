-- An endpoint's body format (scanforge, slack, discord, google_chat, teams)
-- and its field privacy policy (JSON; '' sends every field).

-- +goose Up
ALTER TABLE `endpoints` ADD COLUMN `format` text NOT NULL DEFAULT "scanforge";
ALTER TABLE `endpoints` ADD COLUMN `field_policy` text NOT NULL DEFAULT "";

-- +goose Down
ALTER TABLE `endpoints` DROP COLUMN `field_policy`;
ALTER TABLE `endpoints` DROP COLUMN `format`;
