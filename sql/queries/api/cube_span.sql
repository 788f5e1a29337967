-- The first and last day a dataset's cube covers in [$3, $4].
SELECT min(day), max(day) FROM metric_cube WHERE dataset = $1 AND jurisdiction_id = $2 AND day BETWEEN $3 AND $4
