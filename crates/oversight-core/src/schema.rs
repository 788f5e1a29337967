//! The canonical record model: which datasets exist, which tables they fill and the columns of each table.
//!
//! Column names follow the Stanford Open Policing Project's standard where one exists, so its files import
//! with no mapping. Every record table also has the system columns `batch_id` (the import batch that wrote
//! it) and `source_row` (the line of the source file it came from), and every coded column `x` has a
//! companion `raw_x` holding the source's own value, so any number traces back to a line of a source file.
//! `sql/migrations` creates the same tables; a store test checks the two agree.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The type of a canonical column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Text,
    /// A value from the named code list (see [`crate::codes`]).
    Code(&'static str),
    Bool,
    Int,
    Float,
    Date,
    /// Local wall-clock time of day.
    Time,
}

impl FieldType {
    /// The DuckDB column type this field is stored as.
    pub fn sql_type(self) -> &'static str {
        match self {
            Self::Text | Self::Code(_) => "VARCHAR",
            Self::Bool => "BOOLEAN",
            Self::Int => "BIGINT",
            Self::Float => "DOUBLE",
            Self::Date => "DATE",
            Self::Time => "TIME",
        }
    }

    /// A short human name, for profile documentation and error messages.
    pub fn describe(self) -> String {
        match self {
            Self::Code(list) => format!("code ({list})"),
            Self::Text => "text".into(),
            Self::Bool => "boolean".into(),
            Self::Int => "integer".into(),
            Self::Float => "number".into(),
            Self::Date => "date".into(),
            Self::Time => "time".into(),
        }
    }
}

/// One canonical column.
#[derive(Debug, Clone, Copy)]
pub struct FieldDef {
    pub name: &'static str,
    pub ty: FieldType,
    /// A row without a value here is rejected.
    pub required: bool,
    /// Personal data (names, birth dates, badge or officer ids, exact addresses or coordinates): stored for
    /// audit, never sent through a public endpoint or extract.
    pub personal: bool,
    pub description: &'static str,
}

impl FieldDef {
    /// Whether the table keeps the source's raw value beside the mapped one (`raw_<name>`). A finer race
    /// category comes from the same source value as its race column, whose raw companion keeps it.
    pub fn has_raw(&self) -> bool {
        matches!(self.ty, FieldType::Code(list) if list != "race_detail")
    }
}

const fn f(name: &'static str, ty: FieldType, description: &'static str) -> FieldDef {
    FieldDef { name, ty, required: false, personal: false, description }
}
const fn req(name: &'static str, ty: FieldType, description: &'static str) -> FieldDef {
    FieldDef { name, ty, required: true, personal: false, description }
}
const fn pii(name: &'static str, ty: FieldType, description: &'static str) -> FieldDef {
    FieldDef { name, ty, required: false, personal: true, description }
}

use FieldType::{Bool, Code, Date, Float, Int, Text, Time};

const JURISDICTION: FieldDef =
    req("jurisdiction_id", Text, "Jurisdiction the record belongs to (see /v1/jurisdictions).");

static STOPS: &[FieldDef] = &[
    JURISDICTION,
    f("stop_id", Text, "The source's own identifier of the stop."),
    req("date", Date, "Local date of the stop."),
    f("time", Time, "Local time of the stop."),
    pii("location", Text, "Free-text location (an exact address: never exported)."),
    pii("lat", Float, "Latitude (exact: never exported)."),
    pii("lng", Float, "Longitude (exact: never exported)."),
    f("district", Text, "Police district, precinct or neighbourhood."),
    f("subject_age", Int, "Age of the stopped person."),
    f("subject_race", Code("race"), "Race/ethnicity of the stopped person (Hispanic takes precedence)."),
    f("subject_race_detail", Code("race_detail"), "Finer race category where the source records one."),
    f("subject_sex", Code("sex"), "Sex of the stopped person."),
    pii("officer_id_hash", Text, "Keyed hash of the officer's id (never exported)."),
    f("department_name", Text, "Department or unit."),
    f("stop_type", Code("stop_type"), "Vehicular or pedestrian."),
    f("reason_for_stop", Text, "Reason given for the stop."),
    f("arrest_made", Bool, "Whether an arrest was made."),
    f("citation_issued", Bool, "Whether a citation was issued."),
    f("warning_issued", Bool, "Whether a warning was issued."),
    f("outcome", Code("stop_outcome"), "Strictest action taken."),
    f("search_conducted", Bool, "Whether any search was conducted."),
    f("search_person", Bool, "Whether the person was searched."),
    f("search_vehicle", Bool, "Whether the vehicle was searched."),
    f("search_basis", Code("search_basis"), "Legal basis of the search."),
    f("frisk_performed", Bool, "Whether a frisk was performed."),
    f("contraband_found", Bool, "Whether contraband was found (only defined where a search happened)."),
    f("referred_to_immigration", Bool, "Whether the person was turned over to immigration authorities."),
    f("flags", Text, "Cross-field rules the record breaks that its profile keeps it for ([rules] name = \"keep\")."),
];

