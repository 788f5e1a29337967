//! What may leave through a public endpoint, page or extract: the public columns of each dataset, with their
//! types. Personal data (names, exact locations, officer ids, source record ids, birth details) is not here.

use crate::schema::{Dataset, FieldType};

/// The columns an extract may hold, per dataset. Not here, on purpose: names (never stored), exact
/// locations and coordinates, officer ids and keys, source record ids, birth years and birth places, raw
/// codes (free text from the source), times of crime reports (with a date and district, too identifying).
pub fn public_columns(dataset: Dataset) -> &'static [&'static str] {
    match dataset {
        Dataset::Stops => &[
            "batch_id",
            "source_row",
            "jurisdiction_id",
            "date",
            "time",
            "district",
            "subject_age",
            "subject_race",
            "subject_sex",
            "department_name",
            "stop_type",
            "reason_for_stop",
            "arrest_made",
            "citation_issued",
            "warning_issued",
            "outcome",
            "search_conducted",
            "search_person",
            "search_vehicle",
            "search_basis",
            "frisk_performed",
            "contraband_found",
            "referred_to_immigration",
            "flags",
        ],
        Dataset::Detainers => &[
            "batch_id",
            "source_row",
            "jurisdiction_id",
            "received_date",
            "facility",
            "citizenship_country",
            "sex",
            "age",
            "subject_race",
            "criminality",
            "detainer_type",
            "judicial_warrant",
            "outcome",
            "outcome_date",
            "lift_reason",
            "most_serious_charge",
            "most_serious_charge_severity",
            "flags",
        ],
        Dataset::CrimeReports => &[
            "batch_id",
            "source_row",
            "jurisdiction_id",
            "reported_date",
            "occurred_date",
            "offense_category",
            "victim_race",
            "victim_sex",
            "victim_age_group",
            "fatal",
            "district",
        ],
        Dataset::Complaints => &[
            "batch_id",
            "source_row",
            "jurisdiction_id",
            // The source's complaint id joins back to the published file with officers' and complainants'
            // details: the extract carries its keyed hash instead.
            "complaint_key",
            "received_date",
            "incident_date",
            "closed_date",
            "complainant_race",
            "complainant_sex",
            "complainant_age",
            "complainant_count",
            "district",
            "flags",
        ],
        Dataset::PolicyEvents => {
            &["batch_id", "source_row", "jurisdiction_id", "effective_date", "kind", "title", "source", "agency"]
        }
        Dataset::Populations => {
            &["batch_id", "source_row", "jurisdiction_id", "year", "group", "population", "moe", "source"]
        }
    }
}

/// What no extract, table or page holds.
pub const WITHHELD: &str = "names (never stored), exact locations and coordinates, officer identifiers and keys, source record ids, \
    birth years and places, raw source codes";

/// Columns holding a keyed hash of a source record id instead of the id: (public name, the source column).
/// The id itself joins back to published files with names; the hash is the same for the same record within
/// one database and nothing outside it.
pub const KEYED_ID_COLUMNS: &[(&str, &str)] = &[("complaint_key", "complaint_id")];

/// A public column of a dataset's extract and its type (`None` when the name is not public).
pub fn column(ds: Dataset, name: &str) -> Option<(&'static str, FieldType)> {
    let column = *public_columns(ds).iter().find(|c| **c == name)?;
    let ty = match column {
        "batch_id" | "source_row" => FieldType::Int,
        c if KEYED_ID_COLUMNS.iter().any(|k| k.0 == c) => FieldType::Text,
        c => ds.main_table().field(c)?.ty,
    };
    Some((column, ty))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_public_column_has_a_type_and_none_is_personal() {
        for ds in Dataset::ALL {
            for c in public_columns(*ds) {
                assert!(column(*ds, c).is_some(), "{} {c}", ds.as_str());
                if let Some(f) = ds.main_table().field(c) {
                    assert!(!f.personal, "{} {c} is personal", ds.as_str());
                }
            }
        }
    }
}
