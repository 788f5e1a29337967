//! Evaluation of compiled fields: one function per kind of source (a column, a constant, a template, the
//! first of several columns, any of several booleans, arithmetic, a joined file), then the shared steps.

use super::plan::*;
use super::row::*;
use crate::parse::{BoolWords, DateFormat, DateTimeParts, parse_float, parse_int, parse_iso};
use crate::profile::Aggregate as Agg;
use crate::reader::Row;
use crate::values::{Lookup, normalize};
use chrono::{Datelike, NaiveDate, NaiveTime, TimeZone};
use chrono_tz::Tz;
use oversight_core::{CodeList, FieldType, JurisdictionId, RaceDetail};
use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::Arc;
impl FieldSet {
    pub(super) fn eval<'r>(&mut self, cx: &RowCtx<'r, '_>, out: &mut Vec<Val<'r>>, problems: &mut Vec<Problem>) {
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
pub(super) fn eval_field<'r>(
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
    let FieldPlan { getter, conv, null_values, missing, empty, priority, invalid_is_null, pad, constant, .. } = f;
    let mut rd = Reading {
        conv,
        null_values,
        invalid_is_null: *invalid_is_null,
        missing: missing.as_deref(),
        empty: empty.as_deref(),
        priority,
        pad: *pad,
    };
    let read = match &*getter {
        Getter::Absent => Ok((Val::Null, None)),
        Getter::Col(c) => from_column(&mut rd, cleaner, cx, *c),
        Getter::Const(s) => from_constant(&mut rd, constant, s),
        Getter::Template(parts) => from_template(&mut rd, cleaner, cx, parts),
        Getter::Coalesce(cols) => from_coalesce(&mut rd, cleaner, cx, cols),
        Getter::Any(cols) => from_any(&rd, cleaner, cx, cols),
        Getter::Num(op, cols) => from_numbers(&rd, cleaner, cx, op, cols),
        Getter::Joined { col, agg, filter } => from_joined(&mut rd, cleaner, cx, *col, *agg, filter.as_ref()),
    };
    // A field with no value may take the profile's `missing` value (joined fields apply it per row).
    let joined = matches!(getter, Getter::Joined { .. });
    let read = read.and_then(|(v, raw)| match rd.missing {
        Some(m) if v.is_null() && raw.is_none() && !joined => rd.constant_value(m).map(|v| (v, None)),
        _ => Ok((v, raw)),
    });
    match read {
        Ok((val, raw)) => store(f, cleaner, cx, val, raw, out),
        Err(Fail { value, reason }) => problems.push(Problem { column: f.label.clone(), value, reason }),
    }
}

/// A value read with the source text to keep as its raw companion, or why it could not be read.
type Read<'r> = Result<(Val<'r>, Option<Cow<'r, str>>), Fail>;

/// A value that could not be read, and why.
struct Fail {
    value: Option<String>,
    reason: String,
}

fn fail<T>(value: &str, reason: String) -> Result<T, Fail> {
    Err(Fail { value: Some(value.to_owned()), reason })
}

/// What a field reads values with, borrowed apart from its getter.
struct Reading<'f> {
    conv: &'f mut Conv,
    null_values: &'f [String],
    invalid_is_null: bool,
    missing: Option<&'f str>,
    empty: Option<&'f str>,
    priority: &'f [String],
    pad: Option<(usize, char)>,
}

impl Reading<'_> {
    /// A value of the profile's own (`missing`, `empty`), converted like a source value.
    fn constant_value(&mut self, v: &str) -> Result<Val<'static>, Fail> {
        convert(self.conv, v).map(into_owned).or_else(|reason| fail(v, reason))
    }

    /// The text of column `c` once cleaned, None when it holds no value.
    fn text<'r>(&self, cleaner: &Cleaner, cx: &RowCtx<'r, '_>, c: ColRef) -> Option<&'r str> {
        cx.get(c, None).and_then(|s| cleaner.clean(s, self.null_values))
    }
}

/// One column (left-padded first where the profile says so).
fn from_column<'r>(rd: &mut Reading<'_>, cleaner: &Cleaner, cx: &RowCtx<'r, '_>, c: ColRef) -> Read<'r> {
    let Some(s) = rd.text(cleaner, cx, c) else { return Ok((Val::Null, None)) };
    let raw = Some(Cow::Borrowed(s));
    if rd.pad.is_none() {
        return match convert(rd.conv, s) {
            Ok(v) => Ok((v, raw)),
            Err(_) if rd.invalid_is_null => Ok((Val::Null, raw)),
            Err(reason) => fail(s, reason),
        };
    }
    let padded = pad(s, rd.pad);
    match convert(rd.conv, &padded) {
        Ok(v) => Ok((into_owned(v), raw)),
        Err(_) if rd.invalid_is_null => Ok((Val::Null, raw)),
        Err(reason) if padded == s => fail(s, reason),
        Err(reason) => fail(s, format!("{reason} (padded to {padded:?})")),
    }
}