static DETAINERS: &[FieldDef] = &[
    JURISDICTION,
    f("detainer_id", Text, "The source's identifier (detainer or booking number)."),
    req("received_date", Date, "Date the detainer request was received (or the booking date it was lodged on)."),
    f("facility", Text, "Jail or facility holding the person."),
    f("citizenship_country", Text, "Country of citizenship, or of birth where the source gives only that."),
    f("birth_place", Text, "Place of birth as the source records it."),
    f("sex", Code("sex"), "Sex of the person."),
    f("age", Int, "Age at booking."),
    f("birth_year", Int, "Year of birth."),
    f("subject_race", Code("race"), "Race/ethnicity of the person."),
    f("criminality", Code("criminality"), "Criminal history class."),
    f("detainer_type", Code("detainer_type"), "Form of the request."),
    f("judicial_warrant", Bool, "Whether a judge's warrant accompanied the request (most sources lack it)."),
    f("outcome", Code("detainer_outcome"), "What became of the request."),
    f("outcome_date", Date, "Date of the outcome (hand-over, release, lift)."),
    f("lift_reason", Text, "Why the request was lifted or declined."),
    f("most_serious_charge", Text, "Most serious criminal charge on the booking."),
    f("most_serious_charge_severity", Code("charge_severity"), "Severity of the most serious charge."),
    f("flags", Text, "Cross-field rules the record breaks that its profile keeps it for ([rules] name = \"keep\")."),
];

static CRIME_REPORTS: &[FieldDef] = &[
    JURISDICTION,
    f("incident_key", Text, "The source's incident identifier (several victims may share one)."),
    req("reported_date", Date, "Date the crime was reported (the occurrence date where the source has no other)."),
    f("reported_time", Time, "Local time of the report."),
    f("occurred_date", Date, "Date the crime occurred."),
    f("occurred_time", Time, "Local time the crime occurred."),
    f("offense_category", Text, "Offense category (lower case)."),
    f("offense_description", Text, "Offense as the source describes it."),
    f("victim_race", Code("race"), "Race/ethnicity of the victim (Hispanic takes precedence)."),
    f("victim_race_detail", Code("race_detail"), "Finer race category where the source records one."),
    f("victim_sex", Code("sex"), "Sex of the victim."),
    f("victim_age_group", Text, "Age group of the victim as the source bands it."),
    f("fatal", Bool, "Whether the victim died."),
    f("district", Text, "Police district or precinct."),
    pii("location", Text, "Free-text location (never exported)."),
    pii("lat", Float, "Latitude (never exported)."),
    pii("lng", Float, "Longitude (never exported)."),
    f("victim_id", Text, "The victim's number or id within the incident (with incident_key, the record key)."),
];

static COMPLAINTS: &[FieldDef] = &[
    JURISDICTION,
    req("complaint_id", Text, "The source's complaint identifier."),
    req("received_date", Date, "Date the complaint was received."),
    f("incident_date", Date, "Date of the incident complained of."),
    f("closed_date", Date, "Date the investigation closed (empty while open)."),
    f("complainant_race", Code("race"), "Race/ethnicity of the (first) complainant."),
    f("complainant_sex", Code("sex"), "Sex of the (first) complainant."),
    f("complainant_age", Int, "Age of the (first) complainant."),
    f("complainant_count", Int, "Number of complainants the source lists."),
    f("district", Text, "Beat or district of the incident."),
    pii("location", Text, "Address of the incident (never exported)."),
    f("flags", Text, "Cross-field rules the record breaks that its profile keeps it for ([rules] name = \"keep\")."),
];

