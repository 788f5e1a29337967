SELECT lines_read, blank_lines, rows_filtered, records_superseded, rules
FROM import_batch_details
WHERE batch_id = ?
