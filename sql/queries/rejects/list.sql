-- Rejects of a batch in source order; the second parameter is the cursor (the seq after which to start).
SELECT batch_id, seq, file, line, "column", value, reason
FROM import_rejects
WHERE batch_id = ? AND seq > ?
ORDER BY seq
LIMIT ?
