-- An indicator's points of a jurisdiction whose group matches $5 (LIKE): every all-time point and the
-- periods starting in [$3, $4].
DELETE FROM metric_points
WHERE indicator = $1 AND jurisdiction_id = $2 AND "group" LIKE $5
  AND (grain = 'all' OR period_start BETWEEN $3 AND $4)
