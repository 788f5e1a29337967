-- Creates a jurisdiction if it does not exist yet; an existing one is left as it is.
INSERT INTO jurisdictions (id, name, kind, parent_id, state, fips, lat, lng, timezone, population_benchmark_id)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO NOTHING