static ALLEGATIONS: &[FieldDef] = &[
    JURISDICTION,
    req("complaint_id", Text, "The complaint the allegation belongs to."),
    pii("officer_key", Text, "Keyed hash of the accused officer's id (never exported)."),
    f("category", Text, "Allegation category."),
    f("finding", Code("finding"), "Final finding."),
    f("recommended_finding", Code("finding"), "Finding the investigator recommended."),
    f("discipline", Text, "Final discipline (the source's code)."),
    f(
        "discipline_outcome",
        Code("discipline_outcome"),
        "What followed for the officer: disciplined, corrective (training or counseling), none or pending, as the \
         profile maps the source's codes.",
    ),
    f("officer_race", Code("race"), "Race/ethnicity of the accused officer, as the source records it."),
];

static POLICY_EVENTS: &[FieldDef] = &[
    JURISDICTION,
    req("effective_date", Date, "Date the policy took effect (or was signed)."),
    req("kind", Code("policy_kind"), "Kind of policy."),
    req("title", Text, "Short title."),
    f("source", Text, "Where the event is documented (document, URL)."),
    f("agency", Text, "Agency that entered the agreement or adopted the policy."),
];

static POPULATIONS: &[FieldDef] = &[
    JURISDICTION,
    req("year", Int, "Reference year of the estimate."),
    req("group", Text, "Race/ethnicity code, or `all` for the total."),
    req("population", Float, "Resident population (estimate)."),
    f("moe", Float, "90% margin of error of the estimate, where published."),
    f("source", Text, "Source table (e.g. ACS 2017 5-year B03002)."),
];

/// A record table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Table {
    Stops,
    Detainers,
    CrimeReports,
    Complaints,
    Allegations,
    PolicyEvents,
    Populations,
}

