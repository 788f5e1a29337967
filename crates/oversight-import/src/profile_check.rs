//! The checks a profile passes when it loads: every field, option, map, code and rule it names is one that
//! exists and fits, so a profile that would read a file wrongly is refused before any file is read.

use crate::parse::DateFormat;
use crate::profile::*;
use crate::reader::Encoding;
use oversight_core::{FieldType, Table, code_list_values};
use std::collections::BTreeMap;

impl Profile {
    pub(crate) fn check(&self) -> Result<(), String> {
        let t = &self.toml;
        for name in t.rules.keys() {
            let main = self.dataset.main_table();
            if !CROSS_RULES.iter().any(|r| r.name == name && r.table == main) {
                let known: Vec<_> = CROSS_RULES.iter().filter(|r| r.table == main).map(|r| r.name).collect();
                return Err(format!(
                    "rules.{name}: {} has no rule {name:?} (rules: {})",
                    self.dataset,
                    if known.is_empty() { "none".to_owned() } else { known.join(", ") }
                ));
            }
        }
        for (i, f) in t.filter.iter().enumerate() {
            let given = [
                f.is_in.is_some(),
                f.not_in.is_some(),
                f.is_null.is_some(),
                f.eq.is_some(),
                f.ne.is_some(),
                f.lt.is_some(),
                f.le.is_some(),
                f.gt.is_some(),
                f.ge.is_some(),
            ];
            if !given.contains(&true) {
                return Err(format!(
                    "filter[{i}] ({}): give a condition: in, not_in, is_null, eq, ne, lt, le, gt or ge",
                    f.column
                ));
            }
            for v in [&f.eq, &f.ne, &f.lt, &f.le, &f.gt, &f.ge].into_iter().flatten() {
                if !matches!(v, toml::Value::String(_) | toml::Value::Integer(_) | toml::Value::Float(_)) {
                    return Err(format!("filter[{i}] ({}): compare with a number or a text, found {v}", f.column));
                }
            }
        }
        if let Some(g) = &t.group {
            if g.by.to_vec().is_empty() {
                return Err("group.by names no column".into());
            }
            if !t.expand.is_empty() {
                return Err("group and expand cannot be combined".into());
            }
            if t.files.len() > 1 {
                return Err("group reads one file: a profile with [[files]] joins them instead".into());
            }
        }
        // The reader splits records at single bytes: a character outside ASCII would split characters.
        let one_ascii = |c: &str| c.len() == 1 && c.is_ascii();
        if !one_ascii(&t.source.delimiter) && t.source.delimiter != "\\t" {
            return Err(format!("source.delimiter must be one ASCII character, found {:?}", t.source.delimiter));
        }
        if !one_ascii(&t.source.quote) {
            return Err(format!("source.quote must be one ASCII character, found {:?}", t.source.quote));
        }
        if let Some(f) = &t.source.format
            && !matches!(f.as_str(), "csv" | "parquet")
        {
            return Err(format!("source.format must be csv or parquet, found {f:?}"));
        }
        Encoding::from_label(&t.source.encoding)?;
        if let Some(tz) = &t.jurisdiction.timezone {
            tz.parse::<chrono_tz::Tz>()
                .map_err(|_| format!("jurisdiction.timezone {tz:?} is not an IANA time zone"))?;
        }
        if let Some(k) = &t.jurisdiction.kind {
            check_code("jurisdiction_kind", k).map_err(|e| format!("jurisdiction.kind: {e}"))?;
        }
        if let Some(id) = &t.jurisdiction.id {
            oversight_core::JurisdictionId::new(id.as_str()).map_err(|e| format!("jurisdiction.id: {e}"))?;
        }
        let roles = self.file_roles();
        for (i, f) in t.files.iter().enumerate() {
            if i > 0 && f.key.is_none() {
                return Err(format!("files[{i}] ({}) needs a key column to join on", f.role));
            }
            if roles.iter().filter(|r| **r == f.role).count() > 1 {
                return Err(format!("file role {:?} is given twice", f.role));
            }
        }
        let main = self.dataset.main_table();
        self.check_fields(main, &t.fields, "fields")?;
        for f in main.fields() {
            let given = t.fields.contains_key(f.name) || t.expand.iter().any(|e| e.contains_key(f.name));
            if f.required && !given && f.name != "jurisdiction_id" {
                return Err(format!("fields.{} is required for {} and has no mapping", f.name, self.dataset));
            }
        }
        for (i, e) in t.expand.iter().enumerate() {
            self.check_fields(main, e, &format!("expand[{i}]"))?;
        }
        for (name, child) in &t.children {
            let table = Table::ALL
                .iter()
                .copied()
                .find(|t| t.name() == name && self.dataset.child_tables().contains(t))
                .ok_or_else(|| {
                    format!(
                        "children.{name}: {} has no child table {name:?} (it has: {})",
                        self.dataset,
                        self.dataset.child_tables().iter().map(|t| t.name()).collect::<Vec<_>>().join(", ")
                    )
                })?;
            let main_rows = t.group.is_some() && roles.first() == Some(&child.file);
            if !main_rows && (!roles.contains(&child.file) || roles.first() == Some(&child.file)) {
                return Err(format!(
                    "children.{name}.file {:?} is not a joined file role (roles: {})",
                    child.file,
                    roles.join(", ")
                ));
            }
            self.check_fields(table, &child.fields, &format!("children.{name}.fields"))?;
            for f in table.fields() {
                if f.required && !child.fields.contains_key(f.name) && f.name != "jurisdiction_id" {
                    return Err(format!("children.{name}.fields.{} is required and has no mapping", f.name));
                }
            }
        }
        for (key, spec) in &t.jurisdiction_fields {
            if !matches!(key.as_str(), "name" | "kind" | "parent" | "state" | "fips" | "timezone" | "lat" | "lng") {
                return Err(format!(
                    "jurisdiction_fields.{key}: expected name, kind, parent, state, fips, timezone, lat or lng"
                ));
            }
            let ty = match key.as_str() {
                "kind" => FieldType::Code("jurisdiction_kind"),
                "lat" | "lng" => FieldType::Float,
                _ => FieldType::Text,
            };
            self.check_spec(&format!("jurisdiction_fields.{key}"), ty, &spec.full())?;
        }
        Ok(())
    }

