//! Row filters and sort orders for extracts, in the style Datasette users know: `column=value` and
//! `column__op=value` (`subject_race=black`, `district__in=4,5`, `age__gte=18`, `date__lt=2020-01-01`,
//! `outcome__isnull=true`), `_sort=column` or `_sort=-column`. Each is checked here against the column's type
//! (no IO): an unknown column or operator, an operator the type has no use for, or a value that is not of the
//! column's type is refused, naming the parameter. The store binds the values; nothing here becomes SQL text
//! but the column names, which come from the allow-list.

use crate::public::Source;
use crate::schema::FieldType;
use crate::{code_list_values, public};

/// A filter's operator: the suffix after `__` (none for `exact`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    Exact,
    Not,
    In,
    NotIn,
    Gt,
    Gte,
    Lt,
    Lte,
    IsNull,
    Contains,
}

impl Op {
    /// Every operator, as its suffix.
    pub const ALL: &'static [(Op, &'static str)] = &[
        (Op::Exact, "exact"),
        (Op::Not, "not"),
        (Op::In, "in"),
        (Op::NotIn, "notin"),
        (Op::Gt, "gt"),
        (Op::Gte, "gte"),
        (Op::Lt, "lt"),
        (Op::Lte, "lte"),
        (Op::IsNull, "isnull"),
        (Op::Contains, "contains"),
    ];

    pub fn as_str(self) -> &'static str {
        Self::ALL.iter().find(|(o, _)| *o == self).map_or("exact", |(_, s)| s)
    }

    /// Whether the operator means something for a column of this type: order for numbers, dates and times;
    /// `contains` for free text; the rest for every type.
    fn applies_to(self, ty: FieldType) -> bool {
        use FieldType::*;
        match self {
            Op::Gt | Op::Gte | Op::Lt | Op::Lte => matches!(ty, Int | Float | Date | Time),
            Op::Contains => matches!(ty, Text),
            _ => true,
        }
    }

    /// The operators that apply to a type, for messages.
    fn names_for(ty: FieldType) -> String {
        Self::ALL.iter().filter(|(o, _)| o.applies_to(ty)).map(|(_, s)| *s).collect::<Vec<_>>().join(", ")
    }
}

/// One checked filter: `column op values`, the values as the text the database reads (each already known
/// to parse as the column's type).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RowFilter {
    /// The parameter as given (`age__gte`).
    pub param: String,
    pub column: &'static str,
    pub op: Op,
    /// The column's SQL type (what the values are cast to).
    #[serde(skip)]
    pub sql_type: &'static str,
    /// One value (several for `in` and `notin`; for `isnull`, `true` or `false`).
    pub values: Vec<String>,
}

/// A refused filter or sort: the parameter and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    pub param: String,
    pub message: String,
}

impl FilterError {
    fn new(param: &str, message: String) -> Self {
        Self { param: param.to_owned(), message }
    }
}

/// Parses one `column[__op]=value` parameter of an extract of `ds`.
pub fn parse_filter(ds: Source, param: &str, raw: &str) -> Result<RowFilter, FilterError> {
    let (name, op_name) = match param.rsplit_once("__") {
        Some((c, o)) => (c, Some(o)),
        None => (param, None),
    };
    let Some((column, ty)) = public::column(ds, name) else {
        let cols = public::public_columns(ds).join(", ");
        return Err(FilterError::new(
            param,
            format!("{name:?} is not a public column of {} (filter on one of: {cols})", ds.as_str()),
        ));
    };
    let op = match op_name {
        None => Op::Exact,
        Some(o) => Op::ALL.iter().find(|(_, s)| *s == o).map(|(op, _)| *op).ok_or_else(|| {
            FilterError::new(param, format!("unknown operator {o:?} (operators for {column}: {})", Op::names_for(ty)))
        })?,
    };
    if !op.applies_to(ty) {
        let why = format!(
            "{column} is {}: {} does not apply (use one of: {})",
            ty.describe(),
            op.as_str(),
            Op::names_for(ty)
        );
        return Err(FilterError::new(param, why));
    }
    let values: Vec<String> = match op {
        Op::IsNull => vec![
            boolean(raw)
                .map(|b| b.to_string())
                .ok_or_else(|| FilterError::new(param, format!("expected true or false, got {raw:?}")))?,
        ],
        Op::In | Op::NotIn => raw
            .split(',')
            .map(|v| typed(ty, v.trim()).map_err(|m| FilterError::new(param, m)))
            .collect::<Result<_, _>>()?,
        _ => vec![typed(ty, raw).map_err(|m| FilterError::new(param, m))?],
    };
    Ok(RowFilter { param: param.to_owned(), column, op, sql_type: ty.sql_type(), values })
}

