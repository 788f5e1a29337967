-- The daily cube of every dataset, as Spark SQL over the lake's record tables (each registered as a
-- view under its table name). Generated from the cube definitions in oversight-metrics (cube.rs) by
-- `oversight lake cube-sql`: do not edit; regenerate.

-- cube: stops
WITH frame AS (
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
),
fine AS (
    SELECT jurisdiction_id, date AS day
        , race AS d_race
        , sex AS d_sex
        , CASE WHEN age < 18 THEN 1 WHEN age < 25 THEN 2 WHEN age < 35 THEN 3 WHEN age < 45 THEN 4 WHEN age < 55 THEN 5 WHEN age < 65 THEN 6 WHEN age IS NOT NULL THEN 7 END AS d_age
        , CASE WHEN TRUE THEN 1 ELSE 0 END AS m_stops
        , CASE WHEN (searched IS NOT NULL) THEN 1 ELSE 0 END AS m_search_known
        , CASE WHEN coalesce(searched, FALSE) THEN 1 ELSE 0 END AS m_searches
        , CASE WHEN (coalesce(searched, FALSE) AND (found IS NOT NULL)) THEN 1 ELSE 0 END AS m_found_known
        , CASE WHEN (coalesce(searched, FALSE) AND coalesce(found, FALSE)) THEN 1 ELSE 0 END AS m_found
        , CASE WHEN (arrested IS NOT NULL) THEN 1 ELSE 0 END AS m_arrest_known
        , CASE WHEN coalesce(arrested, FALSE) THEN 1 ELSE 0 END AS m_arrests
        , CASE WHEN (cited IS NOT NULL) THEN 1 ELSE 0 END AS m_citation_known
        , CASE WHEN coalesce(cited, FALSE) THEN 1 ELSE 0 END AS m_citations
        , CASE WHEN (referred IS NOT NULL) THEN 1 ELSE 0 END AS m_referral_known
        , CASE WHEN coalesce(referred, FALSE) THEN 1 ELSE 0 END AS m_referrals
        , CASE WHEN (frisked IS NOT NULL) THEN 1 ELSE 0 END AS m_frisk_known
        , CASE WHEN coalesce(frisked, FALSE) THEN 1 ELSE 0 END AS m_frisks
    FROM frame
),
sums AS (
    SELECT jurisdiction_id, day, 'all' AS dim, 'all' AS grp, sum(m_stops) AS m_stops, sum(m_search_known) AS m_search_known, sum(m_searches) AS m_searches, sum(m_found_known) AS m_found_known, sum(m_found) AS m_found, sum(m_arrest_known) AS m_arrest_known, sum(m_arrests) AS m_arrests, sum(m_citation_known) AS m_citation_known, sum(m_citations) AS m_citations, sum(m_referral_known) AS m_referral_known, sum(m_referrals) AS m_referrals, sum(m_frisk_known) AS m_frisk_known, sum(m_frisks) AS m_frisks
    FROM fine GROUP BY jurisdiction_id, day
    UNION ALL
    SELECT jurisdiction_id, day, 'race' AS dim, CASE d_race WHEN 1 THEN 'asian/pacific islander' WHEN 2 THEN 'black' WHEN 3 THEN 'hispanic' WHEN 4 THEN 'white' WHEN 5 THEN 'other' WHEN 6 THEN 'unknown' ELSE '(missing)' END AS grp, sum(m_stops) AS m_stops, sum(m_search_known) AS m_search_known, sum(m_searches) AS m_searches, sum(m_found_known) AS m_found_known, sum(m_found) AS m_found, sum(m_arrest_known) AS m_arrest_known, sum(m_arrests) AS m_arrests, sum(m_citation_known) AS m_citation_known, sum(m_citations) AS m_citations, sum(m_referral_known) AS m_referral_known, sum(m_referrals) AS m_referrals, sum(m_frisk_known) AS m_frisk_known, sum(m_frisks) AS m_frisks
    FROM fine GROUP BY jurisdiction_id, day, d_race
    UNION ALL
    SELECT jurisdiction_id, day, 'sex' AS dim, CASE d_sex WHEN 1 THEN 'male' WHEN 2 THEN 'female' WHEN 3 THEN 'other' WHEN 4 THEN 'unknown' ELSE '(missing)' END AS grp, sum(m_stops) AS m_stops, sum(m_search_known) AS m_search_known, sum(m_searches) AS m_searches, sum(m_found_known) AS m_found_known, sum(m_found) AS m_found, sum(m_arrest_known) AS m_arrest_known, sum(m_arrests) AS m_arrests, sum(m_citation_known) AS m_citation_known, sum(m_citations) AS m_citations, sum(m_referral_known) AS m_referral_known, sum(m_referrals) AS m_referrals, sum(m_frisk_known) AS m_frisk_known, sum(m_frisks) AS m_frisks
    FROM fine GROUP BY jurisdiction_id, day, d_sex
    UNION ALL
    SELECT jurisdiction_id, day, 'age' AS dim, CASE d_age WHEN 1 THEN 'under 18' WHEN 2 THEN '18-24' WHEN 3 THEN '25-34' WHEN 4 THEN '35-44' WHEN 5 THEN '45-54' WHEN 6 THEN '55-64' WHEN 7 THEN '65 and over' ELSE '(missing)' END AS grp, sum(m_stops) AS m_stops, sum(m_search_known) AS m_search_known, sum(m_searches) AS m_searches, sum(m_found_known) AS m_found_known, sum(m_found) AS m_found, sum(m_arrest_known) AS m_arrest_known, sum(m_arrests) AS m_arrests, sum(m_citation_known) AS m_citation_known, sum(m_citations) AS m_citations, sum(m_referral_known) AS m_referral_known, sum(m_referrals) AS m_referrals, sum(m_frisk_known) AS m_frisk_known, sum(m_frisks) AS m_frisks
    FROM fine GROUP BY jurisdiction_id, day, d_age
)
SELECT 'stops' AS dataset, jurisdiction_id, day, dim, grp, measure, CAST(value AS DOUBLE) AS value
FROM sums LATERAL VIEW stack(13, 'stops', m_stops, 'search_known', m_search_known, 'searches', m_searches, 'found_known', m_found_known, 'found', m_found, 'arrest_known', m_arrest_known, 'arrests', m_arrests, 'citation_known', m_citation_known, 'citations', m_citations, 'referral_known', m_referral_known, 'referrals', m_referrals, 'frisk_known', m_frisk_known, 'frisks', m_frisks) m AS measure, value
WHERE value <> 0
;