    fn check_fields(&self, table: Table, fields: &BTreeMap<String, FieldSpec>, at: &str) -> Result<(), String> {
        for (name, spec) in fields {
            if name == "flags" {
                return Err(format!("{at}.flags: flags are set by the importer ([rules] name = \"keep\"), not mapped"));
            }
            let def = table.field(name).ok_or_else(|| {
                let known: Vec<_> = table.fields().iter().map(|f| f.name).collect();
                format!("{at}.{name}: {table} has no field {name:?} (fields: {})", known.join(", "))
            })?;
            self.check_spec(&format!("{at}.{name}"), def.ty, &spec.full())?;
        }
        Ok(())
    }

    fn check_spec(&self, at: &str, ty: FieldType, s: &FieldSpecFull) -> Result<(), String> {
        let sources = [
            s.column.is_some(),
            s.value.is_some(),
            s.template.is_some(),
            s.any.is_some(),
            s.coalesce.is_some(),
            s.sum.is_some(),
            s.product.is_some(),
            s.rss.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if sources != 1 {
            return Err(format!("{at}: give exactly one of column, value, template, any, coalesce, sum, product, rss"));
        }
        if s.any.is_some() && ty != FieldType::Bool {
            return Err(format!("{at}: `any` makes a boolean but the field is {}", ty.describe()));
        }
        if (s.sum.is_some() || s.product.is_some() || s.rss.is_some())
            && !matches!(ty, FieldType::Int | FieldType::Float)
        {
            return Err(format!("{at}: sum/product/rss make a number but the field is {}", ty.describe()));
        }
        if let Some(f) = &s.format {
            if !matches!(ty, FieldType::Date | FieldType::Time) {
                return Err(format!("{at}: `format` is for date and time fields, not {}", ty.describe()));
            }
            for fmt in f.to_vec() {
                let c = DateFormat::compile(&fmt).map_err(|e| format!("{at}: {e}"))?;
                if ty == FieldType::Date && !c.has_date() {
                    return Err(format!("{at}: format {fmt:?} reads no date"));
                }
                if ty == FieldType::Time && !c.has_time() {
                    return Err(format!("{at}: format {fmt:?} reads no time of day"));
                }
            }
        }
        if let Some(tz) = &s.timezone {
            tz.parse::<chrono_tz::Tz>().map_err(|_| format!("{at}: timezone {tz:?} is not an IANA time zone"))?;
        }
        if let Some(a) = s.aggregate {
            if a == Aggregate::Priority && s.priority.is_none() {
                return Err(format!("{at}: aggregate = \"priority\" needs a priority list"));
            }
            if matches!(a, Aggregate::Count | Aggregate::DistinctCount) && ty != FieldType::Int {
                return Err(format!("{at}: {} makes a number but the field is {}", a.as_str(), ty.describe()));
            }
        }
        check_unmapped(at, ty, s.unmapped.as_ref())?;
        if let Some(m) = &s.map {
            let map = match m {
                MapRef::Named(n) => {
                    self.toml.maps.get(n).ok_or_else(|| format!("{at}: no map named {n:?} under [maps]"))?
                }
                MapRef::Inline(m) => m,
            };
            if let FieldType::Code(list) = ty {
                for (k, v) in map {
                    if v.is_empty() {
                        continue;
                    }
                    check_code_target(list, v).map_err(|e| format!("{at}: map sends {k:?} to {e}"))?;
                }
            }
        }
        if let FieldType::Code(list) = ty {
            for (what, v) in [("missing", &s.missing), ("empty", &s.empty)] {
                if let Some(v) = v {
                    check_code_target(list, v).map_err(|e| format!("{at}: {what} is {e}"))?;
                }
            }
            for v in s.priority.iter().flatten() {
                check_code_target(list, v).map_err(|e| format!("{at}: priority lists {e}"))?;
            }
            if let Some(toml::Value::String(v)) = &s.value {
                check_code_target(list, v).map_err(|e| format!("{at}: value is {e}"))?;
            }
        }
        if s.hispanic.is_some() && ty != FieldType::Code("race") {
            return Err(format!("{at}: `hispanic` is for race fields"));
        }
        if let Some(p) = &s.pad {
            if p.with.chars().count() != 1 {
                return Err(format!("{at}: pad.with must be one character, found {:?}", p.with));
            }
            if p.width == 0 || p.width > 64 {
                return Err(format!("{at}: pad.width must be from 1 to 64, found {}", p.width));
            }
        }
        Ok(())
    }
}

fn check_code(list: &str, v: &str) -> Result<(), String> {
    let codes = code_list_values(list).unwrap_or_default();
    if codes.contains(&v) {
        Ok(())
    } else {
        Err(format!("{v:?}, which is not a {list} code (codes: {})", codes.join(", ")))
    }
}

/// A race field may also take a finer category, which rolls up.
/// `unmapped`: a bare word other than a rule must be a code of a coded field's list; for any other field it is
/// refused (a misspelt `reject` would otherwise become every unmapped value).
fn check_unmapped(at: &str, ty: FieldType, u: Option<&Unmapped>) -> Result<(), String> {
    const RULES: &str = "reject, null, keep";
    match (u, ty) {
        (None | Some(Unmapped::Rule(_)), _) => Ok(()),
        (Some(Unmapped::Value { value }), FieldType::Code(list)) => {
            check_code_target(list, value).map_err(|e| format!("{at}: unmapped is {e}"))
        }
        (Some(Unmapped::Value { .. }), _) => Ok(()),
        (Some(Unmapped::Code(v)), FieldType::Code(list)) => check_code_target(list, v).map_err(|_| {
            format!(
                "{at}: unmapped must be one of {RULES} or a {list} code ({}); found {v:?}",
                code_list_values(list).unwrap_or_default().join(", ")
            )
        }),
        (Some(Unmapped::Code(v)), _) => {
            Err(format!("{at}: unmapped must be one of {RULES}, or {{ value = \"…\" }} for a replacement; found {v:?}"))
        }
    }
}

fn check_code_target(list: &str, v: &str) -> Result<(), String> {
    if list == "race" && code_list_values("race_detail").unwrap_or_default().contains(&v) {
        return Ok(());
    }
    check_code(list, v)
}
