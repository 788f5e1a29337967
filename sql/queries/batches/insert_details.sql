INSERT INTO import_batch_details (batch_id, lines_read, blank_lines, rows_filtered, records_superseded, rules)
VALUES (?, ?, ?, ?, ?, ?)