-- cube: detainers
WITH frame AS (
SELECT
    jurisdiction_id,
    received_date AS date,
    outcome_date,
    criminality,
    outcome,
    judicial_warrant AS warrant,
    citizenship_country AS country,
    sex,
    most_serious_charge_severity AS severity,
    subject_race AS race
FROM detainers
),
fine AS (
    SELECT jurisdiction_id, date AS day
        , coalesce(CAST(criminality AS STRING), '(missing)') AS d_criminality
        , coalesce(CAST(outcome AS STRING), '(missing)') AS d_outcome
        , coalesce(CAST(country AS STRING), '(missing)') AS d_country
        , coalesce(CAST(sex AS STRING), '(missing)') AS d_sex
        , coalesce(CAST(severity AS STRING), '(missing)') AS d_severity
        , coalesce(CAST(warrant AS STRING), '(missing)') AS d_warrant
        , coalesce(CAST(race AS STRING), '(missing)') AS d_race
        , CASE WHEN TRUE THEN 1 ELSE 0 END AS m_count
    FROM frame
),
sums AS (
    SELECT jurisdiction_id, day, 'all' AS dim, 'all' AS grp, sum(m_count) AS m_count
    FROM fine GROUP BY jurisdiction_id, day
    UNION ALL
    SELECT jurisdiction_id, day, 'criminality' AS dim, d_criminality AS grp, sum(m_count) AS m_count
    FROM fine GROUP BY jurisdiction_id, day, d_criminality
    UNION ALL
    SELECT jurisdiction_id, day, 'outcome' AS dim, d_outcome AS grp, sum(m_count) AS m_count
    FROM fine GROUP BY jurisdiction_id, day, d_outcome
    UNION ALL
    SELECT jurisdiction_id, day, 'country' AS dim, d_country AS grp, sum(m_count) AS m_count
    FROM fine GROUP BY jurisdiction_id, day, d_country
    UNION ALL
    SELECT jurisdiction_id, day, 'sex' AS dim, d_sex AS grp, sum(m_count) AS m_count
    FROM fine GROUP BY jurisdiction_id, day, d_sex
    UNION ALL
    SELECT jurisdiction_id, day, 'severity' AS dim, d_severity AS grp, sum(m_count) AS m_count
    FROM fine GROUP BY jurisdiction_id, day, d_severity
    UNION ALL
    SELECT jurisdiction_id, day, 'warrant' AS dim, d_warrant AS grp, sum(m_count) AS m_count
    FROM fine GROUP BY jurisdiction_id, day, d_warrant
    UNION ALL
    SELECT jurisdiction_id, day, 'race' AS dim, d_race AS grp, sum(m_count) AS m_count
    FROM fine GROUP BY jurisdiction_id, day, d_race
)
SELECT 'detainers' AS dataset, jurisdiction_id, day, dim, grp, measure, CAST(value AS DOUBLE) AS value
FROM sums LATERAL VIEW stack(1, 'count', m_count) m AS measure, value
WHERE value <> 0
;

