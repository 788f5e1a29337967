-- A dataset's cube summed over [$3, $4] for one dimension of groups: per group and measure.
SELECT grp, measure, sum(value) AS value
FROM metric_cube
WHERE dataset = $1 AND jurisdiction_id = $2 AND dim = $5 AND day BETWEEN $3 AND $4
GROUP BY grp, measure
ORDER BY grp, measure
