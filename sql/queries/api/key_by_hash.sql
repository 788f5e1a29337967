-- The live key with this hash.
SELECT id, name, role, prefix, created_at, last_used_at, revoked_at
FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL
