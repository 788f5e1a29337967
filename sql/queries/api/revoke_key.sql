-- Revokes a key (kept for the audit trail).
UPDATE api_keys SET revoked_at = current_timestamp WHERE id = $1 AND revoked_at IS NULL
