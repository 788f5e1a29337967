-- The audit log, newest first; cursor: entries before this id.
SELECT id, logged_at, key_name, method, endpoint, parameters, status, "rows"
FROM audit_log WHERE ($1::BIGINT IS NULL OR id < $1) ORDER BY id DESC LIMIT $2
