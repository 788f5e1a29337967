//! Source profiles: TOML files that map a source's layout (columns, codes, formats, files) onto the
//! canonical record model. A user writes one for a new agency's layout with no code change; the shipped ones
//! live in `profiles/` at the top of the repository. The format is documented in `profiles/README.md`.

use crate::reader::{CsvOptions, Encoding, QuoteLimits};
use oversight_core::{Dataset, Table};
use serde::Deserialize;
use std::collections::BTreeMap;

/// A profile as written in TOML.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileToml {
    /// Short name (`opp`); defaults to the file's stem.
    pub name: Option<String>,
    pub title: Option<String>,
    pub dataset: String,
    pub description: Option<String>,
    /// The licence the source's data is published under (an SPDX-style id such as `ODC-By-1.0`), for the
    /// data dictionary of extracts.
    #[serde(default)]
    pub license: Option<String>,
    /// Where the source publishes the data.
    #[serde(default)]
    pub homepage: Option<String>,
    /// Data-quality notes about the source, shown with its data.
    #[serde(default)]
    pub notes: Vec<String>,
    #[serde(default)]
    pub source: SourceToml,
    #[serde(default)]
    pub jurisdiction: JurisdictionToml,
    /// Input files, for sources published as several files; the first is the main file.
    #[serde(default)]
    pub files: Vec<FileToml>,
    /// Canonical field -> how to fill it.
    #[serde(default)]
    pub fields: BTreeMap<String, FieldSpec>,
    /// Attributes of jurisdictions created from the rows (name, kind, parent, state, fips).
    #[serde(default)]
    pub jurisdiction_fields: BTreeMap<String, FieldSpec>,
    /// Child tables filled from one-to-many files (complaints -> allegations).
    #[serde(default)]
    pub children: BTreeMap<String, ChildToml>,
    /// One output record per entry for every source row (wide tables made long, e.g. a census table).
    #[serde(default)]
    pub expand: Vec<BTreeMap<String, FieldSpec>>,
    /// Named code maps fields refer to with `map = "name"`.
    #[serde(default)]
    pub maps: BTreeMap<String, BTreeMap<String, String>>,
    /// One record per group of the main file's rows (one row per allegation or charge): the rows sharing
    /// these columns' values make one record, and children may be filled from each row.
    pub group: Option<GroupToml>,
    /// Rows of the main file to leave out (counted in the batch summary, not rejected).
    #[serde(default, alias = "where")]
    pub filter: Vec<RowFilterToml>,
    /// What a repeated record key means.
    #[serde(default)]
    pub keys: KeysToml,
    /// Cross-field rules by name -> what a row breaking it does.
    #[serde(default)]
    pub rules: BTreeMap<String, RuleAction>,
}

/// `[group]`: the main file holds one row per child, the parent's columns repeated on each.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupToml {
    /// The column(s) whose values identify a record.
    pub by: OneOrMany,
    /// Columns that must hold one value throughout a group (the parent's columns); a group where one
    /// differs is rejected, naming the lines.
    #[serde(default)]
    pub constant: Vec<String>,
}

/// `[[filter]]`: a row passes when every condition given holds.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RowFilterToml {
    pub column: String,
    /// Keep rows whose value is one of these (matched like map keys: trimmed, any case).
    #[serde(rename = "in")]
    pub is_in: Option<Vec<String>>,
    /// Leave out rows whose value is one of these.
    pub not_in: Option<Vec<String>>,
    /// `true`: keep rows without a value; `false`: keep rows with one.
    pub is_null: Option<bool>,
    /// Comparisons: numbers compare as numbers (a value that is not one fails), text as text (ISO dates).
    pub eq: Option<toml::Value>,
    pub ne: Option<toml::Value>,
    pub lt: Option<toml::Value>,
    pub le: Option<toml::Value>,
    pub gt: Option<toml::Value>,
    pub ge: Option<toml::Value>,
}

