-- Marks a committed batch superseded by a newer one (its rows are deleted in the same transaction).
UPDATE import_batches SET status = 'superseded', superseded_by = ? WHERE id = ? AND status = 'committed'
