-- All-time sums of a dataset's cube for a jurisdiction, with its first and last day.
SELECT min(day) AS first_day, max(day) AS last_day, dim, grp, measure, sum(value) AS value
FROM metric_cube
WHERE dataset = $1 AND jurisdiction_id = $2
GROUP BY dim, grp, measure