/// `[keys]`: what a repeated record key (stop id, complaint id, ...) means.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeysToml {
    /// A key on several rows of one input.
    #[serde(default)]
    pub repeat: RepeatAction,
    /// A key another batch of the same jurisdiction already holds.
    #[serde(default)]
    pub existing: ExistingAction,
}

/// What a key repeated within one input does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RepeatAction {
    /// Every row of the key is rejected, naming the other lines (never guess which is right).
    #[default]
    Reject,
    /// The first row is kept, the later ones rejected as repeats.
    First,
    /// The last row is kept, the earlier ones rejected as repeats (a file of updates).
    Last,
}

/// What a key another batch holds does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExistingAction {
    /// The new row is rejected, naming the batch and line holding the key.
    #[default]
    Reject,
    /// The new row replaces the old record (and its children), counted in the batch summary.
    Supersede,
}

/// What a row breaking a cross-field rule does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleAction {
    /// The row is rejected (the default).
    #[default]
    Reject,
    /// The row is kept with the inconsistent field cleared, and counted.
    Null,
    /// The row is kept as it is, flagged with the rule's name (`flags`), and counted.
    Keep,
}

/// A cross-field rule: its name, the table it checks, the field it clears under `null`, and what it says.
#[derive(Debug, Clone, Copy)]
pub struct CrossRule {
    pub name: &'static str,
    pub table: Table,
    /// The field the rule finds inconsistent (cleared under `null`).
    pub field: &'static str,
    /// The field it is compared with.
    pub other: &'static str,
    pub description: &'static str,
}

/// Every cross-field rule.
pub const CROSS_RULES: &[CrossRule] = &[
    CrossRule {
        name: "contraband_requires_search",
        table: Table::Stops,
        field: "contraband_found",
        other: "search_conducted",
        description: "contraband found only where a search was conducted (a source that records contraband \
                      found in a frisk without a search breaks it)",
    },
    CrossRule {
        name: "closed_after_received",
        table: Table::Complaints,
        field: "closed_date",
        other: "received_date",
        description: "a complaint is closed on or after the day it was received",
    },
    CrossRule {
        name: "outcome_after_received",
        table: Table::Detainers,
        field: "outcome_date",
        other: "received_date",
        description: "a detainer's outcome is dated on or after the day it was received",
    },
];

/// `pad = { width = 4, with = "0" }`: left-pad a value to this width before it is read (sources that drop
/// leading zeros: `100` -> `0100`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PadToml {
    pub width: usize,
    #[serde(default = "default_pad")]
    pub with: String,
}

fn default_pad() -> String {
    "0".into()
}

/// How to read the files.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceToml {
    /// `csv` or `parquet`; by default from the file's extension.
    pub format: Option<String>,
    #[serde(default = "default_delimiter")]
    pub delimiter: String,
    #[serde(default = "default_quote")]
    pub quote: String,
    /// `utf-8` (default; a BOM is skipped), `latin-1`, `windows-1252`, or another WHATWG label.
    #[serde(default = "default_encoding")]
    pub encoding: String,
    /// Values that mean "no value" (compared after trimming).
    #[serde(default = "default_nulls")]
    pub null_values: Vec<String>,
    /// Trim blanks around every value.
    #[serde(default = "default_true")]
    pub trim: bool,
    /// Lines to skip before the header line.
    #[serde(default)]
    pub skip_lines: usize,
    /// The most lines one quoted field may span before the file is refused as a quote left open.
    #[serde(default = "default_quoted_lines")]
    pub max_quoted_lines: u64,
    /// The most bytes one record with a quoted field may hold before the file is refused likewise.
    #[serde(default = "default_quoted_bytes")]
    pub max_quoted_bytes: usize,
}

