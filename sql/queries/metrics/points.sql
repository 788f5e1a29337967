-- One series: an indicator's points for a jurisdiction and grain (one group, or all of them), in period order.
SELECT indicator, jurisdiction_id, grain, period_start, "group", numerator, denominator, value, ci_low, ci_high,
       ci_method, reference_group, reference_numerator, reference_denominator, suppressed, suppression_reason,
       low_reliability, note, run_id
FROM metric_points
WHERE indicator = $1 AND jurisdiction_id = $2 AND grain = $3 AND ($4::VARCHAR IS NULL OR "group" = $4)
  AND period_start BETWEEN $5 AND $6
ORDER BY period_start, "group"
