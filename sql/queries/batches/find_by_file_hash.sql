-- The newest committed batch of a dataset that read a file with this sha256.
SELECT b.id
FROM import_batches b
JOIN import_batch_files f ON f.batch_id = b.id
WHERE b.dataset = ? AND f.sha256 = ? AND b.status = 'committed'
ORDER BY b.id DESC
LIMIT 1