impl SourceToml {
    /// The reader's options; refused when a setting cannot be read (the checks at load say which).
    pub(crate) fn csv_options(&self) -> Result<CsvOptions, String> {
        let one = |what: &str, v: &str| match v.as_bytes() {
            [b] if b.is_ascii() => Ok(*b),
            b"\\t" => Ok(b'\t'),
            _ => Err(format!("source.{what} must be one ASCII character, found {v:?}")),
        };
        Ok(CsvOptions {
            encoding: Encoding::from_label(&self.encoding)?,
            delimiter: one("delimiter", &self.delimiter)?,
            quote: one("quote", &self.quote)?,
            skip_lines: self.skip_lines,
            limits: QuoteLimits { lines: self.max_quoted_lines, bytes: self.max_quoted_bytes },
        })
    }
}

fn default_quoted_lines() -> u64 {
    100
}
fn default_quoted_bytes() -> usize {
    1 << 20
}

fn default_delimiter() -> String {
    ",".into()
}
fn default_quote() -> String {
    "\"".into()
}
fn default_encoding() -> String {
    "utf-8".into()
}
fn default_nulls() -> Vec<String> {
    ["", "NA", "N/A", "NULL", "null", "NaN"].iter().map(|s| s.to_string()).collect()
}
fn default_true() -> bool {
    true
}

impl Default for SourceToml {
    fn default() -> Self {
        Self {
            format: None,
            delimiter: default_delimiter(),
            quote: default_quote(),
            encoding: default_encoding(),
            null_values: default_nulls(),
            trim: true,
            skip_lines: 0,
            max_quoted_lines: default_quoted_lines(),
            max_quoted_bytes: default_quoted_bytes(),
        }
    }
}

/// The jurisdiction records belong to when neither the command line nor a field says.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JurisdictionToml {
    pub id: Option<String>,
    pub name: Option<String>,
    pub kind: Option<String>,
    pub parent: Option<String>,
    pub state: Option<String>,
    pub fips: Option<String>,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    /// IANA zone of the jurisdiction's local time (`America/Chicago`).
    pub timezone: Option<String>,
}

/// One input file of a multi-file source.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileToml {
    pub role: String,
    /// Glob on the file name (`*charges*`); without one, files are told apart by their columns.
    #[serde(rename = "match")]
    pub pattern: Option<String>,
    /// Key column in this file (not for the main file).
    pub key: Option<String>,
    /// Key column in the main file it joins to (default: the same name as `key`).
    pub on: Option<String>,
}

/// A child table filled from a one-to-many file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChildToml {
    /// Role of the file holding the child rows.
    pub file: String,
    pub fields: BTreeMap<String, FieldSpec>,
}

/// How one canonical field is filled: a column name, or a table of options.
#[derive(Debug, Clone)]
pub enum FieldSpec {
    Column(String),
    Full(Box<FieldSpecFull>),
}

