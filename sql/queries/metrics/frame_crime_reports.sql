SELECT jurisdiction_id, reported_date AS date, victim_race AS race, offense_category AS offense
FROM crime_reports
WHERE jurisdiction_id = $1 AND reported_date BETWEEN $2 AND $3
