-- An event added by hand (CLI or API): no batch, no source row.
INSERT INTO policy_events (jurisdiction_id, effective_date, kind, raw_kind, title, source, agency)
VALUES ($1, $2, $3, $3, $4, $5, $6)
RETURNING id
