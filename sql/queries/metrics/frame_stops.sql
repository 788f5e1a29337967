-- Stops of one jurisdiction in a date range, as the stop indicators read them. An arrest or citation is
-- taken from its flag, or from the outcome where the source has no flag.
SELECT
    date,
    subject_race AS race,
    subject_sex AS sex,
    subject_age AS age,
    search_conducted AS searched,
    contraband_found AS found,
    coalesce(arrest_made, CASE WHEN outcome IS NULL THEN NULL ELSE outcome = 'arrest' END) AS arrested,
    coalesce(citation_issued, CASE WHEN outcome IS NULL THEN NULL ELSE outcome = 'citation' END) AS cited,
    referred_to_immigration AS referred
FROM stops
WHERE jurisdiction_id = $1 AND date BETWEEN $2 AND $3
