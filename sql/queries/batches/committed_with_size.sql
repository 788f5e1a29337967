-- Is there a committed batch of this dataset and profile with exactly this many input bytes?
SELECT 1 FROM import_batches WHERE dataset = ? AND profile = ? AND bytes = ? AND status = 'committed' LIMIT 1
