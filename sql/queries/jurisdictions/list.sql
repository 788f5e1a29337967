SELECT id, name, kind, parent_id, state, fips, lat, lng, timezone, population_benchmark_id
FROM jurisdictions
WHERE id > ?
ORDER BY id
LIMIT ?
