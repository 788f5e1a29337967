-- A jurisdiction's population of a group for the year nearest the one asked (later years win ties; the
-- newest batch wins duplicates).
SELECT population, year, source
FROM populations
WHERE jurisdiction_id = $1 AND "group" = $2
ORDER BY abs(year - $3), year DESC, batch_id DESC
LIMIT 1
