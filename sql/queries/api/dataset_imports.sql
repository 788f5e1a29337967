-- Per dataset: committed batches, rows read, accepted and rejected, the last import.
SELECT dataset, count(*), sum(rows_read), sum(rows_accepted), sum(rows_rejected), max(finished_at)
FROM import_batches WHERE status = 'committed' GROUP BY dataset
