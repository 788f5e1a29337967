//! What the engine reads and writes a row as: loaded files, column references, cleaned text, typed values
//! and the problems that reject a row.

use crate::reader::{Row, Rows};
use chrono::{NaiveDate, NaiveTime};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// A fully loaded joined or child file (or a grouped main file).
pub(crate) struct FileData {
    pub(crate) role: String,
    pub(crate) display: String,
    pub(crate) header: Vec<String>,
    pub(crate) rows: Rows,
    /// Key columns (one for a joined file; a group's may be several) and key -> row numbers.
    pub(crate) key_cols: Vec<usize>,
    pub(crate) index: HashMap<String, Vec<u32>>,
    /// Rows that are no record to join or to fill children from (wrong number of fields, filtered out, in
    /// a rejected group), by row number.
    pub(crate) excluded: HashSet<usize>,
}

impl FileData {
    /// The key of a row: its key columns' trimmed values (joined by a unit separator where several).
    pub(crate) fn key_of(&self, row: &Row<'_>) -> String {
        key_of(row, &self.key_cols)
    }
}

/// One key column's value as keys compare it: without a CRLF's `\r` and trimmed.
pub(crate) fn key_part<'a>(row: &Row<'a>, col: usize) -> &'a str {
    row.get(col).map(|v| v.strip_suffix('\r').unwrap_or(v).trim()).unwrap_or_default()
}

/// The trimmed values of `cols` in the row, joined by a unit separator; empty when any is empty.
pub(crate) fn key_of(row: &Row<'_>, cols: &[usize]) -> String {
    let mut k = String::new();
    for (i, &c) in cols.iter().enumerate() {
        let v = key_part(row, c);
        if v.is_empty() {
            return String::new();
        }
        if i > 0 {
            k.push('\u{1f}');
        }
        k.push_str(v);
    }
    k
}

/// Where a value is read from: file 0 is the row being mapped, others are joined files.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ColRef {
    pub(crate) file: usize,
    pub(crate) idx: usize,
}

/// Text cleaning shared by every read.
#[derive(Debug, Clone)]
pub(crate) struct Cleaner {
    pub(super) trim: bool,
    pub(super) nulls: Vec<String>,
    /// Bit `k` is set when a null spelling is `k` bytes long (bit 63: 63 or more): most values need no
    /// comparison at all.
    pub(super) null_lens: u64,
}

impl Cleaner {
    pub(crate) fn new(trim: bool, nulls: &[String]) -> Self {
        let null_lens = nulls.iter().fold(0u64, |m, n| m | 1 << n.len().min(63));
        Self { trim, nulls: nulls.to_vec(), null_lens }
    }
    #[inline(always)]
    pub(crate) fn clean<'a>(&self, s: &'a str, extra_nulls: &[String]) -> Option<&'a str> {
        // The '\r' of a CRLF line end stays on the last field (records end at '\n').
        let s = s.strip_suffix('\r').unwrap_or(s);
        let s = if self.trim { trim(s) } else { s };
        let maybe_null = self.null_lens >> s.len().min(63) & 1 == 1;
        if maybe_null && self.nulls.iter().any(|n| n == s) || extra_nulls.iter().any(|n| n.eq_ignore_ascii_case(s)) {
            None
        } else {
            Some(s)
        }
    }
}

/// `s` without leading and trailing whitespace. Most values have none: a value whose first and last bytes
/// are visible ASCII characters is returned as it is without decoding it.
#[inline]
pub(super) fn trim(s: &str) -> &str {
    match s.as_bytes() {
        [a, .., b] if a.is_ascii_graphic() && b.is_ascii_graphic() => s,
        [a] if a.is_ascii_graphic() => s,
        _ => s.trim(),
    }
}

/// The rows a value can be read from.
pub(crate) struct RowCtx<'a, 'j> {
    pub(crate) row: Row<'a>,
    /// For each joined file (index = file number - 1): the rows joined to this one.
    pub(crate) joined: &'j [&'a [u32]],
    pub(crate) files: &'a [&'a FileData],
}

impl<'a> RowCtx<'a, '_> {
    pub(super) fn get(&self, c: ColRef, joined_row: Option<u32>) -> Option<&'a str> {
        if c.file == 0 {
            self.row.get(c.idx)
        } else {
            let f = self.files[c.file - 1];
            let r = joined_row.or_else(|| self.joined[c.file - 1].first().copied())?;
            f.rows.row(r as usize).get(c.idx)
        }
    }
}

/// A typed value of one output column.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val<'a> {
    Null,
    Str(Cow<'a, str>),
    /// Text shared by many rows (a constant, a mapped value).
    Shared(Arc<str>),
    Code(&'static str),
    Bool(bool),
    Int(i64),
    Float(f64),
    Date(NaiveDate),
    Time(NaiveTime),
}

impl Val<'_> {
    pub(super) fn is_null(&self) -> bool {
        matches!(self, Val::Null)
    }
    pub(crate) fn as_date(&self) -> Option<NaiveDate> {
        match self {
            Val::Date(d) => Some(*d),
            _ => None,
        }
    }
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Val::Str(s) => Some(s),
            Val::Shared(s) => Some(s),
            Val::Code(s) => Some(s),
            _ => None,
        }
    }
    pub(super) fn display(&self) -> Option<String> {
        match self {
            Val::Null => None,
            Val::Str(s) => Some(s.to_string()),
            Val::Shared(s) => Some(s.to_string()),
            Val::Code(s) => Some((*s).to_owned()),
            Val::Bool(b) => Some(b.to_string()),
            Val::Int(i) => Some(i.to_string()),
            Val::Float(f) => Some(f.to_string()),
            Val::Date(d) => Some(d.to_string()),
            Val::Time(t) => Some(t.to_string()),
        }
    }
}

/// One problem with one row.
#[derive(Debug, Clone)]
pub(crate) struct Problem {
    pub(crate) column: String,
    pub(crate) value: Option<String>,
    pub(crate) reason: String,
}
