-- The cube days of a dataset and jurisdiction in [$3, $4].
SELECT day, dim, grp, measure, value
FROM metric_cube
WHERE dataset = $1 AND jurisdiction_id = $2 AND day BETWEEN $3 AND $4
