-- A new API key (its hash only).
INSERT INTO api_keys (name, role, prefix, key_hash) VALUES ($1, $2, $3, $4)
RETURNING id, name, role, prefix, created_at, last_used_at, revoked_at