/// A constant, converted once and kept (it has no source value to keep as raw).
fn from_constant<'r>(rd: &mut Reading<'_>, constant: &mut Option<Val<'static>>, s: &str) -> Read<'r> {
    if constant.is_none() {
        let v = rd.constant_value(s)?;
        *constant = Some(match v {
            Val::Str(t) => Val::Shared(Arc::from(t.as_ref())),
            v => v,
        });
    }
    Ok((constant.clone().unwrap_or(Val::Null), None))
}

/// Text built from literals and columns (`"{STATE} {COUNTY}"`).
fn from_template<'r>(rd: &mut Reading<'_>, cleaner: &Cleaner, cx: &RowCtx<'r, '_>, parts: &[TemplatePart]) -> Read<'r> {
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
        return Ok((Val::Null, None));
    }
    match convert(rd.conv, &s) {
        Ok(v) => Ok((into_owned(v), Some(Cow::Owned(s)))),
        Err(reason) => fail(&s, reason),
    }
}

/// The first of several columns that has a value.
fn from_coalesce<'r>(rd: &mut Reading<'_>, cleaner: &Cleaner, cx: &RowCtx<'r, '_>, cols: &[ColRef]) -> Read<'r> {
    let Some(s) = cols.iter().find_map(|c| rd.text(cleaner, cx, *c)) else { return Ok((Val::Null, None)) };
    match convert(rd.conv, s) {
        Ok(v) => Ok((v, Some(Cow::Borrowed(s)))),
        Err(reason) => fail(s, reason),
    }
}

/// True if any of several boolean columns is true; false only when every one is known and false.
fn from_any<'r>(rd: &Reading<'_>, cleaner: &Cleaner, cx: &RowCtx<'r, '_>, cols: &[ColRef]) -> Read<'r> {
    let words = match &*rd.conv {
        Conv::Bool(w) => w.clone(),
        _ => BoolWords::default(),
    };
    let (mut any_true, mut all_known) = (false, true);
    for c in cols {
        match rd.text(cleaner, cx, *c) {
            None => all_known = false,
            Some(s) => any_true |= words.parse(s).or_else(|reason| fail(s, reason))?,
        }
    }
    let v = if any_true {
        Val::Bool(true)
    } else if all_known {
        Val::Bool(false)
    } else {
        Val::Null
    };
    Ok((v, None))
}

/// A sum, product or root of the sum of squares of numeric columns.
fn from_numbers<'r>(rd: &Reading<'_>, cleaner: &Cleaner, cx: &RowCtx<'r, '_>, op: &NumOp, cols: &[ColRef]) -> Read<'r> {
    let mut acc: Option<f64> = None;
    let mut missing = false;
    for c in cols {
        let Some(s) = rd.text(cleaner, cx, *c) else {
            missing = true;
            continue;
        };
        let x = parse_float(s).or_else(|reason| fail(s, reason))?;
        acc = Some(match (op, acc) {
            (NumOp::Sum, a) => a.unwrap_or(0.0) + x,
            (NumOp::Product, a) => a.unwrap_or(1.0) * x,
            (NumOp::Rss, a) => a.unwrap_or(0.0) + x * x,
        });
    }
    // A sum or product with a part missing is unknown; a margin of error may be blank for a controlled
    // total (the census leaves it empty) and then counts as zero.
    let v = match (op, acc, missing) {
        (NumOp::Rss, Some(a), _) => Some(a.sqrt()),
        (_, Some(a), false) => Some(a),
        _ => None,
    };
    match v {
        None => Ok((Val::Null, None)),
        Some(x) => number_out(rd.conv, x).map(|v| (v, None)).or_else(|reason| fail(&x.to_string(), reason)),
    }
}

/// A column of a joined file, over the rows joined to this one (those passing the field's `when`),
/// aggregated.
fn from_joined<'r>(
    rd: &mut Reading<'_>,
    cleaner: &Cleaner,
    cx: &RowCtx<'r, '_>,
    col: ColRef,
    agg: Agg,
    filter: Option<&JoinFilter>,
) -> Read<'r> {
    let fdata = cx.files[col.file - 1];
    let rows: Vec<u32> = cx.joined[col.file - 1]
        .iter()
        .copied()
        .filter(|&r| {
            filter.is_none_or(|flt| {
                let v = fdata.rows.row(r as usize).get(flt.col.idx).map(normalize).unwrap_or_default();
                flt.values.contains(&v) == flt.keep_if_in
            })
        })
        .collect();
    let text = |r: u32| fdata.rows.row(r as usize).get(col.idx).and_then(|s| cleaner.clean(s, rd.null_values));
    match agg {
        Agg::Count => return Ok((Val::Int(rows.len() as i64), None)),
        Agg::DistinctCount => {
            let set: HashSet<&str> = rows.iter().filter_map(|&r| text(r)).collect();
            return Ok((Val::Int(set.len() as i64), None));
        }
        _ => {}
    }
    let vals = joined_values(rd, cleaner, fdata, col, &rows)?;
    match pick(agg, vals, rows.is_empty(), rd.priority) {
        Some((v, s)) => Ok((v, (!s.is_empty()).then_some(Cow::Borrowed(s)))),
        None => match rd.empty {
            Some(e) => rd.constant_value(e).map(|v| (v, None)),
            None => Ok((Val::Null, None)),
        },
    }
}

