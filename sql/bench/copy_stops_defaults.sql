-- Lets DuckDB's COPY load the benchmark's OPP file into the stops table itself: COPY fills listed columns
-- from the file's columns by position and every other column with its default, so the three bookkeeping
-- columns the importer fills (NOT NULL) get constant defaults here. Applied to the benchmark database only.
ALTER TABLE stops ALTER COLUMN batch_id SET DEFAULT 0;
ALTER TABLE stops ALTER COLUMN source_row SET DEFAULT 0;
ALTER TABLE stops ALTER COLUMN jurisdiction_id SET DEFAULT 'bench';
