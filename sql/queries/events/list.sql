-- Policy events, optionally of one jurisdiction, by effective date then id; cursor: after this id.
SELECT id, jurisdiction_id, effective_date, kind, title, source, agency, batch_id
FROM policy_events
WHERE ($1::VARCHAR IS NULL OR jurisdiction_id = $1) AND ($2::BIGINT IS NULL OR id > $2)
ORDER BY id
LIMIT $3
