//! Row filters (`[[filter]]`): which rows of the main file a profile leaves out. A row left out is counted
//! in the batch summary, never rejected; a row a filter cannot judge (a number comparison on a value that is
//! not a number) is rejected with the reason.

use crate::engine::{Cleaner, Problem};
use crate::parse::parse_float;
use crate::profile::RowFilterToml;
use crate::reader::Row;
use crate::values::normalize;
use std::collections::HashSet;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    fn holds(self, o: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::{Equal, Greater, Less};
        match self {
            Op::Eq => o == Equal,
            Op::Ne => o != Equal,
            Op::Lt => o == Less,
            Op::Le => o != Greater,
            Op::Gt => o == Greater,
            Op::Ge => o != Less,
        }
    }
    fn name(self) -> &'static str {
        match self {
            Op::Eq => "eq",
            Op::Ne => "ne",
            Op::Lt => "lt",
            Op::Le => "le",
            Op::Gt => "gt",
            Op::Ge => "ge",
        }
    }
}

#[derive(Debug, Clone)]
enum Cond {
    In(HashSet<String>),
    NotIn(HashSet<String>),
    IsNull(bool),
    Num(Op, f64),
    Text(Op, String),
}

/// One `[[filter]]` compiled against the file's header.
#[derive(Debug, Clone)]
pub(crate) struct RowFilter {
    idx: usize,
    column: String,
    conds: Vec<Cond>,
}

impl RowFilter {
    /// Compiles the profile's filters; a column the file lacks refuses the file.
    pub(crate) fn compile(filters: &[RowFilterToml], header: &[String]) -> Result<Vec<Self>, (String, String)> {
        filters
            .iter()
            .map(|f| {
                let idx = header.iter().position(|h| *h == f.column).ok_or_else(|| {
                    (f.column.clone(), format!("the filter's column {:?} is missing from the file", f.column))
                })?;
                let set = |v: &Vec<String>| v.iter().map(|x| normalize(x)).collect::<HashSet<_>>();
                let mut conds = Vec::new();
                if let Some(v) = &f.is_in {
                    conds.push(Cond::In(set(v)));
                }
                if let Some(v) = &f.not_in {
                    conds.push(Cond::NotIn(set(v)));
                }
                if let Some(b) = f.is_null {
                    conds.push(Cond::IsNull(b));
                }
                for (op, v) in [
                    (Op::Eq, &f.eq),
                    (Op::Ne, &f.ne),
                    (Op::Lt, &f.lt),
                    (Op::Le, &f.le),
                    (Op::Gt, &f.gt),
                    (Op::Ge, &f.ge),
                ] {
                    match v {
                        None => {}
                        Some(toml::Value::Integer(i)) => conds.push(Cond::Num(op, *i as f64)),
                        Some(toml::Value::Float(x)) => conds.push(Cond::Num(op, *x)),
                        Some(toml::Value::String(s)) => conds.push(Cond::Text(op, s.clone())),
                        Some(other) => {
                            return Err((
                                f.column.clone(),
                                format!("filter {}: cannot compare with {other}", op.name()),
                            ));
                        }
                    }
                }
                Ok(Self { idx, column: f.column.clone(), conds })
            })
            .collect()
    }

    /// Whether the row passes (is kept); a problem when the filter cannot judge it.
    pub(crate) fn keeps(&self, row: &Row<'_>, cleaner: &Cleaner) -> Result<bool, Problem> {
        let value = row.get(self.idx).and_then(|s| cleaner.clean(s, &[]));
        for c in &self.conds {
            let pass = match (c, value) {
                (Cond::IsNull(want), v) => v.is_none() == *want,
                (Cond::In(_) | Cond::Num(..) | Cond::Text(..), None) => false,
                (Cond::NotIn(_), None) => true,
                (Cond::In(set), Some(v)) => set.contains(&normalize(v)),
                (Cond::NotIn(set), Some(v)) => !set.contains(&normalize(v)),
                (Cond::Num(op, bound), Some(v)) => match parse_float(v) {
                    Ok(x) => op.holds(x.total_cmp(bound)),
                    Err(_) => {
                        return Err(Problem {
                            column: self.column.clone(),
                            value: Some(v.to_owned()),
                            reason: format!(
                                "the profile's filter compares this column with the number {bound} ({}), but the \
                                 value is not a number",
                                op.name()
                            ),
                        });
                    }
                },
                (Cond::Text(op, bound), Some(v)) => op.holds(v.cmp(bound.as_str())),
            };
            if !pass {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::Rows;

    fn filter(toml_text: &str) -> RowFilter {
        #[derive(serde::Deserialize)]
        struct W {
            filter: Vec<RowFilterToml>,
        }
        let w: W = toml::from_str(toml_text).unwrap();
        RowFilter::compile(&w.filter, &["kind".into(), "n".into()]).unwrap().remove(0)
    }

    fn keeps(f: &RowFilter, kind: &str, n: &str) -> Result<bool, Problem> {
        let mut rows = Rows::default();
        rows.push([kind, n], 2).unwrap();
        let cleaner = Cleaner::new(true, &["".into(), "NA".into()]);
        f.keeps(&rows.row(0), &cleaner)
    }

    #[test]
    fn filters_keep_listed_values_and_compare_numbers_and_text() {
        let f = filter("[[filter]]\ncolumn='kind'\nin=['Stop', 'frisk ']\n");
        assert!(keeps(&f, " STOP ", "1").unwrap());
        assert!(keeps(&f, "Frisk", "1").unwrap());
        assert!(!keeps(&f, "search", "1").unwrap());
        assert!(!keeps(&f, "NA", "1").unwrap());
        let f = filter("[[filter]]\ncolumn='kind'\nnot_in=['void']\n");
        assert!(!keeps(&f, "VOID", "1").unwrap());
        assert!(keeps(&f, "", "1").unwrap());
        let f = filter("[[filter]]\ncolumn='n'\nge=10\nlt=20.5\n");
        assert!(keeps(&f, "x", "10").unwrap());
        assert!(keeps(&f, "x", "20.4").unwrap());
        assert!(!keeps(&f, "x", "9").unwrap());
        assert!(!keeps(&f, "x", "").unwrap());
        let e = keeps(&f, "x", "ten").unwrap_err();
        assert!(e.reason.contains("not a number"), "{}", e.reason);
        let f = filter("[[filter]]\ncolumn='n'\nis_null=true\n");
        assert!(keeps(&f, "x", "NA").unwrap());
        assert!(!keeps(&f, "x", "3").unwrap());
        let f = filter("[[filter]]\ncolumn='kind'\ngt='2019-12-31'\n");
        assert!(keeps(&f, "2020-01-01", "").unwrap());
        assert!(!keeps(&f, "2019-06-30", "").unwrap());
    }
}