fn boolean(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// The value as the database reads it, if it is of the type.
fn typed(ty: FieldType, v: &str) -> Result<String, String> {
    use FieldType::*;
    let bad = |what: &str| format!("expected {what}, got {v:?}");
    match ty {
        Text => Ok(v.to_owned()),
        Code(list) => {
            let allowed = code_list_values(list).unwrap_or_default();
            if allowed.contains(&v) {
                Ok(v.to_owned())
            } else {
                Err(format!("{v:?} is not a code of {list} (codes: {})", allowed.join(", ")))
            }
        }
        Bool => boolean(v).map(|b| b.to_string()).ok_or_else(|| bad("true or false")),
        Int => v.trim().parse::<i64>().map(|n| n.to_string()).map_err(|_| bad("a whole number")),
        Float => match v.trim().parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(x.to_string()),
            _ => Err(bad("a number")),
        },
        Date => chrono::NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d")
            .map(|d| d.to_string())
            .map_err(|_| bad("a date YYYY-MM-DD")),
        Time => chrono::NaiveTime::parse_from_str(v.trim(), "%H:%M:%S")
            .or_else(|_| chrono::NaiveTime::parse_from_str(v.trim(), "%H:%M"))
            .map(|t| t.format("%H:%M:%S").to_string())
            .map_err(|_| bad("a time HH:MM or HH:MM:SS")),
    }
}

/// A dimension of a cross-tabulation: a public coded, true/false or text column, or a period of the
/// records' date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dimension {
    Column(&'static str),
    Year,
    Quarter,
    Month,
}

impl Dimension {
    /// Its name in a request and a response.
    pub fn name(self) -> &'static str {
        match self {
            Self::Column(c) => c,
            Self::Year => "year",
            Self::Quarter => "quarter",
            Self::Month => "month",
        }
    }
}

/// Parses a table's `rows` or `columns`: `year`, `quarter`, `month`, or a public column holding codes, true or
/// false, or text (not a numeric, date or time column, and not a keyed id: every value of those would be
/// its own group).
pub fn parse_dimension(ds: Source, param: &str, raw: &str) -> Result<Dimension, FilterError> {
    match raw {
        "year" => return Ok(Dimension::Year),
        "quarter" => return Ok(Dimension::Quarter),
        "month" => return Ok(Dimension::Month),
        _ => {}
    }
    let groupable = |(c, ty): (&'static str, FieldType)| {
        let keyed = public::KEYED_ID_COLUMNS.iter().any(|k| k.0 == c);
        (matches!(ty, FieldType::Code(_) | FieldType::Bool | FieldType::Text) && !keyed && c != "flags").then_some(c)
    };
    if let Some(c) = public::column(ds, raw).and_then(groupable) {
        return Ok(Dimension::Column(c));
    }
    let choices: Vec<&str> = public::public_columns(ds)
        .iter()
        .filter_map(|c| public::column(ds, c).and_then(groupable))
        .chain(["year", "quarter", "month"])
        .collect();
    Err(FilterError::new(param, format!("cannot group {} by {raw:?} (by one of: {})", ds.as_str(), choices.join(", "))))
}

/// Parses a table's `measure`: a public true/false column.
pub fn parse_measure(ds: Source, raw: &str) -> Result<&'static str, FilterError> {
    match public::column(ds, raw) {
        Some((c, FieldType::Bool)) => Ok(c),
        _ => {
            let flags: Vec<&str> = public::public_columns(ds)
                .iter()
                .copied()
                .filter(|c| matches!(public::column(ds, c), Some((_, FieldType::Bool))))
                .collect();
            Err(FilterError::new(
                "measure",
                format!("{raw:?} is not a true/false column of {} (one of: {})", ds.as_str(), flags.join(", ")),
            ))
        }
    }
}

/// Parses an extract's `columns`: comma-separated public columns, each once, in the order given (none: every
/// public column).
pub fn parse_columns(ds: Source, list: Option<&str>) -> Result<Vec<&'static str>, FilterError> {
    let allowed = public::public_columns(ds);
    let Some(list) = list else { return Ok(allowed.to_vec()) };
    let mut out: Vec<&'static str> = Vec::new();
    for c in list.split(',').map(str::trim) {
        let Some(col) = allowed.iter().find(|a| **a == c) else {
            let why = format!("{c:?} is not a public column of {} (public: {})", ds.as_str(), allowed.join(", "));
            return Err(FilterError::new("columns", why));
        };
        if !out.contains(col) {
            out.push(*col);
        }
    }
    Ok(out)
}

