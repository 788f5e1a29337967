INSERT INTO quality_notes (dataset, jurisdiction_id, code, message, value, run_id) VALUES (?, ?, ?, ?, ?, ?)
