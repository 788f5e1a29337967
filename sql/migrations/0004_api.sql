-- API keys and the audit log (the REST layer).

CREATE SEQUENCE api_key_ids START 1;

CREATE TABLE api_keys (
    id BIGINT PRIMARY KEY DEFAULT nextval('api_key_ids'),
    name VARCHAR NOT NULL,
    -- viewer < analyst < admin
    role VARCHAR NOT NULL,
    -- The first characters of the key, to recognise it in lists; the key itself is never stored.
    prefix VARCHAR NOT NULL,
    -- sha256 of the whole key, hex.
    key_hash VARCHAR NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP
);

CREATE SEQUENCE audit_ids START 1;

CREATE TABLE audit_log (
    id BIGINT PRIMARY KEY DEFAULT nextval('audit_ids'),
    logged_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    -- The key's name, or 'anonymous' for public extracts.
    key_name VARCHAR NOT NULL,
    method VARCHAR NOT NULL,
    endpoint VARCHAR NOT NULL,
    -- The request's query string and route parameters, as JSON.
    parameters VARCHAR NOT NULL,
    status INTEGER NOT NULL,
    -- Rows written, imported or extracted (when known).
    "rows" BIGINT
);
