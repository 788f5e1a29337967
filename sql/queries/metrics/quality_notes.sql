SELECT dataset, jurisdiction_id, code, message, value
FROM quality_notes
WHERE $1::VARCHAR IS NULL OR jurisdiction_id = $1
ORDER BY jurisdiction_id, dataset, code
