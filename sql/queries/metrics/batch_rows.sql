-- Rows read and rejected by the committed batches of a dataset that name this jurisdiction or hold its
-- records. $TABLE is the dataset's record table (a closed set, substituted by the store).
SELECT coalesce(sum(rows_read), 0), coalesce(sum(rows_rejected), 0)
FROM import_batches
WHERE status = 'committed' AND dataset = $1
  AND (jurisdiction_id = $2 OR id IN (SELECT DISTINCT batch_id FROM $TABLE WHERE jurisdiction_id = $2))
