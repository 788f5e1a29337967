-- One group's points of every indicator for a jurisdiction and grain (a page's headlines and their charts), in
-- one scan, in indicator and period order.
SELECT indicator, jurisdiction_id, grain, period_start, "group", numerator, denominator, value, ci_low, ci_high,
       ci_method, reference_group, reference_numerator, reference_denominator, suppressed, suppression_reason,
       low_reliability, note, run_id
FROM metric_points
WHERE jurisdiction_id = $1 AND grain = $2 AND "group" = $3
ORDER BY indicator, period_start
