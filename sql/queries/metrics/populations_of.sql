-- Every population figure of a jurisdiction (the newest batch's where several give the same year and group).
SELECT "group", year, population, source
FROM populations
WHERE jurisdiction_id = $1
QUALIFY row_number() OVER (PARTITION BY "group", year ORDER BY batch_id DESC) = 1
ORDER BY "group", year
