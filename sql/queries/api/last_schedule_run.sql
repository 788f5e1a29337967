-- The latest run of a schedule.
SELECT id, schedule, trigger, started_at, finished_at, outcome, files_imported, files_skipped, files_failed,
       rows_accepted, batches, error
FROM schedule_runs WHERE schedule = $1 ORDER BY id DESC LIMIT 1
