-- The committed batch holding this input (dataset, profile, combined sha256), if any.
SELECT id, dataset, profile, profile_sha256, sha256, bytes, jurisdiction_id, rows_read, rows_accepted, rows_rejected,
       date_min, date_max, started_at, finished_at, status, replaces, superseded_by, origin, message
FROM import_batches
WHERE dataset = ? AND profile = ? AND sha256 = ? AND status = 'committed'
ORDER BY id DESC
LIMIT 1
