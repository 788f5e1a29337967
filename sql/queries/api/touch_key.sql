UPDATE api_keys SET last_used_at = current_timestamp WHERE id = $1
