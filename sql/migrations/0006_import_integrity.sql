-- Import integrity (issue: no silent errors on real files).
-- Records kept under a cross-field rule set to "keep" are flagged with the rule's name.
ALTER TABLE stops ADD COLUMN flags VARCHAR;
ALTER TABLE detainers ADD COLUMN flags VARCHAR;
ALTER TABLE complaints ADD COLUMN flags VARCHAR;

-- What a batch's reading counted besides records: every line of the file is accounted for (records landed,
-- rejected or filtered out, blank lines, the header), records other batches held that this one superseded,
-- and the rows each cross-field rule kept (cleared or flagged).
CREATE TABLE import_batch_details (
    batch_id BIGINT PRIMARY KEY,
    lines_read BIGINT NOT NULL DEFAULT 0,
    blank_lines BIGINT NOT NULL DEFAULT 0,
    rows_filtered BIGINT NOT NULL DEFAULT 0,
    records_superseded BIGINT NOT NULL DEFAULT 0,
    -- JSON object: rule name -> rows kept under "null" or "keep".
    rules VARCHAR NOT NULL DEFAULT '{}'
);

-- Crime reports are keyed by incident and victim.
ALTER TABLE crime_reports ADD COLUMN victim_id VARCHAR;
