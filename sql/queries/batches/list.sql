-- Newest first; the first parameter is the cursor (ids below it).
SELECT id, dataset, profile, profile_sha256, sha256, bytes, jurisdiction_id, rows_read, rows_accepted, rows_rejected,
       date_min, date_max, started_at, finished_at, status, replaces, superseded_by, origin, message
FROM import_batches
WHERE id < ?
ORDER BY id DESC
LIMIT ?
