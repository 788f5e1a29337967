-- Allegations with their complaint's received date and complainant race (the same batch holds both).
SELECT
    c.jurisdiction_id,
    a.complaint_id,
    c.received_date AS date,
    c.complainant_race AS race,
    a.category,
    a.finding,
    a.discipline_outcome AS outcome,
    a.officer_race,
    a.officer_key
FROM allegations a
JOIN complaints c ON c.batch_id = a.batch_id AND c.complaint_id = a.complaint_id
WHERE c.jurisdiction_id = $1 AND c.received_date BETWEEN $2 AND $3
