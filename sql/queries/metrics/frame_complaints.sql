SELECT jurisdiction_id, complaint_id, received_date AS date, closed_date, complainant_race AS race
FROM complaints
WHERE jurisdiction_id = $1 AND received_date BETWEEN $2 AND $3
