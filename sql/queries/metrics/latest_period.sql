-- The latest period an indicator has points for at a grain (any jurisdiction): the comparison's default period.
SELECT max(period_start) FROM metric_points WHERE indicator = $1 AND grain = $2 AND "group" = $3
