SELECT day, dim, grp, measure, value
FROM metric_cube
WHERE dataset = $1 AND jurisdiction_id = $2
