-- Sets the given attributes of a jurisdiction; NULL parameters leave an attribute as it is.
UPDATE jurisdictions SET
    name = coalesce(?, name),
    kind = coalesce(?, kind),
    parent_id = coalesce(?, parent_id),
    state = coalesce(?, state),
    fips = coalesce(?, fips),
    lat = coalesce(?, lat),
    lng = coalesce(?, lng),
    timezone = coalesce(?, timezone),
    population_benchmark_id = coalesce(?, population_benchmark_id)
WHERE id = ?