/// The converted values of a joined file's column over `rows`, each with its source text; a joined row
/// without a value takes the field's `missing` value.
fn joined_values<'r>(
    rd: &mut Reading<'_>,
    cleaner: &Cleaner,
    fdata: &'r FileData,
    col: ColRef,
    rows: &[u32],
) -> Result<Vec<(Val<'r>, &'r str)>, Fail> {
    let mut vals = Vec::new();
    for &r in rows {
        let frow: Row<'r> = fdata.rows.row(r as usize);
        let Some(s) = frow.get(col.idx).and_then(|s| cleaner.clean(s, rd.null_values)) else {
            if let Some(m) = rd.missing {
                vals.push((rd.constant_value(m)?, ""));
            }
            continue;
        };
        match convert(rd.conv, s) {
            Ok(v) => vals.push((v, s)),
            Err(_) if rd.invalid_is_null => {}
            Err(reason) => {
                let line = fdata.rows.line(r as usize);
                return fail(s, format!("{reason} ({} line {line})", fdata.display));
            }
        }
    }
    Ok(vals)
}

/// The value an aggregation picks from the joined rows' values.
fn pick<'r>(agg: Agg, vals: Vec<(Val<'r>, &'r str)>, no_rows: bool, priority: &[String]) -> Option<(Val<'r>, &'r str)> {
    let num = |v: &Val<'_>| match v {
        Val::Int(i) => *i as f64,
        Val::Float(x) => *x,
        Val::Date(d) => f64::from(d.num_days_from_ce()),
        _ => f64::NAN,
    };
    match agg {
        Agg::First => vals.into_iter().find(|v| !v.0.is_null()),
        Agg::Any => {
            let any = vals.iter().any(|v| v.0 == Val::Bool(true));
            if no_rows { None } else { Some((Val::Bool(any), "")) }
        }
        Agg::Priority => {
            let rank =
                |v: &Val<'_>| v.as_str().and_then(|s| priority.iter().position(|p| p == s)).unwrap_or(usize::MAX);
            vals.into_iter().filter(|v| rank(&v.0) != usize::MAX).min_by_key(|v| rank(&v.0))
        }
        Agg::Max => vals.into_iter().filter(|v| !num(&v.0).is_nan()).max_by(|a, b| num(&a.0).total_cmp(&num(&b.0))),
        Agg::Min => vals.into_iter().filter(|v| !num(&v.0).is_nan()).min_by(|a, b| num(&a.0).total_cmp(&num(&b.0))),
        Agg::Count | Agg::DistinctCount => None,
    }
}

/// Writes a field's value into its slots: the ethnicity override (race takes `hispanic` where the profile's
/// ethnicity column says so), finer race categories rolled up with the finer one in the detail column, and
/// the raw companion.
fn store<'r>(
    f: &FieldPlan,
    cleaner: &Cleaner,
    cx: &RowCtx<'r, '_>,
    val: Val<'r>,
    raw: Option<Cow<'r, str>>,
    out: &mut [Val<'r>],
) {
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
pub(super) fn pad(s: &str, pad: Option<(usize, char)>) -> String {
    let Some((width, with)) = pad else { return s.to_owned() };
    let n = s.chars().count();
    let mut out = String::with_capacity(width.max(n));
    out.extend(std::iter::repeat_n(with, width.saturating_sub(n)));
    out.push_str(s);
    out
}

/// The common case: one column of the row, no `missing`, no ethnicity override.
#[inline(always)]
pub(super) fn eval_simple<'r>(
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
pub(super) fn put<'r>(slot: &mut Val<'r>, v: Val<'r>) {
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

pub(super) fn into_owned(v: Val<'_>) -> Val<'static> {
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

pub(super) fn number_out(conv: &Conv, x: f64) -> Result<Val<'static>, String> {
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

pub(super) fn check_range(x: f64, min: Option<f64>, max: Option<f64>) -> Result<(), String> {
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
pub(super) fn convert<'r>(conv: &mut Conv, s: &'r str) -> Result<Val<'r>, String> {
    let mut v = Val::Null;
    convert_into(conv, s, &mut v)?;
    Ok(v)
}

/// Converts cleaned source text into the field's type, straight into a row slot (see [`put`]); on an error
/// the slot is left as it was.
pub(super) fn convert_into<'r>(conv: &mut Conv, s: &'r str, slot: &mut Val<'r>) -> Result<(), String> {
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

pub(super) fn parse_with(formats: &[DateFormat], s: &str) -> Result<DateTimeParts, String> {
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
pub(super) fn localize(
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, NaiveTime};

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
