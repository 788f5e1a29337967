-- DuckDB's COPY of the benchmark's OPP file into the stops table: the file's 26 columns, by position, into 26
-- of the table's columns of the same types (the four raw_*_code columns land in raw and detail columns of
-- the same width). $FILE is replaced by the quoted path.
COPY stops (
    stop_id, date, time, location, lat, lng, district, subject_age, subject_race, subject_sex, officer_id_hash,
    department_name, stop_type, arrest_made, citation_issued, warning_issued, outcome, contraband_found,
    search_conducted, search_vehicle, search_basis, reason_for_stop, raw_subject_race, subject_race_detail,
    raw_search_basis, raw_outcome
) FROM $FILE (HEADER, NULLSTR 'NA')
