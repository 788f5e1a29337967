INSERT INTO metric_runs (id, started_at, finished_at, status, parameters, code_version, batches, points_written, points_deleted, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
