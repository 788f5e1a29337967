//! A compiled field: where its value comes from (a getter), how it is read (a conversion), and the set of
//! fields a table's row is evaluated with.

use super::row::*;
use crate::hash::KeyedHasher;
use crate::parse::{BoolWords, DateFormat};
use crate::profile::{Aggregate as Agg, Profile};
use crate::values::ValueMap;
use chrono_tz::Tz;
use oversight_core::FieldDef;
use std::collections::HashSet;
use std::sync::Arc;
#[derive(Debug, Clone)]
pub(super) struct CodeTarget {
    pub(super) code: &'static str,
    pub(super) detail: Option<&'static str>,
}

#[derive(Debug, Clone)]
pub(super) struct JoinFilter {
    pub(super) col: ColRef,
    pub(super) values: HashSet<String>,
    pub(super) keep_if_in: bool,
}

#[derive(Debug, Clone)]
pub(super) enum NumOp {
    Sum,
    Product,
    Rss,
}

#[derive(Debug, Clone)]
pub(super) enum Getter {
    Col(ColRef),
    Joined {
        col: ColRef,
        agg: Agg,
        filter: Option<JoinFilter>,
    },
    Const(String),
    Template(Vec<TemplatePart>),
    Any(Vec<ColRef>),
    Coalesce(Vec<ColRef>),
    Num(NumOp, Vec<ColRef>),
    /// An optional column the file lacks.
    Absent,
}

#[derive(Debug, Clone)]
pub(super) enum TemplatePart {
    Lit(String),
    Col(ColRef),
}

#[derive(Debug, Clone)]
pub(super) enum Conv {
    Text {
        map: Option<ValueMap<Arc<str>>>,
        strip_suffix: Option<String>,
        lowercase: bool,
        slug: bool,
        hash: Option<KeyedHasher>,
        jurisdiction: bool,
    },
    Code {
        map: ValueMap<CodeTarget>,
        hispanic: Option<(ColRef, Vec<String>)>,
    },
    Bool(BoolWords),
    Int {
        scale: Option<f64>,
        min: Option<f64>,
        max: Option<f64>,
    },
    Float {
        scale: Option<f64>,
        min: Option<f64>,
        max: Option<f64>,
    },
    Date {
        formats: Vec<DateFormat>,
        convert: Option<(Option<Tz>, Tz)>,
    },
    Time {
        formats: Vec<DateFormat>,
        convert: Option<(Option<Tz>, Tz)>,
    },
}

/// How one output field is computed.
#[derive(Debug, Clone)]
pub(super) struct FieldPlan {
    pub(super) def: &'static FieldDef,
    pub(super) getter: Getter,
    pub(super) conv: Conv,
    /// Column name shown in rejects.
    pub(super) label: String,
    pub(super) null_values: Vec<String>,
    pub(super) missing: Option<String>,
    pub(super) empty: Option<String>,
    pub(super) priority: Vec<String>,
    pub(super) invalid_is_null: bool,
    /// Left-pad values to this width with this character before reading them.
    pub(super) pad: Option<(usize, char)>,
    /// Output slot of this field's raw companion, if the table has one.
    pub(super) raw_slot: Option<usize>,
    /// Output slot of the finer race category this field fills, if any.
    pub(super) detail_slot: Option<usize>,
    pub(super) slot: usize,
    /// A constant's converted value, once computed.
    pub(super) constant: Option<Val<'static>>,
    /// Reads one column of the row with no `missing` value and no ethnicity override (the fast path).
    pub(super) simple: bool,
    /// An optional column the file lacks, with no `missing` value: its slots stay NULL.
    pub(super) always_null: bool,
}

/// Context the plans are compiled in.
pub(crate) struct PlanCtx<'a> {
    pub(crate) profile: &'a Profile,
    /// Header of the file the table's rows come from, and its role.
    pub(crate) header: &'a [String],
    pub(crate) role: &'a str,
    /// Joined files, numbered from 1.
    pub(crate) joined: Vec<(&'a str, &'a [String])>,
    pub(crate) cli_jurisdiction: Option<&'a str>,
    /// The zone local times are in (the jurisdiction's).
    pub(crate) local_tz: Option<Tz>,
    pub(crate) hash_key: &'a str,
    /// Whether typed values arrive in ISO text (Parquet).
    pub(crate) typed_source: bool,
    /// The file number of the rows of the record's group, where the main file is grouped (`[group]`).
    pub(crate) group: Option<usize>,
}

/// Compiled fields evaluated into output slots.
#[derive(Clone)]
pub(crate) struct FieldSet {
    pub(super) fields: Vec<FieldPlan>,
    pub(super) cleaner: Cleaner,
    pub(super) width: usize,
    /// Slots of finer race categories: the only slots a field may leave unwritten for a row it accepts.
    pub(super) detail_slots: Vec<usize>,
}

impl FieldSet {
    pub(super) fn new(fields: Vec<FieldPlan>, cleaner: Cleaner, width: usize) -> Self {
        let detail_slots = fields.iter().filter_map(|f| f.detail_slot).collect();
        Self { fields, cleaner, width, detail_slots }
    }
}

/// A file-level problem found while compiling: a missing column or a bad setting.
pub(crate) struct PlanError {
    pub(crate) column: Option<String>,
    pub(crate) message: String,
}

pub(super) fn perr(column: Option<&str>, message: String) -> PlanError {
    PlanError { column: column.map(str::to_owned), message }
}
