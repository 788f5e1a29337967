INSERT INTO import_batch_files (batch_id, role, name, sha256, bytes) VALUES (?, ?, ?, ?, ?)
