SELECT id, started_at, finished_at, status, parameters, code_version, batches, points_written, points_deleted, message FROM metric_runs ORDER BY id DESC LIMIT $1
