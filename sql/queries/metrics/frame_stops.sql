-- Stops of one jurisdiction in a date range, as the stop indicators read them. Race and sex come as their
-- 1-based position in the code lists (oversight_core::Race::ALL, Sex::ALL; a test checks the order), which
-- polars groups far faster than text. An arrest or citation is taken from its flag, or from the outcome
-- where the source has no flag. Spark runs this too (the cube job in contrib/spark): keep to SQL both read.
SELECT
    jurisdiction_id,
    date,
    CAST(CASE subject_race
        WHEN 'asian/pacific islander' THEN 1 WHEN 'black' THEN 2 WHEN 'hispanic' THEN 3 WHEN 'white' THEN 4
        WHEN 'other' THEN 5 WHEN 'unknown' THEN 6 END AS INTEGER) AS race,
    CAST(CASE subject_sex WHEN 'male' THEN 1 WHEN 'female' THEN 2 WHEN 'other' THEN 3 WHEN 'unknown' THEN 4 END AS INTEGER) AS sex,
    subject_age AS age,
    search_conducted AS searched,
    contraband_found AS found,
    coalesce(arrest_made, CASE WHEN outcome IS NULL THEN NULL ELSE outcome = 'arrest' END) AS arrested,
    coalesce(citation_issued, CASE WHEN outcome IS NULL THEN NULL ELSE outcome = 'citation' END) AS cited,
    referred_to_immigration AS referred,
    frisk_performed AS frisked
FROM stops
WHERE jurisdiction_id = $1 AND date BETWEEN $2 AND $3
