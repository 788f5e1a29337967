SELECT id, dataset, jurisdiction_id, date_min, date_max FROM import_batches WHERE status = 'committed' ORDER BY id
