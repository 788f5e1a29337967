-- Monthly totals of one measure of a dataset's cube for a jurisdiction (everyone), in month order.
SELECT date_trunc('month', day)::DATE AS month, sum(value) AS value
FROM metric_cube
WHERE dataset = $1 AND jurisdiction_id = $2 AND dim = 'all' AND measure = $3
GROUP BY 1
ORDER BY 1
