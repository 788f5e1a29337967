-- Every API key, revoked ones included, newest first.
SELECT id, name, role, prefix, created_at, last_used_at, revoked_at FROM api_keys ORDER BY id DESC
