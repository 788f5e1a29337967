-- Discipline after a sustained allegation (issue 17): what followed for the officer, as the profile maps the
-- source's codes (disciplined, corrective, none, pending, unknown), and the accused officer's race where the
-- source records it; each with the source's own text beside it, as every coded column has.
ALTER TABLE allegations ADD COLUMN discipline_outcome VARCHAR;
ALTER TABLE allegations ADD COLUMN raw_discipline_outcome VARCHAR;
ALTER TABLE allegations ADD COLUMN officer_race VARCHAR;
ALTER TABLE allegations ADD COLUMN raw_officer_race VARCHAR;
