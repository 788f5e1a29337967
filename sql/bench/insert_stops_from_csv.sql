-- DuckDB's CSV reader loading the benchmark's OPP file into the stops table: the same columns the importer
-- fills, with no validation, hashing or rejects. $FILE is replaced by the quoted path.
INSERT INTO stops (
    batch_id, source_row, jurisdiction_id, stop_id, date, time, location, lat, lng, district, subject_age,
    subject_race, raw_subject_race, subject_sex, raw_subject_sex, officer_id_hash, department_name, stop_type,
    raw_stop_type, reason_for_stop, arrest_made, citation_issued, warning_issued, outcome, raw_outcome,
    search_conducted, search_vehicle, search_basis, raw_search_basis, contraband_found
)
SELECT
    0, raw_row_number + 1, 'bench', raw_row_number::VARCHAR, date, time, location, lat, lng, district, subject_age,
    subject_race, subject_race, subject_sex, subject_sex, officer_id_hash, department_name, type, type,
    reason_for_stop, arrest_made, citation_issued, warning_issued, outcome, outcome, search_conducted,
    search_vehicle, search_basis, search_basis, contraband_found
FROM read_csv($FILE, header = true, nullstr = 'NA', types = {
    'raw_row_number': 'BIGINT', 'date': 'DATE', 'time': 'TIME', 'lat': 'DOUBLE', 'lng': 'DOUBLE',
    'subject_age': 'BIGINT', 'arrest_made': 'BOOLEAN', 'citation_issued': 'BOOLEAN', 'warning_issued': 'BOOLEAN',
    'contraband_found': 'BOOLEAN', 'search_conducted': 'BOOLEAN', 'search_vehicle': 'BOOLEAN'
})
