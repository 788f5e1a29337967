-- The OPP file's own layout, typed: the table DuckDB's COPY loads the benchmark file into as it is.
CREATE OR REPLACE TABLE opp_raw (
    raw_row_number BIGINT, date DATE, time TIME, location VARCHAR, lat DOUBLE, lng DOUBLE, district VARCHAR,
    subject_age BIGINT, subject_race VARCHAR, subject_sex VARCHAR, officer_id_hash VARCHAR, department_name VARCHAR,
    type VARCHAR, arrest_made BOOLEAN, citation_issued BOOLEAN, warning_issued BOOLEAN, outcome VARCHAR,
    contraband_found BOOLEAN, search_conducted BOOLEAN, search_vehicle BOOLEAN, search_basis VARCHAR,
    reason_for_stop VARCHAR, raw_subject_race_code VARCHAR, raw_subject_ethnicity_code VARCHAR,
    raw_search_authorization_code VARCHAR, raw_intervention_disposition_code VARCHAR
);