/// By hand rather than `#[serde(untagged)]`, which would replace a table's own error (an unknown key, a misspelt
/// option and the values it allows) with "data did not match any variant".
impl<'de> Deserialize<'de> for FieldSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = FieldSpec;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a column name or a table of options")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<FieldSpec, E> {
                Ok(FieldSpec::Column(v.to_owned()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, m: A) -> Result<FieldSpec, A::Error> {
                FieldSpecFull::deserialize(serde::de::value::MapAccessDeserializer::new(m))
                    .map(|f| FieldSpec::Full(Box::new(f)))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpecFull {
    /// Source column (`col`, or `role.col` for a joined file).
    pub column: Option<String>,
    /// A constant.
    pub value: Option<toml::Value>,
    /// Text built from columns: `"{STATE} {COUNTY}"`.
    pub template: Option<String>,
    /// True if any of these boolean columns is true.
    pub any: Option<Vec<String>>,
    /// The first of these columns that has a value.
    pub coalesce: Option<Vec<String>>,
    /// Sum / product / root of the sum of squares (margins of error) of numeric columns.
    pub sum: Option<Vec<String>>,
    pub product: Option<Vec<String>>,
    pub rss: Option<Vec<String>>,
    /// Multiply a number by this.
    pub scale: Option<f64>,
    /// Date/time format(s), strftime style; the first that reads the value wins.
    pub format: Option<OneOrMany>,
    /// Zone the source's times are in (e.g. `UTC`); they are converted to the jurisdiction's local time.
    pub timezone: Option<String>,
    /// Code map: an inline table, or the name of a table under `[maps]`.
    pub map: Option<MapRef>,
    /// What to do with a value the map lacks: `reject` (default for code fields), `null`, `keep` (text fields'
    /// default), a code of the field's list (coded fields), or `{ value = "…" }` (any field).
    pub unmapped: Option<Unmapped>,
    /// Value to use when the source has none.
    pub missing: Option<String>,
    /// Values of this field meaning "no value", besides the source-wide ones.
    pub null_values: Option<Vec<String>>,
    /// Race takes `hispanic` where this ethnicity column has one of these values.
    pub hispanic: Option<HispanicToml>,
    /// Spellings of true/false.
    #[serde(rename = "true")]
    pub truthy: Option<Vec<String>>,
    #[serde(rename = "false")]
    pub falsy: Option<Vec<String>>,
    /// Store a keyed hash of the value instead of the value (officer ids).
    #[serde(default)]
    pub hash: bool,
    /// Turn the text into a jurisdiction-id style slug.
    #[serde(default)]
    pub slug: bool,
    /// Lower-case the text.
    #[serde(default)]
    pub lowercase: bool,
    /// Remove this ending from text values (`.0` from ids a spreadsheet stored as numbers).
    pub strip_suffix: Option<String>,
    /// Range a number must fall in.
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// `reject` (default) or `null`: what a value that cannot be read does to the row.
    #[serde(default)]
    pub on_invalid: OnInvalid,
    /// The column may be absent from the file (the field is then empty).
    #[serde(default)]
    pub optional: bool,
    /// For joined columns: `first` (default), `count`, `distinct_count`, `any`, `priority`, `max`, `min`.
    pub aggregate: Option<Aggregate>,
    /// For `aggregate = "priority"`: mapped values from strongest to weakest.
    pub priority: Option<Vec<String>>,
    /// For joined columns: only rows passing this filter count.
    pub when: Option<FilterToml>,
    /// For joined columns: value when no joined row passes.
    pub empty: Option<String>,
    /// Left-pad the value to a width before reading it (compact times and dates without leading zeros).
    pub pad: Option<PadToml>,
}

/// What a value that cannot be read does to its row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnInvalid {
    /// The row goes to the rejects, naming the value (the default).
    #[default]
    Reject,
    /// The field is left empty and the row is kept.
    Null,
}

/// How the rows of a group (or the joined rows of a child file) make one value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregate {
    /// The first row's non-empty value (the default).
    #[default]
    First,
    /// The number of rows.
    Count,
    /// The number of distinct non-empty values.
    DistinctCount,
    /// True when any row's value is true.
    Any,
    /// The strongest value by the field's `priority` list.
    Priority,
    Max,
    Min,
}

impl Aggregate {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::First => "first",
            Self::Count => "count",
            Self::DistinctCount => "distinct_count",
            Self::Any => "any",
            Self::Priority => "priority",
            Self::Max => "max",
            Self::Min => "min",
        }
    }
}