impl Table {
    pub const ALL: &'static [Table] = &[
        Table::Stops,
        Table::Detainers,
        Table::CrimeReports,
        Table::Complaints,
        Table::Allegations,
        Table::PolicyEvents,
        Table::Populations,
    ];

    /// The SQL table name (closed set: safe to place in SQL text).
    pub fn name(self) -> &'static str {
        match self {
            Self::Stops => "stops",
            Self::Detainers => "detainers",
            Self::CrimeReports => "crime_reports",
            Self::Complaints => "complaints",
            Self::Allegations => "allegations",
            Self::PolicyEvents => "policy_events",
            Self::Populations => "populations",
        }
    }

    /// The canonical columns, in table order (system columns excluded).
    pub fn fields(self) -> &'static [FieldDef] {
        match self {
            Self::Stops => STOPS,
            Self::Detainers => DETAINERS,
            Self::CrimeReports => CRIME_REPORTS,
            Self::Complaints => COMPLAINTS,
            Self::Allegations => ALLEGATIONS,
            Self::PolicyEvents => POLICY_EVENTS,
            Self::Populations => POPULATIONS,
        }
    }

    pub fn field(self, name: &str) -> Option<&'static FieldDef> {
        self.fields().iter().find(|f| f.name == name)
    }

    /// The record key: the fields whose values identify one record of the table within a jurisdiction (a
    /// batch never holds a key twice; a key another batch holds is reported). Rows where a key field is
    /// empty are not checked. Empty for tables without one.
    pub fn key_fields(self) -> &'static [&'static str] {
        match self {
            Self::Stops => &["stop_id"],
            Self::Detainers => &["detainer_id"],
            Self::CrimeReports => &["incident_key", "victim_id"],
            Self::Complaints => &["complaint_id"],
            Self::Allegations | Self::PolicyEvents | Self::Populations => &[],
        }
    }

    /// The main date column, used for periods and date filters.
    pub fn date_column(self) -> Option<&'static str> {
        match self {
            Self::Stops => Some("date"),
            Self::Detainers | Self::Complaints => Some("received_date"),
            Self::CrimeReports => Some("reported_date"),
            Self::PolicyEvents => Some("effective_date"),
            Self::Allegations | Self::Populations => None,
        }
    }

    /// Every stored column name, in order: `batch_id`, `source_row`, then each field followed by its raw
    /// companion where it has one.
    pub fn stored_columns(self) -> Vec<(String, &'static str)> {
        let mut out = vec![("batch_id".to_owned(), "BIGINT"), ("source_row".to_owned(), "BIGINT")];
        for f in self.fields() {
            out.push((f.name.to_owned(), f.ty.sql_type()));
            if f.has_raw() {
                out.push((format!("raw_{}", f.name), "VARCHAR"));
            }
        }
        out
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What an import loads: each dataset fills one main table (complaints also fill `allegations`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Dataset {
    Stops,
    Detainers,
    CrimeReports,
    Complaints,
    PolicyEvents,
    Populations,
}

impl Dataset {
    pub const ALL: &'static [Dataset] = &[
        Dataset::Stops,
        Dataset::Detainers,
        Dataset::CrimeReports,
        Dataset::Complaints,
        Dataset::PolicyEvents,
        Dataset::Populations,
    ];

    /// The name on the command line and in URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stops => "stops",
            Self::Detainers => "detainers",
            Self::CrimeReports => "crime-reports",
            Self::Complaints => "complaints",
            Self::PolicyEvents => "policy-events",
            Self::Populations => "populations",
        }
    }

    pub fn main_table(self) -> Table {
        match self {
            Self::Stops => Table::Stops,
            Self::Detainers => Table::Detainers,
            Self::CrimeReports => Table::CrimeReports,
            Self::Complaints => Table::Complaints,
            Self::PolicyEvents => Table::PolicyEvents,
            Self::Populations => Table::Populations,
        }
    }

    /// Tables filled from child rows of the main records (one-to-many).
    pub fn child_tables(self) -> &'static [Table] {
        match self {
            Self::Complaints => &[Table::Allegations],
            _ => &[],
        }
    }

    pub fn tables(self) -> Vec<Table> {
        let mut t = vec![self.main_table()];
        t.extend_from_slice(self.child_tables());
        t
    }

    /// The race column indicators group by and data quality checks, if the dataset has one.
    pub fn race_column(self) -> Option<&'static str> {
        match self {
            Self::Stops | Self::Detainers => Some("subject_race"),
            Self::CrimeReports => Some("victim_race"),
            Self::Complaints => Some("complainant_race"),
            Self::PolicyEvents | Self::Populations => None,
        }
    }
}

impl fmt::Display for Dataset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A dataset name that is not one of ours.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "unknown dataset {0:?} (expected one of: stops, detainers, crime-reports, complaints, policy-events, populations)"
)]
pub struct UnknownDataset(pub String);

impl FromStr for Dataset {
    type Err = UnknownDataset;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm = s.trim().to_ascii_lowercase().replace('_', "-");
        Dataset::ALL.iter().copied().find(|d| d.as_str() == norm).ok_or_else(|| UnknownDataset(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::code_list_values;

    #[test]
    fn every_code_field_names_an_existing_code_list() {
        for t in Table::ALL {
            for f in t.fields() {
                if let FieldType::Code(list) = f.ty {
                    assert!(code_list_values(list).is_some(), "{}.{} names list {list}", t, f.name);
                }
            }
        }
    }

    #[test]
    fn every_table_has_a_required_jurisdiction_and_unique_column_names() {
        for t in Table::ALL {
            assert!(t.field("jurisdiction_id").unwrap().required);
            let cols = t.stored_columns();
            let mut names: Vec<_> = cols.iter().map(|c| c.0.clone()).collect();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), cols.len(), "{t}");
        }
    }

    #[test]
    fn datasets_parse_from_cli_and_url_spellings() {
        assert_eq!("crime-reports".parse::<Dataset>().unwrap(), Dataset::CrimeReports);
        assert_eq!("crime_reports".parse::<Dataset>().unwrap(), Dataset::CrimeReports);
        assert!("cars".parse::<Dataset>().unwrap_err().to_string().contains("expected one of"));
    }
}
