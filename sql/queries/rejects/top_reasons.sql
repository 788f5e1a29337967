SELECT reason, count(DISTINCT (file, line)) AS n
FROM import_rejects
WHERE batch_id = ?
GROUP BY reason
ORDER BY n DESC, reason
LIMIT ?