-- cube: crime-reports
WITH frame AS (
SELECT jurisdiction_id, reported_date AS date, victim_race AS race, offense_category AS offense
FROM crime_reports
),
fine AS (
    SELECT jurisdiction_id, date AS day
        , coalesce(CAST(race AS STRING), '(missing)') AS d_race
        , coalesce(CAST(offense AS STRING), '(missing)') AS d_offense
        , CASE WHEN TRUE THEN 1 ELSE 0 END AS m_count
    FROM frame
),
sums AS (
    SELECT jurisdiction_id, day, 'all' AS dim, 'all' AS grp, sum(m_count) AS m_count
    FROM fine GROUP BY jurisdiction_id, day
    UNION ALL
    SELECT jurisdiction_id, day, 'race' AS dim, d_race AS grp, sum(m_count) AS m_count
    FROM fine GROUP BY jurisdiction_id, day, d_race
    UNION ALL
    SELECT jurisdiction_id, day, 'offense' AS dim, d_offense AS grp, sum(m_count) AS m_count
    FROM fine GROUP BY jurisdiction_id, day, d_offense
)
SELECT 'crime-reports' AS dataset, jurisdiction_id, day, dim, grp, measure, CAST(value AS DOUBLE) AS value
FROM sums LATERAL VIEW stack(1, 'count', m_count) m AS measure, value
WHERE value <> 0
;

-- cube: complaints
WITH frame AS (
SELECT jurisdiction_id, complaint_id, received_date AS date, closed_date, complainant_race AS race
FROM complaints
),
fine AS (
    SELECT jurisdiction_id, date AS day
        , coalesce(CAST(race AS STRING), '(missing)') AS d_race
        , CASE WHEN TRUE THEN 1 ELSE 0 END AS m_count
    FROM frame
),
sums AS (
    SELECT jurisdiction_id, day, 'all' AS dim, 'all' AS grp, sum(m_count) AS m_count
    FROM fine GROUP BY jurisdiction_id, day
    UNION ALL
    SELECT jurisdiction_id, day, 'race' AS dim, d_race AS grp, sum(m_count) AS m_count
    FROM fine GROUP BY jurisdiction_id, day, d_race
)
SELECT 'complaints' AS dataset, jurisdiction_id, day, dim, grp, measure, CAST(value AS DOUBLE) AS value
FROM sums LATERAL VIEW stack(1, 'count', m_count) m AS measure, value
WHERE value <> 0
;

