//! The mapping engine: a profile compiled against the actual file headers into a plan per output table,
//! evaluated row by row into typed values, validated, and collected into Arrow record batches.

use crate::hash::KeyedHasher;
use crate::parse::{BoolWords, DateFormat, DateTimeParts, parse_float, parse_int, parse_iso};
use crate::profile::{
    Aggregate as Agg, CROSS_RULES, CrossRule, FieldSpec, FieldSpecFull, MapRef, OnInvalid, Profile, RuleAction,
    Unmapped as UnmappedToml, UnmappedRule,
};
use crate::reader::{Row, Rows};
use crate::values::{Lookup, Unmapped, ValueMap, normalize};
use chrono::{Datelike, NaiveDate, NaiveTime, TimeZone, Timelike};
use chrono_tz::Tz;
use oversight_core::{CodeList, FieldDef, FieldType, JurisdictionId, RaceDetail, Table, code_list_values};
use oversight_store::appended_columns;
use oversight_store::arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Float64Builder, Int64Builder, StringBuilder, Time64MicrosecondBuilder,
};
use oversight_store::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use oversight_store::arrow::record_batch::RecordBatch;
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
    trim: bool,
    nulls: Vec<String>,
    /// Bit `k` is set when a null spelling is `k` bytes long (bit 63: 63 or more): most values need no
    /// comparison at all.
    null_lens: u64,
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
fn trim(s: &str) -> &str {
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
    fn get(&self, c: ColRef, joined_row: Option<u32>) -> Option<&'a str> {
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
    fn is_null(&self) -> bool {
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
    fn display(&self) -> Option<String> {
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

#[derive(Debug, Clone)]
struct CodeTarget {
    code: &'static str,
    detail: Option<&'static str>,
}

#[derive(Debug, Clone)]
struct JoinFilter {
    col: ColRef,
    values: HashSet<String>,
    keep_if_in: bool,
}

#[derive(Debug, Clone)]
enum NumOp {
    Sum,
    Product,
    Rss,
}

#[derive(Debug, Clone)]
enum Getter {
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
enum TemplatePart {
    Lit(String),
    Col(ColRef),
}

#[derive(Debug, Clone)]
enum Conv {
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
struct FieldPlan {
    def: &'static FieldDef,
    getter: Getter,
    conv: Conv,
    /// Column name shown in rejects.
    label: String,
    null_values: Vec<String>,
    missing: Option<String>,
    empty: Option<String>,
    priority: Vec<String>,
    invalid_is_null: bool,
    /// Left-pad values to this width with this character before reading them.
    pad: Option<(usize, char)>,
    /// Output slot of this field's raw companion, if the table has one.
    raw_slot: Option<usize>,
    /// Output slot of the finer race category this field fills, if any.
    detail_slot: Option<usize>,
    slot: usize,
    /// A constant's converted value, once computed.
    constant: Option<Val<'static>>,
    /// Reads one column of the row with no `missing` value and no ethnicity override (the fast path).
    simple: bool,
    /// An optional column the file lacks, with no `missing` value: its slots stay NULL.
    always_null: bool,
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
    fields: Vec<FieldPlan>,
    cleaner: Cleaner,
    width: usize,
    /// Slots of finer race categories: the only slots a field may leave unwritten for a row it accepts.
    detail_slots: Vec<usize>,
}

impl FieldSet {
    fn new(fields: Vec<FieldPlan>, cleaner: Cleaner, width: usize) -> Self {
        let detail_slots = fields.iter().filter_map(|f| f.detail_slot).collect();
        Self { fields, cleaner, width, detail_slots }
    }
}

/// A compiled plan for one output table (one per `expand` entry).
#[derive(Clone)]
pub(crate) struct TablePlan {
    pub(crate) table: Table,
    set: FieldSet,
    pub(crate) date_slot: Option<usize>,
    pub(crate) jurisdiction_slot: usize,
    /// Slots of the table's record key fields, where the profile fills every one of them.
    pub(crate) key_slots: Vec<usize>,
    today: NaiveDate,
    checks: Vec<Check>,
    /// The cross-field rules of the table, with what breaking them does.
    rules: Vec<ActiveRule>,
    /// The slot of `flags` (rules kept and flagged), where the table has one.
    flags_slot: Option<usize>,
    /// The last jurisdiction id found valid (it rarely changes from row to row).
    last_jurisdiction: String,
}

/// A cross-field rule compiled against a table's slots.
#[derive(Debug, Clone)]
struct ActiveRule {
    rule: &'static CrossRule,
    field: usize,
    other: usize,
    label: String,
    action: RuleAction,
    /// Rows kept under `null` or `keep` that broke it.
    hits: i64,
}

impl ActiveRule {
    /// The broken field's value and why, when the row breaks the rule.
    fn broken(&self, out: &[Val<'_>]) -> Option<(String, String)> {
        match (&out[self.field], &out[self.other]) {
            (Val::Bool(true), Val::Bool(false)) => {
                Some(("true".into(), "contraband found but no search was conducted".into()))
            }
            (Val::Date(late), Val::Date(early)) if late < early => {
                let reason = match self.rule.name {
                    "closed_after_received" => format!("closed before it was received ({early})"),
                    _ => format!("outcome dated before the detainer was received ({early})"),
                };
                Some((late.to_string(), reason))
            }
            _ => None,
        }
    }
}

/// A file-level problem found while compiling: a missing column or a bad setting.
pub(crate) struct PlanError {
    pub(crate) column: Option<String>,
    pub(crate) message: String,
}

fn perr(column: Option<&str>, message: String) -> PlanError {
    PlanError { column: column.map(str::to_owned), message }
}

impl TablePlan {
    pub(crate) fn compile(
        cx: &PlanCtx<'_>,
        table: Table,
        specs: &[&std::collections::BTreeMap<String, FieldSpec>],
    ) -> Result<Self, PlanError> {
        let cols = appended_columns(table);
        let slots: HashMap<&'static str, usize> = {
            let mut m = HashMap::new();
            let mut i = 0usize;
            for f in table.fields() {
                m.insert(f.name, i);
                i += 1;
                if f.has_raw() {
                    i += 1;
                }
            }
            m
        };
        let width = cols.len() - 2;
        // Later spec tables (an expand entry) override earlier ones (the base fields).
        let mut merged: std::collections::BTreeMap<&str, &FieldSpec> = std::collections::BTreeMap::new();
        for s in specs {
            for (k, v) in s.iter() {
                merged.insert(k.as_str(), v);
            }
        }
        let src = &cx.profile.toml.source;
        let cleaner = Cleaner::new(src.trim, &src.null_values);
        let mut fields = Vec::new();
        for def in table.fields() {
            let spec: Option<FieldSpecFull> = if def.name == "jurisdiction_id" {
                if let Some(j) = cx.cli_jurisdiction {
                    Some(FieldSpecFull { value: Some(toml::Value::String(j.to_owned())), ..Default::default() })
                } else if let Some(s) = merged.get(def.name) {
                    Some(s.full())
                } else if let Some(j) = &cx.profile.toml.jurisdiction.id {
                    Some(FieldSpecFull { value: Some(toml::Value::String(j.clone())), ..Default::default() })
                } else {
                    return Err(perr(
                        None,
                        format!("profile {} names no jurisdiction: pass --jurisdiction ID", cx.profile.name),
                    ));
                }
            } else {
                merged.get(def.name).map(|s| s.full())
            };
            let Some(spec) = spec else { continue };
            let slot = slots[def.name];
            let raw_slot = def.has_raw().then_some(slot + 1);
            let detail_name = match def.name {
                "subject_race" => Some("subject_race_detail"),
                "victim_race" => Some("victim_race_detail"),
                _ => None,
            };
            let detail_slot = detail_name.filter(|d| !merged.contains_key(d)).and_then(|d| slots.get(d).copied());
            let fp = compile_field(cx, def, &spec, slot, raw_slot, detail_slot)?;
            fields.push(fp);
        }
        let date_slot = table.date_column().map(|c| slots[c]);
        let jurisdiction_slot = slots["jurisdiction_id"];
        let key_slots: Vec<usize> =
            table.key_fields().iter().filter(|k| merged.contains_key(*k)).map(|k| slots[*k]).collect();
        let key_slots = if key_slots.len() == table.key_fields().len() { key_slots } else { Vec::new() };
        let today = chrono::Utc::now().date_naive();
        let label = |name: &str| {
            fields
                .iter()
                .find(|f: &&FieldPlan| f.def.name == name)
                .map(|f| f.label.clone())
                .unwrap_or_else(|| name.to_owned())
        };
        let checks = checks_for(table, &slots, label);
        let rules = CROSS_RULES
            .iter()
            .filter(|r| r.table == table)
            .filter_map(|r| {
                Some(ActiveRule {
                    rule: r,
                    field: *slots.get(r.field)?,
                    other: *slots.get(r.other)?,
                    label: label(r.field),
                    action: cx.profile.rule_action(r.name),
                    hits: 0,
                })
            })
            .collect();
        Ok(Self {
            table,
            set: FieldSet::new(fields, cleaner, width),
            date_slot,
            jurisdiction_slot,
            key_slots,
            today,
            checks,
            rules,
            flags_slot: slots.get("flags").copied(),
            last_jurisdiction: String::new(),
        })
    }

    pub(crate) fn width(&self) -> usize {
        self.set.width
    }

    /// Maps one row into `out` (resized to the table's width); problems go to `problems`.
    pub(crate) fn eval<'r>(&mut self, cx: &RowCtx<'r, '_>, out: &mut Vec<Val<'r>>, problems: &mut Vec<Problem>) {
        self.set.eval(cx, out, problems);
        if let Some(fs) = self.flags_slot {
            put(&mut out[fs], Val::Null);
        }
        self.check_row(out, problems);
    }

    /// A 64-bit hash of a mapped row's jurisdiction and record key (None where a key field is empty or the
    /// table has none). Equal keys hash alike, so rows whose hashes are all distinct hold no repeated key.
    pub(crate) fn key_hash(&self, out: &[Val<'_>]) -> Option<u64> {
        use std::hash::Hasher;
        if self.key_slots.is_empty() {
            return None;
        }
        let mut h = rustc_hash::FxHasher::default();
        h.write(out[self.jurisdiction_slot].as_str()?.as_bytes());
        for &k in &self.key_slots {
            h.write_u8(0xff);
            h.write(out[k].as_str()?.as_bytes());
        }
        Some(h.finish())
    }

    /// Rows each cross-field rule kept (cleared or flagged) so far, by rule name.
    pub(crate) fn rule_hits(&self) -> impl Iterator<Item = (&'static str, i64)> + '_ {
        self.rules.iter().filter(|r| r.hits > 0).map(|r| (r.rule.name, r.hits))
    }
    /// Row-level rules: required values, plausible dates and ages, and cross-field consistency.
    fn check_row(&mut self, out: &mut [Val<'_>], problems: &mut Vec<Problem>) {
        if !problems.is_empty() {
            return;
        }
        let today = self.today;
        for c in &self.checks {
            let v = &out[c.slot];
            let bad: Option<(Option<String>, String)> = match (&c.rule, v) {
                (Rule::Required, Val::Null) => Some((None, "required value is missing".into())),
                (Rule::Required, _) => None,
                (Rule::Date, Val::Date(d)) if d.year() < 1900 => {
                    Some((Some(d.to_string()), "date is before 1900".into()))
                }
                (Rule::Date, Val::Date(d)) if *d > today + chrono::Duration::days(1) => {
                    Some((Some(d.to_string()), "date is in the future".into()))
                }
                (Rule::IntRange(lo, hi, what), Val::Int(a)) if !(*lo..=*hi).contains(a) => {
                    Some((Some(a.to_string()), format!("{what} is outside {lo}-{hi}")))
                }
                (Rule::FloatRange(lo, hi), Val::Float(x)) if !(*lo..=*hi).contains(x) => {
                    Some((Some(x.to_string()), "value is out of range".into()))
                }
                (Rule::Jurisdiction, v) if v.as_str().is_some_and(|j| j != self.last_jurisdiction) => {
                    let j = v.as_str().unwrap_or_default();
                    match JurisdictionId::new(j) {
                        Ok(_) => {
                            self.last_jurisdiction = j.to_string();
                            None
                        }
                        Err(e) => Some((Some(j.to_string()), e.to_string())),
                    }
                }
                _ => None,
            };
            if let Some((value, reason)) = bad {
                problems.push(Problem { column: c.label.clone(), value, reason });
            }
        }
        for r in &mut self.rules {
            let Some((value, reason)) = r.broken(out) else { continue };
            match r.action {
                RuleAction::Reject => problems.push(Problem {
                    column: r.label.clone(),
                    value: Some(value),
                    reason: format!(
                        "{reason} (rule {}: set [rules] {} = \"null\" or \"keep\" if the source records it so)",
                        r.rule.name, r.rule.name
                    ),
                }),
                RuleAction::Null => {
                    out[r.field] = Val::Null;
                    r.hits += 1;
                }
                RuleAction::Keep => {
                    if let Some(fs) = self.flags_slot {
                        out[fs] = Val::Shared(Arc::from(r.rule.name));
                    }
                    r.hits += 1;
                }
            }
        }
    }
}

/// A row-level rule on one field.
#[derive(Debug, Clone)]
enum Rule {
    Required,
    Date,
    IntRange(i64, i64, &'static str),
    FloatRange(f64, f64),
    Jurisdiction,
}

#[derive(Debug, Clone)]
struct Check {
    slot: usize,
    label: String,
    rule: Rule,
}

fn checks_for(table: Table, slots: &HashMap<&'static str, usize>, label: impl Fn(&str) -> String) -> Vec<Check> {
    let mut v = Vec::new();
    for def in table.fields() {
        let slot = slots[def.name];
        let mut add = |rule| v.push(Check { slot, label: label(def.name), rule });
        if def.required {
            add(Rule::Required);
        }
        match (def.ty, def.name) {
            (FieldType::Date, _) => add(Rule::Date),
            (FieldType::Int, "subject_age" | "age" | "complainant_age") => add(Rule::IntRange(0, 120, "age")),
            (FieldType::Int, "year") => add(Rule::IntRange(1900, 2100, "year")),
            (FieldType::Int, "birth_year") => add(Rule::IntRange(1880, 2100, "birth year")),
            (FieldType::Float, "lat") => add(Rule::FloatRange(-90.0, 90.0)),
            (FieldType::Float, "lng") => add(Rule::FloatRange(-180.0, 180.0)),
            (FieldType::Float, "population" | "moe") => add(Rule::FloatRange(0.0, f64::MAX)),
            (_, "jurisdiction_id") => add(Rule::Jurisdiction),
            _ => {}
        }
    }
    v
}

impl FieldSet {
    fn eval<'r>(&mut self, cx: &RowCtx<'r, '_>, out: &mut Vec<Val<'r>>, problems: &mut Vec<Problem>) {
        // Every field writes its own slot and its raw companion's for every row it accepts (a field that is
        // always NULL writes nothing and its slots stay NULL), so a row buffer reused from the previous row
        // needs only its finer-category slots cleared; a rejected row's values are never read.
        if out.len() == self.width {
            for &d in &self.detail_slots {
                put(&mut out[d], Val::Null);
            }
        } else {
            out.clear();
            out.resize(self.width, Val::Null);
        }
        let cleaner = &self.cleaner;
        for f in &mut self.fields {
            // Most fields read one column as it is: that path is inlined here, the general one is a call.
            if f.simple
                && let Getter::Col(c) = f.getter
            {
                eval_simple(f, cleaner, cx.row.get(c.idx), out, problems);
            } else if !f.always_null {
                eval_field(f, cleaner, cx, out, problems);
            }
        }
    }
}

/// Evaluates one field of one row into its slots of `out` (its own, its raw companion's, its finer race
/// category's); a problem goes to `problems` and leaves the slots as they were.
#[inline(never)]
fn eval_field<'r>(
    f: &mut FieldPlan,
    cleaner: &Cleaner,
    cx: &RowCtx<'r, '_>,
    out: &mut [Val<'r>],
    problems: &mut Vec<Problem>,
) {
    if f.simple
        && let Getter::Col(c) = f.getter
    {
        eval_simple(f, cleaner, cx.row.get(c.idx), out, problems);
        return;
    }
    let fail = |problems: &mut Vec<Problem>, value: Option<&str>, reason: String, f: &FieldPlan| {
        problems.push(Problem { column: f.label.clone(), value: value.map(str::to_owned), reason });
    };
    let (val, raw): (Val<'r>, Option<Cow<'r, str>>) = match &f.getter {
        Getter::Absent => (Val::Null, None),
        Getter::Col(c) => match cx.get(*c, None).and_then(|s| cleaner.clean(s, &f.null_values)) {
            None => (Val::Null, None),
            Some(s) if f.pad.is_some() => {
                let padded = pad(s, f.pad);
                match convert(&mut f.conv, &padded) {
                    Ok(v) => (into_owned(v), Some(Cow::Borrowed(s))),
                    Err(_) if f.invalid_is_null => (Val::Null, Some(Cow::Borrowed(s))),
                    Err(reason) => {
                        let reason = if padded == s { reason } else { format!("{reason} (padded to {padded:?})") };
                        fail(problems, Some(s), reason, f);
                        return;
                    }
                }
            }
            Some(s) => match convert(&mut f.conv, s) {
                Ok(v) => (v, Some(Cow::Borrowed(s))),
                Err(reason) => {
                    if f.invalid_is_null {
                        (Val::Null, Some(Cow::Borrowed(s)))
                    } else {
                        fail(problems, Some(s), reason, f);
                        return;
                    }
                }
            },
        },
        Getter::Const(s) => {
            if f.constant.is_none() {
                let s = s.clone();
                let v = match convert(&mut f.conv, &s) {
                    Ok(v) => into_owned(v),
                    Err(reason) => {
                        fail(problems, Some(&s), reason, f);
                        return;
                    }
                };
                let v = match v {
                    Val::Str(t) => Val::Shared(Arc::from(t.as_ref())),
                    v => v,
                };
                f.constant = Some(v);
            }
            // A constant has no source value to keep as raw.
            (f.constant.clone().unwrap_or(Val::Null), None)
        }
        Getter::Template(parts) => {
            let mut s = String::new();
            for p in parts {
                match p {
                    TemplatePart::Lit(l) => s.push_str(l),
                    TemplatePart::Col(c) => {
                        if let Some(v) = cx.get(*c, None).and_then(|v| cleaner.clean(v, &[])) {
                            s.push_str(v)
                        }
                    }
                }
            }
            let s = s.trim().to_owned();
            if s.is_empty() {
                (Val::Null, None)
            } else {
                match convert(&mut f.conv, &s) {
                    Ok(v) => (into_owned(v), Some(Cow::Owned(s))),
                    Err(reason) => {
                        fail(problems, Some(&s), reason, f);
                        return;
                    }
                }
            }
        }
        Getter::Coalesce(cols) => {
            let found = cols.iter().find_map(|c| cx.get(*c, None).and_then(|s| cleaner.clean(s, &f.null_values)));
            match found {
                None => (Val::Null, None),
                Some(s) => match convert(&mut f.conv, s) {
                    Ok(v) => (v, Some(Cow::Borrowed(s))),
                    Err(reason) => {
                        fail(problems, Some(s), reason, f);
                        return;
                    }
                },
            }
        }
        Getter::Any(cols) => {
            let words = match &f.conv {
                Conv::Bool(w) => w.clone(),
                _ => BoolWords::default(),
            };
            let mut any_true = false;
            let mut all_known = true;
            let mut raws = Vec::new();
            for c in cols {
                match cx.get(*c, None).and_then(|s| cleaner.clean(s, &f.null_values)) {
                    None => all_known = false,
                    Some(s) => {
                        raws.push(s);
                        match words.parse(s) {
                            Ok(true) => any_true = true,
                            Ok(false) => {}
                            Err(reason) => {
                                fail(problems, Some(s), reason, f);
                                return;
                            }
                        }
                    }
                }
            }
            let v = if any_true {
                Val::Bool(true)
            } else if all_known {
                Val::Bool(false)
            } else {
                Val::Null
            };
            (v, None)
        }
        Getter::Num(op, cols) => {
            let mut acc: Option<f64> = None;
            let mut missing = false;
            for c in cols {
                match cx.get(*c, None).and_then(|s| cleaner.clean(s, &f.null_values)) {
                    None => missing = true,
                    Some(s) => match parse_float(s) {
                        Ok(x) => {
                            acc = Some(match (op, acc) {
                                (NumOp::Sum, a) => a.unwrap_or(0.0) + x,
                                (NumOp::Product, a) => a.unwrap_or(1.0) * x,
                                (NumOp::Rss, a) => a.unwrap_or(0.0) + x * x,
                            })
                        }
                        Err(reason) => {
                            fail(problems, Some(s), reason, f);
                            return;
                        }
                    },
                }
            }
            // A sum or product with a part missing is unknown; a margin of error may be blank for a
            // controlled total (the census leaves it empty) and then counts as zero.
            let v = match (op, acc, missing) {
                (NumOp::Rss, Some(a), _) => Some(a.sqrt()),
                (_, Some(a), false) => Some(a),
                _ => None,
            };
            match v {
                None => (Val::Null, None),
                Some(x) => match number_out(&f.conv, x) {
                    Ok(v) => (v, None),
                    Err(reason) => {
                        fail(problems, Some(&x.to_string()), reason, f);
                        return;
                    }
                },
            }
        }
        Getter::Joined { col, agg, filter } => {
            let file_rows = cx.joined[col.file - 1];
            let fdata = cx.files[col.file - 1];
            let rows: Vec<u32> = file_rows
                .iter()
                .copied()
                .filter(|&r| match filter {
                    None => true,
                    Some(flt) => {
                        let v = fdata.rows.row(r as usize).get(flt.col.idx).map(normalize).unwrap_or_default();
                        flt.values.contains(&v) == flt.keep_if_in
                    }
                })
                .collect();
            match agg {
                Agg::Count => (Val::Int(rows.len() as i64), None),
                Agg::DistinctCount => {
                    let set: HashSet<&str> = rows
                        .iter()
                        .filter_map(|&r| {
                            fdata.rows.row(r as usize).get(col.idx).and_then(|s| cleaner.clean(s, &f.null_values))
                        })
                        .collect();
                    (Val::Int(set.len() as i64), None)
                }
                _ => {
                    let mut vals: Vec<(Val<'r>, &'r str)> = Vec::new();
                    for &r in &rows {
                        let frow: Row<'r> = fdata.rows.row(r as usize);
                        let Some(s) = frow.get(col.idx).and_then(|s| cleaner.clean(s, &f.null_values)) else {
                            // A joined row without a value takes the field's `missing` value.
                            if let Some(m) = f.missing.clone() {
                                match convert(&mut f.conv, &m) {
                                    Ok(v) => vals.push((into_owned(v), "")),
                                    Err(reason) => {
                                        fail(problems, Some(&m), reason, f);
                                        return;
                                    }
                                }
                            }
                            continue;
                        };
                        match convert(&mut f.conv, s) {
                            Ok(v) => vals.push((v, s)),
                            Err(reason) => {
                                if !f.invalid_is_null {
                                    let line = fdata.rows.line(r as usize);
                                    fail(problems, Some(s), format!("{reason} ({} line {line})", fdata.display), f);
                                    return;
                                }
                            }
                        }
                    }
                    let picked: Option<(Val<'r>, &'r str)> = match agg {
                        Agg::First => vals.into_iter().find(|v| !v.0.is_null()),
                        Agg::Any => {
                            let any = vals.iter().any(|v| v.0 == Val::Bool(true));
                            if rows.is_empty() { None } else { Some((Val::Bool(any), "")) }
                        }
                        Agg::Priority => {
                            let rank = |v: &Val<'_>| {
                                v.as_str().and_then(|s| f.priority.iter().position(|p| p == s)).unwrap_or(usize::MAX)
                            };
                            vals.into_iter().filter(|v| rank(&v.0) != usize::MAX).min_by_key(|v| rank(&v.0))
                        }
                        Agg::Max | Agg::Min => {
                            let num = |v: &Val<'_>| match v {
                                Val::Int(i) => *i as f64,
                                Val::Float(x) => *x,
                                Val::Date(d) => f64::from(d.num_days_from_ce()),
                                _ => f64::NAN,
                            };
                            let it = vals.into_iter().filter(|v| !num(&v.0).is_nan());
                            if *agg == Agg::Max {
                                it.max_by(|a, b| num(&a.0).total_cmp(&num(&b.0)))
                            } else {
                                it.min_by(|a, b| num(&a.0).total_cmp(&num(&b.0)))
                            }
                        }
                        Agg::Count | Agg::DistinctCount => None,
                    };
                    match picked {
                        Some((v, s)) => (v, (!s.is_empty()).then_some(Cow::Borrowed(s))),
                        None => match f.empty.clone() {
                            Some(e) => match convert(&mut f.conv, &e) {
                                Ok(v) => (into_owned(v), None),
                                Err(reason) => {
                                    fail(problems, Some(&e), reason, f);
                                    return;
                                }
                            },
                            None => (Val::Null, None),
                        },
                    }
                }
            }
        }
    };
    // A field with no value may take the profile's `missing` value (joined fields apply it per row).
    let joined = matches!(f.getter, Getter::Joined { .. });
    let (val, raw) = if val.is_null() && raw.is_none() && !joined {
        match f.missing.clone() {
            Some(m) => match convert(&mut f.conv, &m) {
                Ok(v) => (into_owned(v), None),
                Err(reason) => {
                    fail(problems, Some(&m), reason, f);
                    return;
                }
            },
            None => (val, raw),
        }
    } else {
        (val, raw)
    };
    let (val, raw) = match (&f.conv, val) {
        (Conv::Code { hispanic: Some((col, values)), .. }, v) => {
            let eth = cx.get(*col, None).and_then(|s| cleaner.clean(s, &[])).map(normalize);
            match eth {
                Some(e) if values.contains(&e) => {
                    let raw = Some(Cow::Owned(format!("{} (ethnicity {e})", raw.as_deref().unwrap_or(""))));
                    (Val::Code("hispanic"), raw)
                }
                _ => (v, raw),
            }
        }
        (_, v) => (v, raw),
    };
    // Finer race categories roll up; the finer one fills the detail column.
    let val = match val {
        Val::Code(c) if f.detail_slot.is_some() || matches!(f.def.ty, FieldType::Code("race")) => {
            match RaceDetail::ALL.iter().find(|d| d.as_str() == c) {
                Some(d) => {
                    if let Some(ds) = f.detail_slot {
                        out[ds] = Val::Code(d.as_str());
                    }
                    Val::Code(d.rollup().as_str())
                }
                None => Val::Code(c),
            }
        }
        v => v,
    };
    if let Some(rs) = f.raw_slot {
        out[rs] = match raw {
            Some(r) => Val::Str(r),
            None => Val::Null,
        };
    }
    out[f.slot] = val;
}

/// `s` left-padded to the width with the character (as it is when it is as wide already).
fn pad(s: &str, pad: Option<(usize, char)>) -> String {
    let Some((width, with)) = pad else { return s.to_owned() };
    let n = s.chars().count();
    let mut out = String::with_capacity(width.max(n));
    out.extend(std::iter::repeat_n(with, width.saturating_sub(n)));
    out.push_str(s);
    out
}

/// The common case: one column of the row, no `missing`, no ethnicity override.
#[inline(always)]
fn eval_simple<'r>(
    f: &mut FieldPlan,
    cleaner: &Cleaner,
    cell: Option<&'r str>,
    out: &mut [Val<'r>],
    problems: &mut Vec<Problem>,
) {
    let cleaned = match cell {
        Some(s) => cleaner.clean(s, &f.null_values),
        None => None,
    };
    let Some(s) = cleaned else {
        put(&mut out[f.slot], Val::Null);
        if let Some(rs) = f.raw_slot {
            put(&mut out[rs], Val::Null);
        }
        return;
    };
    // Conversions write the slot directly: building a `Result<Val>` first and moving it into the row costs
    // a store-forwarding stall per value (perf: a third of this loop's time). Codes, text kept as it is and
    // booleans convert without a call.
    let slot = &mut out[f.slot];
    let converted = match &mut f.conv {
        Conv::Code { map, .. } => match map.lookup(s) {
            Lookup::Found(t) => {
                put(slot, Val::Code(t.code));
                if let (Some(ds), Some(d)) = (f.detail_slot, t.detail) {
                    put(&mut out[ds], Val::Code(d));
                }
                Ok(())
            }
            Lookup::Null => {
                put(slot, Val::Null);
                Ok(())
            }
            Lookup::Keep | Lookup::Missing => Err(format!("{s:?} is not a known code")),
        },
        Conv::Text {
            map: None,
            strip_suffix: None,
            lowercase: false,
            slug: false,
            hash: None,
            jurisdiction: false,
        } => {
            put(slot, Val::Str(Cow::Borrowed(s)));
            Ok(())
        }
        Conv::Bool(words) => words.parse_cached(s).map(|b| put(slot, Val::Bool(b))),
        conv => convert_into(conv, s, slot),
    };
    match converted {
        Ok(()) => {}
        Err(_) if f.invalid_is_null => put(&mut out[f.slot], Val::Null),
        Err(reason) => {
            problems.push(Problem { column: f.label.clone(), value: Some(s.to_owned()), reason });
            return;
        }
    }
    if let Some(rs) = f.raw_slot {
        put(&mut out[rs], Val::Str(Cow::Borrowed(s)));
    }
}

/// Stores `v` in a row slot. A slot usually holds the same kind of value as in the previous row: then only
/// the payload is overwritten, in place (assigning the whole value drops the old one first, so the new one
/// is built on the stack and copied, and that copy stalls on store forwarding: most of the field loop's
/// time in perf).
#[inline(always)]
fn put<'r>(slot: &mut Val<'r>, v: Val<'r>) {
    match (slot, v) {
        (Val::Str(Cow::Borrowed(a)), Val::Str(Cow::Borrowed(b))) => *a = b,
        (Val::Code(a), Val::Code(b)) => *a = b,
        (Val::Bool(a), Val::Bool(b)) => *a = b,
        (Val::Int(a), Val::Int(b)) => *a = b,
        (Val::Float(a), Val::Float(b)) => *a = b,
        (Val::Date(a), Val::Date(b)) => *a = b,
        (Val::Time(a), Val::Time(b)) => *a = b,
        (Val::Null, Val::Null) => {}
        (slot, v) => *slot = v,
    }
}

fn into_owned(v: Val<'_>) -> Val<'static> {
    match v {
        Val::Str(s) => Val::Str(Cow::Owned(s.into_owned())),
        Val::Shared(s) => Val::Shared(s),
        Val::Null => Val::Null,
        Val::Code(c) => Val::Code(c),
        Val::Bool(b) => Val::Bool(b),
        Val::Int(i) => Val::Int(i),
        Val::Float(f) => Val::Float(f),
        Val::Date(d) => Val::Date(d),
        Val::Time(t) => Val::Time(t),
    }
}

fn number_out(conv: &Conv, x: f64) -> Result<Val<'static>, String> {
    match conv {
        Conv::Int { scale, min, max } => {
            let x = x * scale.unwrap_or(1.0);
            check_range(x, *min, *max)?;
            Ok(Val::Int(x.round() as i64))
        }
        Conv::Float { scale, min, max } => {
            let x = x * scale.unwrap_or(1.0);
            check_range(x, *min, *max)?;
            Ok(Val::Float(x))
        }
        _ => Err("not a numeric field".into()),
    }
}

fn check_range(x: f64, min: Option<f64>, max: Option<f64>) -> Result<(), String> {
    if min.is_some_and(|m| x < m) || max.is_some_and(|m| x > m) {
        return Err(format!(
            "{x} is outside {}..{}",
            min.map(|m| m.to_string()).unwrap_or_default(),
            max.map(|m| m.to_string()).unwrap_or_default()
        ));
    }
    Ok(())
}

/// Converts cleaned source text into the field's type.
fn convert<'r>(conv: &mut Conv, s: &'r str) -> Result<Val<'r>, String> {
    let mut v = Val::Null;
    convert_into(conv, s, &mut v)?;
    Ok(v)
}

/// Converts cleaned source text into the field's type, straight into a row slot (see [`put`]); on an error
/// the slot is left as it was.
fn convert_into<'r>(conv: &mut Conv, s: &'r str, slot: &mut Val<'r>) -> Result<(), String> {
    match conv {
        Conv::Text { map, strip_suffix, lowercase, slug, hash, jurisdiction } => {
            let s = match strip_suffix {
                Some(x) => s.strip_suffix(x.as_str()).unwrap_or(s),
                None => s,
            };
            let mut v: Cow<'r, str> = Cow::Borrowed(s);
            if let Some(m) = map {
                match m.lookup(s) {
                    Lookup::Found(t) if !*lowercase && !*slug && hash.is_none() => {
                        put(slot, Val::Shared(t));
                        return Ok(());
                    }
                    Lookup::Found(t) => v = Cow::Owned(t.to_string()),
                    Lookup::Null => {
                        put(slot, Val::Null);
                        return Ok(());
                    }
                    Lookup::Keep => {}
                    Lookup::Missing => return Err(format!("{s:?} is not in the profile's map")),
                }
            }
            if *lowercase {
                v = Cow::Owned(v.to_lowercase());
            }
            if *slug {
                v = Cow::Owned(JurisdictionId::slug(&v).map_err(|e| e.to_string())?.as_str().to_owned());
            }
            let checked = |t: &str| {
                if *jurisdiction && !*slug {
                    JurisdictionId::new(t).map_err(|e| e.to_string())?;
                }
                Ok::<(), String>(())
            };
            if let Some(h) = hash {
                // Hashed identifiers repeat: the hasher shares each one's text.
                let t = h.hash(&v);
                checked(&t)?;
                put(slot, Val::Shared(t));
                return Ok(());
            }
            checked(&v)?;
            put(slot, Val::Str(v));
        }
        Conv::Code { map, .. } => match map.lookup(s) {
            Lookup::Found(t) => put(slot, Val::Code(t.detail.unwrap_or(t.code))),
            Lookup::Null => put(slot, Val::Null),
            Lookup::Keep | Lookup::Missing => return Err(format!("{s:?} is not a known code")),
        },
        Conv::Bool(words) => put(slot, Val::Bool(words.parse_cached(s)?)),
        Conv::Int { scale, min, max } => {
            let x = match scale {
                None => parse_int(s)?,
                Some(k) => (parse_float(s)? * *k).round() as i64,
            };
            check_range(x as f64, *min, *max)?;
            put(slot, Val::Int(x));
        }
        Conv::Float { scale, min, max } => {
            let x = parse_float(s)? * scale.unwrap_or(1.0);
            check_range(x, *min, *max)?;
            put(slot, Val::Float(x));
        }
        Conv::Date { formats, convert } => {
            let p = parse_with(formats, s)?;
            let (date, _) = localize(p, *convert)?;
            put(slot, Val::Date(date.ok_or_else(|| "no date in the value".to_owned())?));
        }
        Conv::Time { formats, convert } => {
            let p = parse_with(formats, s)?;
            let (_, time) = localize(p, *convert)?;
            put(slot, Val::Time(time.ok_or_else(|| "no time of day in the value".to_owned())?));
        }
    }
    Ok(())
}

fn parse_with(formats: &[DateFormat], s: &str) -> Result<DateTimeParts, String> {
    if formats.is_empty() {
        return parse_iso(s);
    }
    let mut first_err = None;
    for f in formats {
        match f.parse(s) {
            Ok(p) => return Ok(p),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    Err(if formats.len() == 1 {
        first_err.unwrap_or_default()
    } else {
        format!(
            "matches none of the date formats {}",
            formats.iter().map(|f| format!("{:?}", f.source)).collect::<Vec<_>>().join(", ")
        )
    })
}

/// Converts a parsed instant to local date and time. `convert` is (zone the source is in, unless the value
/// carried an offset; local zone).
fn localize(
    p: DateTimeParts,
    convert: Option<(Option<Tz>, Tz)>,
) -> Result<(Option<NaiveDate>, Option<NaiveTime>), String> {
    let Some((from, to)) = convert else {
        if p.offset.is_some() {
            return Err("the value carries a UTC offset but the jurisdiction has no time zone to convert it to".into());
        }
        return Ok((p.date, p.time));
    };
    let (Some(d), Some(t)) = (p.date, p.time) else {
        return Ok((p.date, p.time));
    };
    let naive = d.and_time(t);
    let utc = match (p.offset, from) {
        (Some(off), _) => naive - chrono::Duration::seconds(i64::from(off)),
        (None, Some(tz)) => match tz.from_local_datetime(&naive).earliest() {
            Some(x) => x.naive_utc(),
            None => return Err(format!("{naive} does not exist in {tz} (a daylight-saving gap)")),
        },
        (None, None) => return Ok((p.date, p.time)),
    };
    let local = to.from_utc_datetime(&utc).naive_local();
    Ok((Some(local.date()), Some(local.time())))
}

fn resolve(cx: &PlanCtx<'_>, name: &str, optional: bool) -> Result<Option<ColRef>, PlanError> {
    if let Some(idx) = cx.header.iter().position(|h| h == name) {
        return Ok(Some(ColRef { file: 0, idx }));
    }
    if let Some((role, col)) = name.split_once('.')
        && let Some(fi) = cx.joined.iter().position(|(r, _)| *r == role)
    {
        if let Some(idx) = cx.joined[fi].1.iter().position(|h| h == col) {
            return Ok(Some(ColRef { file: fi + 1, idx }));
        }
        if optional {
            return Ok(None);
        }
        return Err(perr(Some(col), format!("required column {col:?} is missing from the {role} file")));
    }
    if optional {
        return Ok(None);
    }
    Err(perr(
        Some(name),
        format!("required column {name:?} is missing (the {} file has: {})", cx.role, preview(cx.header)),
    ))
}

fn preview(header: &[String]) -> String {
    let mut s = header.iter().take(12).map(|h| h.as_str()).collect::<Vec<_>>().join(", ");
    if header.len() > 12 {
        s.push_str(&format!(", … ({} columns)", header.len()));
    }
    s
}

fn resolve_all(cx: &PlanCtx<'_>, names: &[String], optional: bool) -> Result<Vec<ColRef>, PlanError> {
    let mut v = Vec::new();
    for n in names {
        if let Some(c) = resolve(cx, n, optional)? {
            if c.file != 0 {
                return Err(perr(Some(n), format!("{n:?}: combinations read columns of the row's own file only")));
            }
            v.push(c);
        }
    }
    Ok(v)
}

fn compile_field(
    cx: &PlanCtx<'_>,
    def: &'static FieldDef,
    s: &FieldSpecFull,
    slot: usize,
    raw_slot: Option<usize>,
    detail_slot: Option<usize>,
) -> Result<FieldPlan, PlanError> {
    let mut label = def.name.to_owned();
    let getter = if let Some(c) = &s.column {
        label = c
            .rsplit_once('.')
            .filter(|(r, _)| cx.joined.iter().any(|j| j.0 == *r))
            .map(|x| x.1)
            .unwrap_or(c)
            .to_owned();
        // In a grouped file, a field with an aggregation reads every row of the group.
        let grouped = |c: ColRef| match cx.group {
            Some(g) if c.file == 0 && (s.aggregate.is_some() || s.when.is_some()) => ColRef { file: g, idx: c.idx },
            _ => c,
        };
        match resolve(cx, c, s.optional)?.map(grouped) {
            None => Getter::Absent,
            Some(col) if col.file == 0 => Getter::Col(col),
            Some(col) => {
                let agg = s.aggregate.unwrap_or_default();
                let filter = match &s.when {
                    None => None,
                    Some(w) => {
                        let fc = resolve(cx, &w.column, false)?
                            .map(grouped)
                            .filter(|fc| fc.file == col.file)
                            .ok_or_else(|| {
                                perr(Some(&w.column), format!("filter column {:?} must be in the same file", w.column))
                            })?;
                        let (values, keep_if_in) = match (&w.is_in, &w.not_in) {
                            (Some(v), None) => (v, true),
                            (None, Some(v)) => (v, false),
                            _ => {
                                return Err(perr(
                                    None,
                                    format!("{}: `when` needs exactly one of in, not_in", def.name),
                                ));
                            }
                        };
                        Some(JoinFilter { col: fc, values: values.iter().map(|v| normalize(v)).collect(), keep_if_in })
                    }
                };
                Getter::Joined { col, agg, filter }
            }
        }
    } else if let Some(v) = &s.value {
        Getter::Const(match v {
            toml::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    } else if let Some(t) = &s.template {
        Getter::Template(compile_template(cx, t)?)
    } else if let Some(cols) = &s.any {
        Getter::Any(resolve_all(cx, cols, s.optional)?)
    } else if let Some(cols) = &s.coalesce {
        // Of the columns named, those the file has: one is read as a plain column (the fast path), none
        // is always NULL.
        match resolve_all(cx, cols, s.optional)?.as_slice() {
            [] => Getter::Absent,
            [c] => Getter::Col(*c),
            cols => Getter::Coalesce(cols.to_vec()),
        }
    } else if let Some(cols) = &s.sum {
        Getter::Num(NumOp::Sum, resolve_all(cx, cols, s.optional)?)
    } else if let Some(cols) = &s.product {
        Getter::Num(NumOp::Product, resolve_all(cx, cols, s.optional)?)
    } else if let Some(cols) = &s.rss {
        Getter::Num(NumOp::Rss, resolve_all(cx, cols, s.optional)?)
    } else {
        return Err(perr(None, format!("{}: no source given", def.name)));
    };
    let conv = compile_conv(cx, def, s)?;
    Ok(FieldPlan {
        def,
        getter,
        conv,
        label,
        null_values: s.null_values.clone().unwrap_or_default(),
        missing: s.missing.clone(),
        empty: s.empty.clone(),
        priority: s.priority.clone().unwrap_or_default(),
        invalid_is_null: s.on_invalid == OnInvalid::Null,
        pad: s.pad.as_ref().map(|p| (p.width, p.with.chars().next().unwrap_or('0'))),
        raw_slot,
        detail_slot,
        slot,
        constant: None,
        simple: false,
        always_null: false,
    })
    .map(|mut f: FieldPlan| {
        let plain = f.missing.is_none() && f.pad.is_none() && !matches!(f.conv, Conv::Code { hispanic: Some(_), .. });
        f.simple = plain && matches!(f.getter, Getter::Col(_));
        f.always_null = plain && matches!(f.getter, Getter::Absent);
        f
    })
}

fn compile_template(cx: &PlanCtx<'_>, t: &str) -> Result<Vec<TemplatePart>, PlanError> {
    let mut parts = Vec::new();
    let mut rest = t;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            parts.push(TemplatePart::Lit(rest[..open].to_owned()));
        }
        let close =
            rest[open..].find('}').ok_or_else(|| perr(None, format!("template {t:?} has an unclosed {{")))? + open;
        let name = &rest[open + 1..close];
        let c = resolve(cx, name, false)?
            .ok_or_else(|| perr(Some(name), format!("template column {name:?} is missing")))?;
        parts.push(TemplatePart::Col(c));
        rest = &rest[close + 1..];
    }
    if !rest.is_empty() {
        parts.push(TemplatePart::Lit(rest.to_owned()));
    }
    Ok(parts)
}

fn map_entries(cx: &PlanCtx<'_>, m: &MapRef) -> Vec<(String, String)> {
    let map = match m {
        MapRef::Named(n) => cx.profile.toml.maps.get(n).cloned().unwrap_or_default(),
        MapRef::Inline(m) => m.clone(),
    };
    map.into_iter().collect()
}

fn code_target(list: &'static str, v: &str) -> Option<CodeTarget> {
    let find = |l: &str| code_list_values(l).and_then(|vs| vs.into_iter().find(|c| *c == v));
    if let Some(code) = find(list) {
        return Some(CodeTarget { code, detail: None });
    }
    if list == "race"
        && let Some(d) = find("race_detail")
    {
        let code = d.parse::<RaceDetail>().ok()?.rollup().as_str();
        return Some(CodeTarget { code, detail: Some(d) });
    }
    None
}

fn compile_conv(cx: &PlanCtx<'_>, def: &'static FieldDef, s: &FieldSpecFull) -> Result<Conv, PlanError> {
    let formats = |s: &FieldSpecFull| -> Result<Vec<DateFormat>, PlanError> {
        if cx.typed_source {
            return Ok(Vec::new());
        }
        s.format
            .as_ref()
            .map(|f| f.to_vec())
            .unwrap_or_default()
            .iter()
            .map(|f| DateFormat::compile(f).map_err(|e| perr(None, e)))
            .collect()
    };
    let convert = |s: &FieldSpecFull| -> Result<Option<(Option<Tz>, Tz)>, PlanError> {
        let from =
            s.timezone.as_ref().map(|z| z.parse::<Tz>()).transpose().map_err(|_| perr(None, "bad timezone".into()))?;
        let needs = from.is_some()
            || s.format.as_ref().is_some_and(|f| f.to_vec().iter().any(|f| f.contains("%z") || f.contains("%Z")));
        match (needs, cx.local_tz) {
            (false, _) => Ok(None),
            (true, Some(local)) => Ok(Some((from, local))),
            (true, None) => Err(perr(
                None,
                format!(
                    "{} converts times to local time, but the jurisdiction has no time zone: set one in the \
                     profile's [jurisdiction] timezone or with `oversight jurisdictions set ID --timezone ZONE`",
                    def.name
                ),
            )),
        }
    };
    Ok(match def.ty {
        FieldType::Text => {
            let map = s.map.as_ref().map(|m| {
                let entries = map_entries(cx, m)
                    .into_iter()
                    .map(|(k, v)| (k, if v.is_empty() { None } else { Some(Arc::<str>::from(v)) }))
                    .collect();
                // A bare word is refused for text fields when the profile loads.
                let unmapped = match &s.unmapped {
                    None | Some(UnmappedToml::Rule(UnmappedRule::Keep)) => Unmapped::Keep,
                    Some(UnmappedToml::Rule(UnmappedRule::Reject)) => Unmapped::Reject,
                    Some(UnmappedToml::Rule(UnmappedRule::Null)) => Unmapped::Null,
                    Some(UnmappedToml::Value { value: v } | UnmappedToml::Code(v)) => {
                        Unmapped::Value(Arc::from(v.as_str()))
                    }
                };
                ValueMap::new(entries, unmapped)
            });
            let hash = s.hash.then(|| KeyedHasher::new(cx.hash_key));
            Conv::Text {
                map,
                strip_suffix: s.strip_suffix.clone(),
                lowercase: s.lowercase,
                slug: s.slug,
                hash,
                jurisdiction: def.name == "jurisdiction_id",
            }
        }
        FieldType::Code(list) => {
            let entries: Vec<(String, Option<CodeTarget>)> = match &s.map {
                Some(m) => map_entries(cx, m)
                    .into_iter()
                    .map(|(k, v)| {
                        if v.is_empty() {
                            Ok((k, None))
                        } else {
                            code_target(list, &v)
                                .map(|t| (k.clone(), Some(t)))
                                .ok_or_else(|| perr(None, format!("{}: {v:?} is not a {list} code", def.name)))
                        }
                    })
                    .collect::<Result<_, _>>()?,
                None => {
                    // Without a map, the canonical codes themselves (any case) are accepted.
                    let mut v: Vec<(String, Option<CodeTarget>)> = code_list_values(list)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|c| (c.to_owned(), Some(CodeTarget { code: c, detail: None })))
                        .collect();
                    if list == "race" {
                        v.extend(
                            code_list_values("race_detail")
                                .unwrap_or_default()
                                .into_iter()
                                .filter_map(|c| code_target(list, c).map(|t| (c.to_owned(), Some(t)))),
                        );
                    }
                    v
                }
            };
            let unmapped = match &s.unmapped {
                None | Some(UnmappedToml::Rule(UnmappedRule::Reject | UnmappedRule::Keep)) => Unmapped::Reject,
                Some(UnmappedToml::Rule(UnmappedRule::Null)) => Unmapped::Null,
                Some(UnmappedToml::Value { value: v } | UnmappedToml::Code(v)) => Unmapped::Value(
                    code_target(list, v)
                        .ok_or_else(|| perr(None, format!("{}: {v:?} is not a {list} code", def.name)))?,
                ),
            };
            let hispanic = match &s.hispanic {
                None => None,
                Some(h) => {
                    let c = resolve(cx, &h.column, false)?.ok_or_else(|| perr(Some(&h.column), "missing".into()))?;
                    Some((c, h.values.iter().map(|v| normalize(v)).collect()))
                }
            };
            Conv::Code { map: ValueMap::new(entries, unmapped), hispanic }
        }
        FieldType::Bool => Conv::Bool(BoolWords::new(s.truthy.clone(), s.falsy.clone())),
        FieldType::Int => Conv::Int { scale: s.scale, min: s.min, max: s.max },
        FieldType::Float => Conv::Float { scale: s.scale, min: s.min, max: s.max },
        FieldType::Date => Conv::Date { formats: formats(s)?, convert: convert(s)? },
        FieldType::Time => Conv::Time { formats: formats(s)?, convert: convert(s)? },
    })
}

/// Collects mapped rows of one table into Arrow record batches.
pub(crate) struct TableSink {
    schema: Arc<Schema>,
    builders: Vec<ColBuilder>,
    rows: usize,
}

enum ColBuilder {
    Str(StringBuilder),
    Bool(BooleanBuilder),
    Int(Int64Builder),
    Float(Float64Builder),
    Date(Date32Builder),
    Time(Time64MicrosecondBuilder),
}

impl TableSink {
    pub(crate) fn new(table: Table) -> Self {
        let cols = appended_columns(table);
        let mut types: HashMap<String, FieldType> = HashMap::new();
        for f in table.fields() {
            types.insert(f.name.to_owned(), f.ty);
            if f.has_raw() {
                types.insert(format!("raw_{}", f.name), FieldType::Text);
            }
        }
        let mut fields = Vec::new();
        let mut builders = Vec::new();
        for c in &cols {
            let (dt, b) = match c.as_str() {
                "batch_id" | "source_row" => (DataType::Int64, ColBuilder::Int(Int64Builder::new())),
                name => match types.get(name).copied().unwrap_or(FieldType::Text) {
                    FieldType::Text | FieldType::Code(_) => (DataType::Utf8, ColBuilder::Str(StringBuilder::new())),
                    FieldType::Bool => (DataType::Boolean, ColBuilder::Bool(BooleanBuilder::new())),
                    FieldType::Int => (DataType::Int64, ColBuilder::Int(Int64Builder::new())),
                    FieldType::Float => (DataType::Float64, ColBuilder::Float(Float64Builder::new())),
                    FieldType::Date => (DataType::Date32, ColBuilder::Date(Date32Builder::new())),
                    FieldType::Time => {
                        (DataType::Time64(TimeUnit::Microsecond), ColBuilder::Time(Time64MicrosecondBuilder::new()))
                    }
                },
            };
            fields.push(Field::new(c, dt, true));
            builders.push(b);
        }
        Self { schema: Arc::new(Schema::new(fields)), builders, rows: 0 }
    }

    pub(crate) fn len(&self) -> usize {
        self.rows
    }

    pub(crate) fn schema(&self) -> Arc<Schema> {
        self.schema.clone()
    }

    pub(crate) fn push(&mut self, batch_id: i64, source_row: i64, vals: &[Val<'_>]) {
        if let ColBuilder::Int(b) = &mut self.builders[0] {
            b.append_value(batch_id);
        }
        if let ColBuilder::Int(b) = &mut self.builders[1] {
            b.append_value(source_row);
        }
        for (b, v) in self.builders[2..].iter_mut().zip(vals) {
            match (b, v) {
                (ColBuilder::Str(b), Val::Str(s)) => b.append_value(s),
                (ColBuilder::Str(b), Val::Shared(s)) => b.append_value(s),
                (ColBuilder::Str(b), Val::Code(s)) => b.append_value(s),
                (ColBuilder::Bool(b), Val::Bool(x)) => b.append_value(*x),
                (ColBuilder::Int(b), Val::Int(x)) => b.append_value(*x),
                (ColBuilder::Float(b), Val::Float(x)) => b.append_value(*x),
                (ColBuilder::Float(b), Val::Int(x)) => b.append_value(*x as f64),
                (ColBuilder::Date(b), Val::Date(d)) => b.append_value(oversight_core::period::epoch_days(*d)),
                (ColBuilder::Time(b), Val::Time(t)) => b.append_value(
                    i64::from(t.num_seconds_from_midnight()) * 1_000_000 + i64::from(t.nanosecond() / 1000),
                ),
                (ColBuilder::Str(b), _) => b.append_null(),
                (ColBuilder::Bool(b), _) => b.append_null(),
                (ColBuilder::Int(b), _) => b.append_null(),
                (ColBuilder::Float(b), _) => b.append_null(),
                (ColBuilder::Date(b), _) => b.append_null(),
                (ColBuilder::Time(b), _) => b.append_null(),
            }
        }
        self.rows += 1;
    }

    /// The rows collected so far as one record batch (the sink starts empty again).
    pub(crate) fn take(&mut self) -> RecordBatch {
        let arrays: Vec<ArrayRef> = self
            .builders
            .iter_mut()
            .map(|b| -> ArrayRef {
                match b {
                    ColBuilder::Str(b) => Arc::new(b.finish()),
                    ColBuilder::Bool(b) => Arc::new(b.finish()),
                    ColBuilder::Int(b) => Arc::new(b.finish()),
                    ColBuilder::Float(b) => Arc::new(b.finish()),
                    ColBuilder::Date(b) => Arc::new(b.finish()),
                    ColBuilder::Time(b) => Arc::new(b.finish()),
                }
            })
            .collect();
        self.rows = 0;
        RecordBatch::try_new(self.schema.clone(), arrays).expect("sink columns match its schema")
    }
}

static ATTR_DEFS: &[FieldDef] = &[
    FieldDef { name: "name", ty: FieldType::Text, required: false, personal: false, description: "" },
    FieldDef {
        name: "kind",
        ty: FieldType::Code("jurisdiction_kind"),
        required: false,
        personal: false,
        description: "",
    },
    FieldDef { name: "parent", ty: FieldType::Text, required: false, personal: false, description: "" },
    FieldDef { name: "state", ty: FieldType::Text, required: false, personal: false, description: "" },
    FieldDef { name: "fips", ty: FieldType::Text, required: false, personal: false, description: "" },
    FieldDef { name: "timezone", ty: FieldType::Text, required: false, personal: false, description: "" },
    FieldDef { name: "lat", ty: FieldType::Float, required: false, personal: false, description: "" },
    FieldDef { name: "lng", ty: FieldType::Float, required: false, personal: false, description: "" },
];

/// Attributes of jurisdictions that rows create (`[jurisdiction_fields]`), evaluated on a jurisdiction's
/// first row.
#[derive(Clone)]
pub(crate) struct AttrPlan {
    set: FieldSet,
}

impl AttrPlan {
    pub(crate) fn compile(cx: &PlanCtx<'_>) -> Result<Self, PlanError> {
        let src = &cx.profile.toml.source;
        let mut fields = Vec::new();
        for (slot, def) in ATTR_DEFS.iter().enumerate() {
            if let Some(spec) = cx.profile.toml.jurisdiction_fields.get(def.name) {
                fields.push(compile_field(cx, def, &spec.full(), slot, None, None)?);
            }
        }
        Ok(Self { set: FieldSet::new(fields, Cleaner::new(src.trim, &src.null_values), ATTR_DEFS.len()) })
    }

    /// (attribute name, value) for the attributes the profile sets.
    pub(crate) fn eval(&mut self, cx: &RowCtx<'_, '_>) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let mut problems = Vec::new();
        self.set.eval(cx, &mut out, &mut problems);
        ATTR_DEFS.iter().zip(out).filter_map(|(d, v)| v.display().map(|s| (d.name, s))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_takes_any_value_whatever_it_held() {
        let owned = || Val::Str(Cow::Owned("owned".to_owned()));
        let date = NaiveDate::from_ymd_opt(2020, 2, 29).expect("a date");
        let time = NaiveTime::from_hms_opt(23, 59, 1).expect("a time");
        let vals = [
            Val::Null,
            Val::Str(Cow::Borrowed("borrowed")),
            owned(),
            Val::Shared(Arc::from("shared")),
            Val::Code("code"),
            Val::Bool(true),
            Val::Int(-7),
            Val::Float(2.5),
            Val::Date(date),
            Val::Time(time),
        ];
        for old in &vals {
            for new in &vals {
                let mut slot = old.clone();
                put(&mut slot, new.clone());
                assert_eq!(slot, *new, "{old:?} then {new:?}");
            }
        }
    }

    #[test]
    fn cleaning_trims_every_kind_of_blank_and_keeps_values_that_have_none() {
        let c = Cleaner::new(true, &["".into(), "NA".into()]);
        for (raw, want) in [
            ("x", Some("x")),
            ("TRUE", Some("TRUE")),
            (" x ", Some("x")),
            ("x\t", Some("x")),
            ("x\r", Some("x")),
            ("\u{a0}café\u{3000}", Some("café")),
            ("é", Some("é")),
            ("a b", Some("a b")),
            ("  ", None),
            ("", None),
            (" NA\r", None),
        ] {
            assert_eq!(c.clean(raw, &[]), want, "{raw:?}");
        }
        assert_eq!(c.clean("n/a", &["N/A".into()]), None);
        let keep = Cleaner::new(false, &[]);
        assert_eq!(keep.clean(" x \r", &[]), Some(" x "));
    }
}
