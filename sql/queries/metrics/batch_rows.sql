-- The committed batches of a dataset that name this jurisdiction ($2), or name none (their rows carry
-- their own jurisdictions): id, whether it names it, rows read, rows rejected.
SELECT id, jurisdiction_id IS NOT NULL AS names_it, rows_read, rows_rejected
FROM import_batches
WHERE status = 'committed' AND dataset = $1 AND (jurisdiction_id = $2 OR jurisdiction_id IS NULL)