-- cube: allegations
WITH frame AS (
-- Allegations with their complaint's received date and complainant race (the same batch holds both).
SELECT
    c.jurisdiction_id,
    a.complaint_id,
    c.received_date AS date,
    c.complainant_race AS race,
    a.category,
    a.finding,
    a.discipline_outcome AS outcome,
    a.officer_race,
    a.officer_key
FROM allegations a
JOIN complaints c ON c.batch_id = a.batch_id AND c.complaint_id = a.complaint_id
),
fine AS (
    SELECT jurisdiction_id, date AS day
        , coalesce(CAST(category AS STRING), '(missing)') AS d_category
        , coalesce(CAST(race AS STRING), '(missing)') AS d_race
        , coalesce(CAST(officer_race AS STRING), '(missing)') AS d_officer_race
        , CASE WHEN TRUE THEN 1 ELSE 0 END AS m_allegations
        , CASE WHEN (finding IS NOT NULL AND coalesce(finding <> 'pending', FALSE)) THEN 1 ELSE 0 END AS m_with_finding
        , CASE WHEN coalesce(finding = 'sustained', FALSE) THEN 1 ELSE 0 END AS m_sustained
        , CASE WHEN (coalesce(finding = 'sustained', FALSE) AND coalesce(outcome IN ('disciplined', 'corrective', 'none'), FALSE)) THEN 1 ELSE 0 END AS m_discipline_decided
        , CASE WHEN (coalesce(finding = 'sustained', FALSE) AND coalesce(outcome = 'disciplined', FALSE)) THEN 1 ELSE 0 END AS m_disciplined
        , CASE WHEN (coalesce(finding = 'sustained', FALSE) AND coalesce(outcome IN ('disciplined', 'corrective'), FALSE)) THEN 1 ELSE 0 END AS m_actioned
    FROM frame
),
sums AS (
    SELECT jurisdiction_id, day, 'all' AS dim, 'all' AS grp, sum(m_allegations) AS m_allegations, sum(m_with_finding) AS m_with_finding, sum(m_sustained) AS m_sustained, sum(m_discipline_decided) AS m_discipline_decided, sum(m_disciplined) AS m_disciplined, sum(m_actioned) AS m_actioned
    FROM fine GROUP BY jurisdiction_id, day
    UNION ALL
    SELECT jurisdiction_id, day, 'category' AS dim, d_category AS grp, sum(m_allegations) AS m_allegations, sum(m_with_finding) AS m_with_finding, sum(m_sustained) AS m_sustained, sum(m_discipline_decided) AS m_discipline_decided, sum(m_disciplined) AS m_disciplined, sum(m_actioned) AS m_actioned
    FROM fine GROUP BY jurisdiction_id, day, d_category
    UNION ALL
    SELECT jurisdiction_id, day, 'race' AS dim, d_race AS grp, sum(m_allegations) AS m_allegations, sum(m_with_finding) AS m_with_finding, sum(m_sustained) AS m_sustained, sum(m_discipline_decided) AS m_discipline_decided, sum(m_disciplined) AS m_disciplined, sum(m_actioned) AS m_actioned
    FROM fine GROUP BY jurisdiction_id, day, d_race
    UNION ALL
    SELECT jurisdiction_id, day, 'officer_race' AS dim, d_officer_race AS grp, sum(m_allegations) AS m_allegations, sum(m_with_finding) AS m_with_finding, sum(m_sustained) AS m_sustained, sum(m_discipline_decided) AS m_discipline_decided, sum(m_disciplined) AS m_disciplined, sum(m_actioned) AS m_actioned
    FROM fine GROUP BY jurisdiction_id, day, d_officer_race
)
SELECT 'allegations' AS dataset, jurisdiction_id, day, dim, grp, measure, CAST(value AS DOUBLE) AS value
FROM sums LATERAL VIEW stack(6, 'allegations', m_allegations, 'with_finding', m_with_finding, 'sustained', m_sustained, 'discipline_decided', m_discipline_decided, 'disciplined', m_disciplined, 'actioned', m_actioned) m AS measure, value
WHERE value <> 0
;
