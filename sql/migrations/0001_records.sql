-- 0001: record tables, reference tables and import bookkeeping.
--
-- Record tables mirror oversight_core::schema (a store test checks they agree). Every record keeps the
-- import batch that wrote it (batch_id) and its line in the source file (source_row); coded columns keep
-- the source's own value in raw_<column>. No primary keys on record tables: the importer guarantees
-- (batch_id, source_row) is unique and DuckDB bulk-loads faster without an index.

CREATE TABLE jurisdictions (
    id VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL,
    kind VARCHAR NOT NULL DEFAULT 'other',
    parent_id VARCHAR,
    state VARCHAR,
    fips VARCHAR,
    lat DOUBLE,
    lng DOUBLE,
    timezone VARCHAR,
    -- Per-capita rates of this jurisdiction use the population of this one (e.g. a city benchmarked by its
    -- county); NULL means its own population.
    population_benchmark_id VARCHAR,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE SEQUENCE import_batch_ids START 1;

CREATE TABLE import_batches (
    id BIGINT PRIMARY KEY,
    dataset VARCHAR NOT NULL,
    profile VARCHAR NOT NULL,
    profile_sha256 VARCHAR NOT NULL,
    -- File names joined with ' + ' (the files themselves are in import_batch_files).
    file_names VARCHAR NOT NULL,
    -- sha256 over the files' hashes in role order: the identity of the input.
    sha256 VARCHAR NOT NULL,
    bytes BIGINT NOT NULL,
    jurisdiction_id VARCHAR,
    rows_read BIGINT NOT NULL DEFAULT 0,
    rows_accepted BIGINT NOT NULL DEFAULT 0,
    rows_rejected BIGINT NOT NULL DEFAULT 0,
    date_min DATE,
    date_max DATE,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    -- committed | superseded | refused | failed
    status VARCHAR NOT NULL,
    replaces BIGINT,
    superseded_by BIGINT,
    origin VARCHAR NOT NULL DEFAULT 'cli',
    message VARCHAR
);

CREATE TABLE import_batch_files (
    batch_id BIGINT NOT NULL,
    role VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    bytes BIGINT NOT NULL
);

CREATE TABLE import_rejects (
    batch_id BIGINT NOT NULL,
    -- Order of the reject within its batch (the pagination cursor).
    seq BIGINT NOT NULL,
    file VARCHAR NOT NULL,
    line BIGINT NOT NULL,
    "column" VARCHAR,
    value VARCHAR,
    reason VARCHAR NOT NULL
);

CREATE TABLE stops (
    batch_id BIGINT NOT NULL,
    source_row BIGINT NOT NULL,
    jurisdiction_id VARCHAR NOT NULL,
    stop_id VARCHAR,
    date DATE NOT NULL,
    time TIME,
    location VARCHAR,
    lat DOUBLE,
    lng DOUBLE,
    district VARCHAR,
    subject_age BIGINT,
    subject_race VARCHAR,
    raw_subject_race VARCHAR,
    subject_race_detail VARCHAR,
    subject_sex VARCHAR,
    raw_subject_sex VARCHAR,
    officer_id_hash VARCHAR,
    department_name VARCHAR,
    stop_type VARCHAR,
    raw_stop_type VARCHAR,
    reason_for_stop VARCHAR,
    arrest_made BOOLEAN,
    citation_issued BOOLEAN,
    warning_issued BOOLEAN,
    outcome VARCHAR,
    raw_outcome VARCHAR,
    search_conducted BOOLEAN,
    search_person BOOLEAN,
    search_vehicle BOOLEAN,
    search_basis VARCHAR,
    raw_search_basis VARCHAR,
    frisk_performed BOOLEAN,
    contraband_found BOOLEAN,
    referred_to_immigration BOOLEAN
);

CREATE TABLE detainers (
    batch_id BIGINT NOT NULL,
    source_row BIGINT NOT NULL,
    jurisdiction_id VARCHAR NOT NULL,
    detainer_id VARCHAR,
    received_date DATE NOT NULL,
    facility VARCHAR,
    citizenship_country VARCHAR,
    birth_place VARCHAR,
    sex VARCHAR,
    raw_sex VARCHAR,
    age BIGINT,
    birth_year BIGINT,
    subject_race VARCHAR,
    raw_subject_race VARCHAR,
    criminality VARCHAR,
    raw_criminality VARCHAR,
    detainer_type VARCHAR,
    raw_detainer_type VARCHAR,
    judicial_warrant BOOLEAN,
    outcome VARCHAR,
    raw_outcome VARCHAR,
    outcome_date DATE,
    lift_reason VARCHAR,
    most_serious_charge VARCHAR,
    most_serious_charge_severity VARCHAR,
    raw_most_serious_charge_severity VARCHAR
);

CREATE TABLE crime_reports (
    batch_id BIGINT NOT NULL,
    source_row BIGINT NOT NULL,
    jurisdiction_id VARCHAR NOT NULL,
    incident_key VARCHAR,
    reported_date DATE NOT NULL,
    reported_time TIME,
    occurred_date DATE,
    occurred_time TIME,
    offense_category VARCHAR,
    offense_description VARCHAR,
    victim_race VARCHAR,
    raw_victim_race VARCHAR,
    victim_race_detail VARCHAR,
    victim_sex VARCHAR,
    raw_victim_sex VARCHAR,
    victim_age_group VARCHAR,
    fatal BOOLEAN,
    district VARCHAR,
    location VARCHAR,
    lat DOUBLE,
    lng DOUBLE
);

CREATE TABLE complaints (
    batch_id BIGINT NOT NULL,
    source_row BIGINT NOT NULL,
    jurisdiction_id VARCHAR NOT NULL,
    complaint_id VARCHAR NOT NULL,
    received_date DATE NOT NULL,
    incident_date DATE,
    closed_date DATE,
    complainant_race VARCHAR,
    raw_complainant_race VARCHAR,
    complainant_sex VARCHAR,
    raw_complainant_sex VARCHAR,
    complainant_age BIGINT,
    complainant_count BIGINT,
    district VARCHAR,
    location VARCHAR
);

CREATE TABLE allegations (
    batch_id BIGINT NOT NULL,
    source_row BIGINT NOT NULL,
    jurisdiction_id VARCHAR NOT NULL,
    complaint_id VARCHAR NOT NULL,
    officer_key VARCHAR,
    category VARCHAR,
    finding VARCHAR,
    raw_finding VARCHAR,
    recommended_finding VARCHAR,
    raw_recommended_finding VARCHAR,
    discipline VARCHAR
);

CREATE SEQUENCE policy_event_ids START 1;

-- Events added by hand (CLI or API) have no batch and no source row.
CREATE TABLE policy_events (
    id BIGINT NOT NULL DEFAULT nextval('policy_event_ids'),
    batch_id BIGINT,
    source_row BIGINT,
    jurisdiction_id VARCHAR NOT NULL,
    effective_date DATE NOT NULL,
    kind VARCHAR NOT NULL,
    raw_kind VARCHAR,
    title VARCHAR NOT NULL,
    source VARCHAR,
    agency VARCHAR
);

CREATE TABLE populations (
    batch_id BIGINT NOT NULL,
    source_row BIGINT NOT NULL,
    jurisdiction_id VARCHAR NOT NULL,
    year BIGINT NOT NULL,
    "group" VARCHAR NOT NULL,
    population DOUBLE NOT NULL,
    moe DOUBLE,
    source VARCHAR
);
