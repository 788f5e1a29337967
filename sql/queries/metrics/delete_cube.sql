DELETE FROM metric_cube WHERE dataset = $1 AND jurisdiction_id = $2 AND day BETWEEN $3 AND $4
