SELECT
    jurisdiction_id,
    received_date AS date,
    outcome_date,
    criminality,
    outcome,
    judicial_warrant AS warrant,
    citizenship_country AS country,
    sex,
    most_serious_charge_severity AS severity,
    subject_race AS race
FROM detainers
WHERE jurisdiction_id = $1 AND received_date BETWEEN $2 AND $3
