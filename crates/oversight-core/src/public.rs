//! What may leave through a public endpoint, page or extract: the public columns of each dataset, with their
//! types. Personal data (names, exact locations, officer ids, source record ids, birth details) is not here.
//! An extract or table reads a [`Source`]: a dataset's records, or the allegations of complaints.

use crate::schema::{Dataset, FieldDef, FieldType, Table};
use std::fmt;
use std::str::FromStr;

/// What an extract or a table reads: the records of a dataset (its main table), or the allegations of
/// complaints, one row per allegation, dated, placed and described by the complaint it belongs to (the
/// complaint's received date, district and complainant; the same import batch holds both).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    Records(Dataset),
    Allegations,
}

impl Source {
    /// Every source, as it is named in URLs and on the command line.
    pub const ALL: &'static [Source] = &[
        Source::Records(Dataset::Stops),
        Source::Records(Dataset::Detainers),
        Source::Records(Dataset::CrimeReports),
        Source::Records(Dataset::Complaints),
        Source::Allegations,
        Source::Records(Dataset::PolicyEvents),
        Source::Records(Dataset::Populations),
    ];

    /// The name in URLs and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Records(ds) => ds.as_str(),
            Self::Allegations => "allegations",
        }
    }

    /// The dataset whose import batches hold the records (allegations come with their complaints).
    pub fn dataset(self) -> Dataset {
        match self {
            Self::Records(ds) => ds,
            Self::Allegations => Dataset::Complaints,
        }
    }

    /// The table holding the records.
    pub fn table(self) -> Table {
        match self {
            Self::Records(ds) => ds.main_table(),
            Self::Allegations => Table::Allegations,
        }
    }

    /// The column that places the records in time (SQL over the source's records: safe to place in SQL
    /// text). Allegations take their complaint's received date.
    pub fn date_column(self) -> &'static str {
        match self.dataset() {
            Dataset::Stops => "date",
            Dataset::Detainers | Dataset::Complaints => "received_date",
            Dataset::CrimeReports => "reported_date",
            Dataset::PolicyEvents => "effective_date",
            Dataset::Populations => "make_date(year::INTEGER, 1, 1)",
        }
    }

    /// The date column's name in words, for a stated order.
    pub fn date_name(self) -> &'static str {
        match self {
            Self::Records(Dataset::Populations) => "year",
            Self::Allegations => "received_date (of the complaint)",
            s => s.date_column(),
        }
    }
}

impl From<Dataset> for Source {
    fn from(ds: Dataset) -> Self {
        Self::Records(ds)
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A source name that is not one of ours.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "unknown dataset {0:?} (expected one of: stops, detainers, crime-reports, complaints, allegations, \
     policy-events, populations)"
)]
pub struct UnknownSource(pub String);

impl FromStr for Source {
    type Err = UnknownSource;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "allegations" => Ok(Self::Allegations),
            _ => s.parse::<Dataset>().map(Self::Records).map_err(|_| UnknownSource(s.to_owned())),
        }
    }
}

/// Columns of the allegations that come from their complaint, with the complaint's column types.
pub const FROM_COMPLAINT: &[&str] = &["received_date", "district", "complainant_race", "complainant_sex"];

/// The columns an extract may hold, per dataset. Not here, on purpose: names (never stored), exact
/// locations and coordinates, officer ids and keys, source record ids, birth years and birth places, raw
/// codes (free text from the source), times of crime reports (with a date and district, too identifying).
pub fn public_columns(source: Source) -> &'static [&'static str] {
    let dataset = match source {
        Source::Records(ds) => ds,
        Source::Allegations => {
            return &[
                "batch_id",
                "source_row",
                "jurisdiction_id",
                // The complaint's keyed hash: the same as in the complaints' extract, so the two join.
                "complaint_key",
                "received_date",
                "district",
                "complainant_race",
                "complainant_sex",
                "category",
                "finding",
                "recommended_finding",
                "sustained",
                "discipline",
                "discipline_outcome",
                "officer_race",
            ];
        }
    };
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

/// A public column of a source's extract and its type (`None` when the name is not public).
pub fn column(source: Source, name: &str) -> Option<(&'static str, FieldType)> {
    let column = *public_columns(source).iter().find(|c| **c == name)?;
    let ty = match column {
        "batch_id" | "source_row" => FieldType::Int,
        c if KEYED_ID_COLUMNS.iter().any(|k| k.0 == c) => FieldType::Text,
        c => field(source, c)?.ty,
    };
    Some((column, ty))
}

/// An allegation's finding as true/false: what a table's share of sustained allegations counts.
pub static SUSTAINED: FieldDef = FieldDef {
    name: "sustained",
    ty: FieldType::Bool,
    required: false,
    personal: false,
    description: "Whether the final finding is sustained (empty while the finding is pending or when the source \
        gives none): the finding as true/false, for the share of allegations sustained.",
};

/// The schema's definition of a source's column (for allegations, the complaint's where it comes from
/// there, and the derived `sustained`).
pub fn field(source: Source, name: &str) -> Option<&'static FieldDef> {
    match source {
        Source::Allegations if FROM_COMPLAINT.contains(&name) => Table::Complaints.field(name),
        Source::Allegations if name == SUSTAINED.name => Some(&SUSTAINED),
        s => s.table().field(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_public_column_has_a_type_and_none_is_personal() {
        for s in Source::ALL {
            for c in public_columns(*s) {
                assert!(column(*s, c).is_some(), "{s} {c}");
                if let Some(f) = field(*s, c) {
                    assert!(!f.personal, "{s} {c} is personal");
                }
            }
        }
    }

    #[test]
    fn sources_parse_from_their_names() {
        for s in Source::ALL {
            assert_eq!(s.as_str().parse::<Source>().unwrap(), *s);
        }
        assert_eq!("crime_reports".parse::<Source>().unwrap(), Source::Records(Dataset::CrimeReports));
        assert!("allegation".parse::<Source>().unwrap_err().to_string().contains("allegations"));
        assert_eq!(Source::Allegations.dataset(), Dataset::Complaints);
    }
}
