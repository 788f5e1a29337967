SELECT indicator, jurisdiction_id, grain, period_start, "group", numerator, denominator, value, ci_low, ci_high,
       ci_method, reference_group, reference_numerator, reference_denominator, suppressed, suppression_reason,
       low_reliability, note, run_id
FROM metric_points
WHERE $1::VARCHAR IS NULL OR jurisdiction_id = $1
ORDER BY indicator, jurisdiction_id, grain, period_start, "group"
