//! Compilation of a profile's field specs against a file's header into field plans.

use super::plan::*;
use super::row::*;
use crate::hash::KeyedHasher;
use crate::parse::{BoolWords, DateFormat};
use crate::profile::{FieldSpecFull, MapRef, OnInvalid, Unmapped as UnmappedToml, UnmappedRule};
use crate::values::{Unmapped, ValueMap, normalize};
use chrono_tz::Tz;
use oversight_core::{CodeList, FieldDef, FieldType, RaceDetail, code_list_values};
use std::sync::Arc;
pub(super) fn resolve(cx: &PlanCtx<'_>, name: &str, optional: bool) -> Result<Option<ColRef>, PlanError> {
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

pub(super) fn preview(header: &[String]) -> String {
    let mut s = header.iter().take(12).map(|h| h.as_str()).collect::<Vec<_>>().join(", ");
    if header.len() > 12 {
        s.push_str(&format!(", … ({} columns)", header.len()));
    }
    s
}

pub(super) fn resolve_all(cx: &PlanCtx<'_>, names: &[String], optional: bool) -> Result<Vec<ColRef>, PlanError> {
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

pub(super) fn compile_field(
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

pub(super) fn compile_template(cx: &PlanCtx<'_>, t: &str) -> Result<Vec<TemplatePart>, PlanError> {
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
