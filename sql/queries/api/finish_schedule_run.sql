UPDATE schedule_runs
SET finished_at = $2, outcome = $3, files_imported = $4, files_skipped = $5, files_failed = $6, rows_accepted = $7,
    batches = $8, error = $9
WHERE id = $1
