-- Stops, searches and hits by district and race, for the threshold test, with the stops it cannot use
-- counted: no recorded search decision, searched with no recorded result, contraband without a search. (Every
-- stop has a date: the importers reject rows without one.)
SELECT
    district,
    subject_race,
    count(*) AS stops,
    count(*) FILTER (WHERE search_conducted IS NULL) AS search_unknown,
    count(*) FILTER (WHERE search_conducted AND contraband_found IS NULL) AS result_unknown,
    count(*) FILTER (WHERE NOT search_conducted AND contraband_found) AS contraband_without_search,
    count(*) FILTER (WHERE search_conducted AND contraband_found IS NOT NULL) AS searches,
    count(*) FILTER (WHERE search_conducted AND contraband_found) AS hits
FROM stops
WHERE jurisdiction_id = $1 AND date BETWEEN $2 AND $3
GROUP BY district, subject_race
ORDER BY district NULLS LAST, subject_race NULLS LAST
