-- 0003: the time-series metric store.
--
-- metric_cube holds additive daily counts per dataset, jurisdiction and group, built from the records by the
-- metrics jobs; indicator points for every grain are computed from it, so a new import only rebuilds the
-- days it touched. metric_points is the store the API reads. Values are stored unsuppressed with their
-- disclosure flags: public output withholds what the flags say (never shows it as zero); analyses use the
-- counts. Uniqueness on (indicator, jurisdiction_id, grain, period_start, "group") is kept by the writer
-- (delete then insert in one transaction) and checked by a test; an index would slow the bulk writes.

CREATE SEQUENCE metric_run_ids START 1;

CREATE TABLE metric_runs (
    id BIGINT PRIMARY KEY,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    status VARCHAR NOT NULL,
    -- JSON: indicators, jurisdiction, since, reference group, thresholds, full or incremental.
    parameters VARCHAR NOT NULL,
    code_version VARCHAR NOT NULL,
    -- JSON array of the committed import batch ids the run's store reflects.
    batches VARCHAR NOT NULL,
    points_written BIGINT NOT NULL DEFAULT 0,
    points_deleted BIGINT NOT NULL DEFAULT 0,
    message VARCHAR
);

CREATE TABLE metric_cube (
    dataset VARCHAR NOT NULL,
    jurisdiction_id VARCHAR NOT NULL,
    day DATE NOT NULL,
    -- 'all', or the dimension a group belongs to: race, sex, age, offense, criminality, outcome, country, category
    dim VARCHAR NOT NULL,
    grp VARCHAR NOT NULL,
    measure VARCHAR NOT NULL,
    value DOUBLE NOT NULL
);

CREATE TABLE metric_points (
    indicator VARCHAR NOT NULL,
    jurisdiction_id VARCHAR NOT NULL,
    grain VARCHAR NOT NULL,
    period_start DATE NOT NULL,
    -- 'all' or 'dim:value', e.g. 'race:black', 'category:excessive force'
    "group" VARCHAR NOT NULL,
    numerator DOUBLE,
    denominator DOUBLE,
    value DOUBLE,
    ci_low DOUBLE,
    ci_high DOUBLE,
    ci_method VARCHAR,
    -- Ratios and differences: the group compared with, and its counts.
    reference_group VARCHAR,
    reference_numerator DOUBLE,
    reference_denominator DOUBLE,
    suppressed BOOLEAN NOT NULL DEFAULT false,
    -- small_count | small_denominator | complementary | reference_suppressed
    suppression_reason VARCHAR,
    low_reliability BOOLEAN NOT NULL DEFAULT false,
    -- Why a value is absent (ratio undefined, no population), or where a denominator came from.
    note VARCHAR,
    run_id BIGINT NOT NULL
);

-- Findings about the data itself (suspicious rates, unknown race, sparse months), shown beside indicators.
CREATE TABLE quality_notes (
    dataset VARCHAR NOT NULL,
    jurisdiction_id VARCHAR NOT NULL,
    code VARCHAR NOT NULL,
    message VARCHAR NOT NULL,
    value DOUBLE,
    run_id BIGINT NOT NULL
);
