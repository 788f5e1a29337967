INSERT INTO schedule_runs (schedule, trigger, started_at, outcome) VALUES ($1, $2, $3, 'running') RETURNING id