/// What a table counts: its rows, its columns (none: one, `all`) and a true/false measure, each checked
/// (`rows`, `columns`, `measure` are the parameters' names in refusals); the columns cannot repeat the rows.
pub fn parse_table(
    ds: Source,
    (rows_param, rows): (&str, &str),
    (columns_param, columns): (&str, Option<&str>),
    measure: Option<&str>,
) -> Result<(Dimension, Option<Dimension>, Option<&'static str>), FilterError> {
    let rows = parse_dimension(ds, rows_param, rows)?;
    let columns = columns.map(|c| parse_dimension(ds, columns_param, c)).transpose()?;
    if columns == Some(rows) {
        return Err(FilterError::new(columns_param, format!("the rows are already {}", rows.name())));
    }
    Ok((rows, columns, measure.map(|m| parse_measure(ds, m)).transpose()?))
}

/// One key of a sort order: a public column, ascending unless descending.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SortKey {
    pub column: &'static str,
    pub descending: bool,
}

/// Parses `_sort`: comma-separated public columns, each descending with a leading `-`.
pub fn parse_sort(ds: Source, raw: &str) -> Result<Vec<SortKey>, FilterError> {
    let mut keys: Vec<SortKey> = Vec::new();
    for part in raw.split(',').map(str::trim) {
        let (name, descending) = match part.strip_prefix('-') {
            Some(n) => (n, true),
            None => (part, false),
        };
        let Some((column, _)) = public::column(ds, name) else {
            let cols = public::public_columns(ds).join(", ");
            return Err(FilterError::new(
                "_sort",
                format!("{name:?} is not a public column of {} (sort by one of: {cols})", ds.as_str()),
            ));
        };
        if keys.iter().any(|k| k.column == column) {
            return Err(FilterError::new("_sort", format!("{column} is named twice")));
        }
        keys.push(SortKey { column, descending });
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::schema::Dataset;

    fn ok(ds: impl Into<Source>, p: &str, v: &str) -> RowFilter {
        parse_filter(ds.into(), p, v).unwrap_or_else(|e| panic!("{p}={v}: {e:?}"))
    }

    fn refused(ds: impl Into<Source>, p: &str, v: &str) -> String {
        let e = parse_filter(ds.into(), p, v).expect_err(p);
        assert_eq!(e.param, p);
        e.message
    }

    #[test]
    fn values_are_typed_by_their_column() {
        let f = ok(Dataset::Populations, "population__gte", "1e3");
        assert_eq!((f.op, f.values.as_slice(), f.sql_type), (Op::Gte, &["1000".to_owned()][..], "DOUBLE"));
        assert!(refused(Dataset::Populations, "population__gte", "NaN").contains("a number"));
        assert_eq!(ok(Dataset::Stops, "time__lt", "07:30").values, ["07:30:00"]);
        assert_eq!(ok(Dataset::Stops, "search_conducted", "TRUE").values, ["true"]);
        assert_eq!(ok(Dataset::Stops, "district__in", "4, 5").values, ["4", "5"]);
        assert_eq!(ok(Dataset::Stops, "batch_id", "3").values, ["3"]);
        assert_eq!(ok(Dataset::Complaints, "complaint_key", "ab12").column, "complaint_key");
        assert!(refused(Dataset::Complaints, "complaint_id", "x").contains("not a public column"));
        assert!(
            refused(Dataset::Stops, "subject_race__in", "black,purple").contains("\"purple\" is not a code of race")
        );
        assert!(refused(Dataset::Stops, "date__contains", "2020").contains("does not apply"));
        assert!(refused(Dataset::Stops, "subject_age__", "1").contains("unknown operator"));
        // Allegations: their own columns, and their complaint's, typed as the complaint's.
        assert_eq!(ok(Source::Allegations, "finding", "sustained").sql_type, "VARCHAR");
        assert_eq!(ok(Source::Allegations, "received_date__gte", "2020-01-01").sql_type, "DATE");
        assert!(refused(Source::Allegations, "complainant_race", "purple").contains("not a code of race"));
        assert!(refused(Source::Allegations, "officer_key", "x").contains("not a public column of allegations"));
    }

    #[test]
    fn sort_keys_are_public_columns_named_once() {
        let k = parse_sort(Dataset::Stops.into(), "-subject_age, district").unwrap();
        assert_eq!(k[0], SortKey { column: "subject_age", descending: true });
        assert_eq!(k[1], SortKey { column: "district", descending: false });
        assert!(parse_sort(Dataset::Stops.into(), "district,-district").unwrap_err().message.contains("twice"));
        assert!(parse_sort(Dataset::Stops.into(), "lat").unwrap_err().message.contains("not a public column"));
    }
}
