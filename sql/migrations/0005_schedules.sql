-- Runs of the scheduled imports (`[[schedule]]` in the configuration), run by `oversight serve`.

CREATE SEQUENCE schedule_run_ids START 1;

CREATE TABLE schedule_runs (
    id BIGINT PRIMARY KEY DEFAULT nextval('schedule_run_ids'),
    schedule VARCHAR NOT NULL,
    -- 'cron', 'manual' or 'catch-up'
    trigger VARCHAR NOT NULL,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    -- 'running', 'ok' (nothing failed), 'partial' (some files failed) or 'failed' (the source could not be read)
    outcome VARCHAR NOT NULL,
    files_imported BIGINT NOT NULL DEFAULT 0,
    files_skipped BIGINT NOT NULL DEFAULT 0,
    files_failed BIGINT NOT NULL DEFAULT 0,
    rows_accepted BIGINT NOT NULL DEFAULT 0,
    -- The batches the run created, as a JSON array.
    batches VARCHAR NOT NULL DEFAULT '[]',
    -- What failed, one line per file or the source error.
    error VARCHAR
);
