-- One period of an indicator in every jurisdiction (one grain, one group): the comparison across agencies.
SELECT indicator, jurisdiction_id, grain, period_start, "group", numerator, denominator, value, ci_low, ci_high,
       ci_method, reference_group, reference_numerator, reference_denominator, suppressed, suppression_reason,
       low_reliability, note, run_id
FROM metric_points
WHERE indicator = $1 AND grain = $2 AND period_start = $3 AND "group" = $4
ORDER BY jurisdiction_id
