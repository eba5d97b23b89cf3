-- The schema as the last release's GORM AutoMigrate left it. Databases made
-- by that release are adopted at this version without running it (see
-- adoptAutoMigrated in migrate.go).

-- +goose Up
CREATE TABLE workspaces (
    id character varying(40) NOT NULL,
    name character varying(200) NOT NULL,
    created_at timestamp with time zone,
    CONSTRAINT workspaces_pkey PRIMARY KEY (id)
);

CREATE TABLE api_keys (
    id character varying(40) NOT NULL,
    workspace_id character varying(40) NOT NULL,
    name character varying(200),
    prefix character varying(20) NOT NULL,
    hash character varying(64) NOT NULL,
    created_at timestamp with time zone,
    last_used_at timestamp with time zone,
    revoked_at timestamp with time zone,
    CONSTRAINT api_keys_pkey PRIMARY KEY (id)
);
CREATE UNIQUE INDEX idx_api_keys_hash ON api_keys (hash);
CREATE INDEX idx_api_keys_workspace_id ON api_keys (workspace_id);

CREATE TABLE codes (
    id character varying(40) NOT NULL,
    workspace_id character varying(40) NOT NULL,
    slug character varying(64) NOT NULL,
    name character varying(200),
    destination_url character varying(2048) NOT NULL,
    active boolean NOT NULL,
    created_at timestamp with time zone,
    updated_at timestamp with time zone,
    CONSTRAINT codes_pkey PRIMARY KEY (id)
);
CREATE UNIQUE INDEX idx_codes_slug ON codes (slug);
CREATE INDEX idx_codes_workspace_id ON codes (workspace_id);

CREATE TABLE endpoints (
    id character varying(40) NOT NULL,
    workspace_id character varying(40) NOT NULL,
    url character varying(2048) NOT NULL,
    description character varying(500),
    secret character varying(200) NOT NULL,
    enabled boolean NOT NULL,
    disabled_reason character varying(200),
    all_codes boolean NOT NULL,
    human_only boolean DEFAULT false NOT NULL,
    created_at timestamp with time zone,
    updated_at timestamp with time zone,
    previous_secret character varying(200) DEFAULT ''::character varying NOT NULL,
    previous_secret_expires_at timestamp with time zone,
    secret_rotated_at timestamp with time zone,
    CONSTRAINT endpoints_pkey PRIMARY KEY (id)
);
CREATE INDEX idx_endpoints_workspace_id ON endpoints (workspace_id);

CREATE TABLE endpoint_codes (
    endpoint_id character varying(40) NOT NULL,
    code_id character varying(40) NOT NULL,
    CONSTRAINT endpoint_codes_pkey PRIMARY KEY (endpoint_id, code_id)
);
CREATE INDEX idx_endpoint_codes_code_id ON endpoint_codes (code_id);

-- The outbox reads idx_scans_pending (pending scans only); analytics read
-- idx_scans_code_time. Every index costs each redirect an insert.
CREATE TABLE scans (
    id character varying(40) NOT NULL,
    workspace_id character varying(40) NOT NULL,
    code_id character varying(40) NOT NULL,
    slug character varying(64) NOT NULL,
    code_name character varying(200),
    "timestamp" timestamp with time zone NOT NULL,
    source character varying(8) NOT NULL,
    destination_url character varying(2048) NOT NULL,
    ip character varying(45),
    country character varying(100),
    country_code character varying(2),
    region character varying(100),
    city character varying(100),
    latitude numeric,
    longitude numeric,
    timezone character varying(64),
    device_type character varying(16),
    browser character varying(64),
    browser_version character varying(64),
    os character varying(64),
    os_version character varying(64),
    referrer character varying(2048),
    user_agent character varying(1024),
    is_bot boolean NOT NULL,
    bot_reason character varying(32),
    dispatched_at timestamp with time zone,
    CONSTRAINT scans_pkey PRIMARY KEY (id)
);
CREATE INDEX idx_scans_code_time ON scans (code_id, "timestamp", id);
CREATE INDEX idx_scans_pending ON scans (id) WHERE dispatched_at IS NULL;

-- +goose Down
DROP TABLE scans;
DROP TABLE endpoint_codes;
DROP TABLE endpoints;
DROP TABLE codes;
DROP TABLE api_keys;
DROP TABLE workspaces;
