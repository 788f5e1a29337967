//! A table's plan: its fields compiled against the file's header, evaluated row by row, then checked (required
//! fields, code lists, dates, cross-field rules).

use super::compile::*;
use super::eval::*;
use super::plan::*;
use super::row::*;
use crate::profile::{CROSS_RULES, CrossRule, FieldSpec, FieldSpecFull, RuleAction};
use chrono::{Datelike, NaiveDate};
use oversight_core::{FieldType, JurisdictionId, Table};
use oversight_store::appended_columns;
use std::collections::HashMap;
use std::sync::Arc;
/// A compiled plan for one output table (one per `expand` entry).
#[derive(Clone)]
pub(crate) struct TablePlan {
    pub(crate) table: Table,
    pub(super) set: FieldSet,
    pub(crate) date_slot: Option<usize>,
    pub(crate) jurisdiction_slot: usize,
    /// Slots of the table's record key fields, where the profile fills every one of them.
    pub(crate) key_slots: Vec<usize>,
    pub(super) today: NaiveDate,
    pub(super) checks: Vec<Check>,
    /// The cross-field rules of the table, with what breaking them does.
    pub(super) rules: Vec<ActiveRule>,
    /// The slot of `flags` (rules kept and flagged), where the table has one.
    pub(super) flags_slot: Option<usize>,
    /// The last jurisdiction id found valid (it rarely changes from row to row).
    pub(super) last_jurisdiction: String,
}

/// A cross-field rule compiled against a table's slots.
#[derive(Debug, Clone)]
pub(super) struct ActiveRule {
    pub(super) rule: &'static CrossRule,
    pub(super) field: usize,
    pub(super) other: usize,
    pub(super) label: String,
    pub(super) action: RuleAction,
    /// Rows kept under `null` or `keep` that broke it.
    pub(super) hits: i64,
}

impl ActiveRule {
    /// The broken field's value and why, when the row breaks the rule.
    pub(super) fn broken(&self, out: &[Val<'_>]) -> Option<(String, String)> {
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
    pub(super) fn check_row(&mut self, out: &mut [Val<'_>], problems: &mut Vec<Problem>) {
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
pub(super) enum Rule {
    Required,
    Date,
    IntRange(i64, i64, &'static str),
    FloatRange(f64, f64),
    Jurisdiction,
}

#[derive(Debug, Clone)]
pub(super) struct Check {
    pub(super) slot: usize,
    pub(super) label: String,
    pub(super) rule: Rule,
}

pub(super) fn checks_for(
    table: Table,
    slots: &HashMap<&'static str, usize>,
    label: impl Fn(&str) -> String,
) -> Vec<Check> {
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
