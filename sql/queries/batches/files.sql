SELECT role, name, sha256, bytes
FROM import_batch_files
WHERE batch_id = ?
ORDER BY rowid
