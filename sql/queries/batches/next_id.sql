SELECT nextval('import_batch_ids')
