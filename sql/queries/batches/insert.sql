INSERT INTO import_batches (
    id, dataset, profile, profile_sha256, file_names, sha256, bytes, jurisdiction_id, rows_read, rows_accepted,
    rows_rejected, date_min, date_max, started_at, finished_at, status, replaces, origin, message
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
