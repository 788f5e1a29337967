-- Fills attributes a jurisdiction lacks; never overwrites one that is set. A name equal to the id is a
-- placeholder and counts as lacking; so does kind 'other'.
UPDATE jurisdictions SET
    name = CASE WHEN name = id THEN coalesce(?, name) ELSE name END,
    kind = CASE WHEN kind = 'other' THEN coalesce(?, kind) ELSE kind END,
    parent_id = coalesce(parent_id, ?),
    state = coalesce(state, ?),
    fips = coalesce(fips, ?),
    lat = coalesce(lat, ?),
    lng = coalesce(lng, ?),
    timezone = coalesce(timezone, ?)
WHERE id = ?