/// What a value the field's map lacks does, as the profile writes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Unmapped {
    /// `reject`, `null` or `keep`.
    Rule(UnmappedRule),
    /// `{ value = "…" }`: this value instead (any field).
    Value { value: String },
    /// Any other word: for a coded field, the code to use instead (checked against the field's code list when
    /// the profile loads); refused for other fields, where it is most likely a misspelt rule.
    Code(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnmappedRule {
    /// The row goes to the rejects (coded fields' default).
    Reject,
    /// The field is left empty.
    Null,
    /// The source's value is kept as it is (text fields' default; a coded field rejects instead).
    Keep,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            Self::One(s) => vec![s.clone()],
            Self::Many(v) => v.clone(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum MapRef {
    Named(String),
    Inline(BTreeMap<String, String>),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HispanicToml {
    pub column: String,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterToml {
    pub column: String,
    #[serde(rename = "in")]
    pub is_in: Option<Vec<String>>,
    pub not_in: Option<Vec<String>>,
}

impl FieldSpec {
    pub fn full(&self) -> FieldSpecFull {
        match self {
            Self::Column(c) => FieldSpecFull { column: Some(c.clone()), ..Default::default() },
            Self::Full(f) => (**f).clone(),
        }
    }
}

/// A problem with a profile, naming where in it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("profile {profile}: {message}")]
pub struct ProfileError {
    pub profile: String,
    pub message: String,
}

/// A loaded, checked profile.
#[derive(Debug, Clone)]
pub struct Profile {
    pub name: String,
    pub dataset: Dataset,
    pub toml: ProfileToml,
    /// sha256 of the profile text: part of a batch's identity.
    pub sha256: String,
    /// Where it came from (`shipped` or a path).
    pub origin: String,
    /// How its CSV files are read.
    pub(crate) csv: CsvOptions,
}

impl Profile {
    /// Parses and checks a profile. `default_name` is used when the TOML has no `name`.
    pub fn from_toml(text: &str, default_name: &str, origin: &str) -> Result<Self, ProfileError> {
        let err = |message: String| ProfileError { profile: default_name.to_owned(), message };
        let toml: ProfileToml = toml::from_str(text).map_err(|e| err(format!("not a valid profile: {e}")))?;
        let name = toml.name.clone().unwrap_or_else(|| default_name.to_owned());
        let dataset: Dataset = toml.dataset.parse().map_err(|e| err(format!("{e}")))?;
        let sha256 = crate::hash::sha256_hex(text.as_bytes());
        let mut p = Self { name, dataset, toml, sha256, origin: origin.to_owned(), csv: CsvOptions::default() };
        p.check().map_err(|message| ProfileError { profile: p.name.clone(), message })?;
        p.csv = p.toml.source.csv_options().map_err(|message| ProfileError { profile: p.name.clone(), message })?;
        Ok(p)
    }

    pub fn title(&self) -> &str {
        self.toml.title.as_deref().unwrap_or(&self.name)
    }

    /// Field specs of a table: the main table's `[fields]`, or a child table's.
    pub fn table_fields(&self, table: Table) -> Option<&BTreeMap<String, FieldSpec>> {
        if table == self.dataset.main_table() {
            Some(&self.toml.fields)
        } else {
            self.toml.children.get(table.name()).map(|c| &c.fields)
        }
    }

    pub fn file_roles(&self) -> Vec<String> {
        if self.toml.files.is_empty() {
            vec!["main".to_owned()]
        } else {
            self.toml.files.iter().map(|f| f.role.clone()).collect()
        }
    }

    /// Whether the main file's rows are grouped into records (`[group]`).
    pub fn grouped(&self) -> bool {
        self.toml.group.is_some()
    }

    /// What a row breaking this rule does under this profile.
    pub fn rule_action(&self, rule: &str) -> RuleAction {
        self.toml.rules.get(rule).copied().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(s: &str) -> Result<Profile, ProfileError> {
        Profile::from_toml(s, "t", "test")
    }

    #[test]
    fn a_minimal_profile_loads_and_takes_its_name_from_the_file() {
        let p = load("dataset = 'populations'\n[fields]\nyear='y'\ngroup='g'\npopulation='p'\n").unwrap();
        assert_eq!(p.name, "t");
        assert_eq!(p.dataset, Dataset::Populations);
        assert_eq!(p.sha256.len(), 64);
    }

    #[test]
    fn unknown_fields_keys_and_codes_are_refused_naming_them() {
        let e = load("dataset='stops'\n[fields]\ndate='d'\ncolour='c'\n").unwrap_err().to_string();
        assert!(e.contains("fields.colour") && e.contains("stops has no field"), "{e}");
        let e = load("dataset='stops'\nbogus=1\n[fields]\ndate='d'\n").unwrap_err().to_string();
        assert!(e.contains("bogus"), "{e}");
        let e = load("dataset='stops'\n[fields]\ndate='d'\nsubject_race={column='r', map={W='whyte'}}\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"whyte\", which is not a race code"), "{e}");
        let e = load("dataset='stops'\n[fields]\ndate={column='d', format='%Q'}\n").unwrap_err().to_string();
        assert!(e.contains("%Q"), "{e}");
    }

    #[test]
    fn a_misspelt_option_is_refused_at_load_naming_the_allowed_values() {
        // unmapped on a text field (officer_id is text) and on a coded one.
        let e = load("dataset='stops'\n[fields]\ndate='d'\nstop_id={column='i', map={A='a'}, unmapped='rejct'}\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unmapped must be one of reject, null, keep") && e.contains("\"rejct\""), "{e}");
        let e =
            load("dataset='stops'\n[fields]\ndate='d'\nsubject_sex={column='s', map={M='male'}, unmapped='rejct'}\n")
                .unwrap_err()
                .to_string();
        assert!(e.contains("unmapped must be one of reject, null, keep or a sex code (") && e.contains("male"), "{e}");
        let e = load("dataset='stops'\n[fields]\ndate={column='d', on_invalid='nul'}\n").unwrap_err().to_string();
        assert!(e.contains("unknown variant `nul`, expected `reject` or `null`"), "{e}");
        let e = load("dataset='stops'\n[fields]\ndate='d'\nsubject_age={column='a', aggregate='maximum'}\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown variant `maximum`") && e.contains("`distinct_count`"), "{e}");
        // The spellings that are meant load: a rule, a code, a replacement value.
        load("dataset='stops'\n[fields]\ndate='d'\nsubject_sex={column='s', map={M='male'}, unmapped='unknown'}\n")
            .unwrap();
        load("dataset='stops'\n[fields]\ndate='d'\nstop_id={column='i', map={A='a'}, unmapped={value='other'}}\n")
            .unwrap();
        load("dataset='stops'\n[fields]\ndate='d'\nstop_id={column='i', map={A='a'}, unmapped='null'}\n").unwrap();
    }

    #[test]
    fn delimiters_and_quotes_are_one_ascii_character() {
        for (key, value) in [("delimiter", "§"), ("delimiter", ";;"), ("quote", "þ"), ("quote", "")] {
            let e = load(&format!("dataset='stops'\n[source]\n{key}='{value}'\n[fields]\ndate='d'\n"))
                .unwrap_err()
                .to_string();
            assert!(e.contains(&format!("source.{key} must be one ASCII character")), "{e}");
        }
        load("dataset='stops'\n[source]\ndelimiter='\\t'\nquote=\"'\"\n[fields]\ndate='d'\n").unwrap();
    }

    #[test]
    fn required_fields_need_a_mapping() {
        let e = load("dataset='stops'\n[fields]\ntime='t'\n").unwrap_err().to_string();
        assert!(e.contains("fields.date is required"), "{e}");
    }

    #[test]
    fn race_maps_may_target_finer_categories() {
        load("dataset='stops'\n[fields]\ndate='d'\nsubject_race={column='r', map={'East African'='east african'}}\n")
            .unwrap();
    }

    #[test]
    fn named_maps_must_exist() {
        let e = load("dataset='stops'\n[fields]\ndate='d'\nsubject_sex={column='s', map='sexes'}\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("no map named \"sexes\""), "{e}");
    }
}
