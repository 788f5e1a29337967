SELECT id, jurisdiction_id, effective_date, kind, title, source, agency, batch_id
FROM policy_events
WHERE id = $1
