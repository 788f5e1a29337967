//! One file, parents and children: a main file with one row per child (one row per allegation, per
//! charge), the parent's columns repeated on each, read as one record per group of rows sharing a key.
//! `group_rows` groups the rows it is given in memory: the whole file when it is not sorted by the key, or
//! one streamed chunk of whole groups at a time when it is (see `read_groups` in `import.rs`); columns said
//! to be constant must hold one value throughout a group, or its rows are rejected.

use crate::ImportError;
use crate::engine::{Cleaner, FileData, Problem, key_of};
use crate::filter::RowFilter;
use crate::profile::GroupToml;
use crate::reader::Rows;
use std::collections::{HashMap, HashSet};

/// A grouped main file, ready for the mapping workers.
pub(crate) struct Grouped {
    /// One row per group (its first), with the group's key as an extra last field, in file order.
    pub(crate) parents: Vec<Rows>,
    /// Rows rejected while grouping (an empty key, a column that is not constant, a filter that cannot
    /// judge the row), by line.
    pub(crate) rejects: Vec<(u64, Problem)>,
    /// Rows the profile's filters left out.
    pub(crate) filtered: i64,
    /// Rows read (not blank, of the right shape).
    pub(crate) rows: i64,
    /// Keys of the groups rejected for a column that is not constant.
    pub(crate) rejected: HashSet<String>,
}

/// Groups the rows of `fd` by the profile's `[group] by` columns: indexes `fd` by the group key (the key
/// column index of the extra field is `fd.header.len()`), marks the rows that belong to no record, and
/// returns the groups' first rows.
pub(crate) fn group_rows(
    fd: &mut FileData,
    group: &GroupToml,
    filters: &[RowFilter],
    cleaner: &Cleaner,
    chunk: usize,
) -> Result<Grouped, ImportError> {
    let col = |name: &str, what: &str| {
        fd.header.iter().position(|h| h == name).ok_or_else(|| {
            ImportError::refused(&fd.display, None, Some(name), format!("the {what} column {name:?} is missing"))
        })
    };
    let by: Vec<usize> = group.by.to_vec().iter().map(|c| col(c, "group")).collect::<Result<_, _>>()?;
    let constant: Vec<(usize, &str)> =
        group.constant.iter().map(|c| col(c, "constant").map(|i| (i, c.as_str()))).collect::<Result<_, _>>()?;
    let by_names = group.by.to_vec().join(", ");
    let mut out = Grouped { parents: Vec::new(), rejects: Vec::new(), filtered: 0, rows: 0, rejected: HashSet::new() };
    let mut index: HashMap<String, Vec<u32>> = HashMap::new();
    let mut order: Vec<String> = Vec::new();
    // Rows already excluded (blank, of the wrong shape) belong to no record.
    let mut excluded = std::mem::take(&mut fd.excluded);
    'rows: for (i, (row, line)) in fd.rows.iter().enumerate() {
        if excluded.contains(&i) {
            continue;
        }
        out.rows += 1;
        for f in filters {
            match f.keeps(&row, cleaner) {
                Ok(true) => {}
                Ok(false) => {
                    out.filtered += 1;
                    excluded.insert(i);
                    continue 'rows;
                }
                Err(p) => {
                    out.rejects.push((line, p));
                    excluded.insert(i);
                    continue 'rows;
                }
            }
        }
        let key = key_of(&row, &by);
        if key.is_empty() {
            out.rejects.push((
                line,
                Problem {
                    column: by_names.clone(),
                    value: None,
                    reason: format!("the row has no value in the group column(s) {by_names}: it belongs to no record"),
                },
            ));
            excluded.insert(i);
            continue;
        }
        let rows = index.entry(key).or_insert_with_key(|k| {
            order.push(k.clone());
            Vec::new()
        });
        rows.push(i as u32);
    }
    // Columns said to be constant must be.
    let value = |r: u32, c: usize| -> String {
        fd.rows.row(r as usize).get(c).and_then(|v| cleaner.clean(v, &[])).unwrap_or_default().to_owned()
    };
    let mut rejected: HashSet<String> = HashSet::new();
    for key in &order {
        let rows = &index[key];
        for &(c, name) in &constant {
            let first = value(rows[0], c);
            if let Some(&other) = rows.iter().find(|&&r| value(r, c) != first) {
                let (l1, l2) = (fd.rows.line(rows[0] as usize), fd.rows.line(other as usize));
                let reason = format!(
                    "column {name:?} differs within the rows of one record (key {}): line {l1} has {first:?}, line \
                     {l2} has {:?} ({} rows of this record rejected)",
                    key.replace('\u{1f}', " / "),
                    value(other, c),
                    rows.len()
                );
                for &r in rows {
                    let p = Problem { column: name.to_owned(), value: Some(value(r, c)), reason: reason.clone() };
                    out.rejects.push((fd.rows.line(r as usize), p));
                    excluded.insert(r as usize);
                }
                rejected.insert(key.clone());
                break;
            }
        }
    }
    let mut parents = Rows::default();
    for key in &order {
        if rejected.contains(key) {
            index.remove(key);
            continue;
        }
        let first = index[key][0] as usize;
        let row = fd.rows.row(first);
        parents
            .push(row.iter().chain(std::iter::once(key.as_str())), fd.rows.line(first))
            .map_err(|_| ImportError::refused(&fd.display, None, None, "the file is too large to group".into()))?;
        if parents.len() >= chunk {
            out.parents.push(std::mem::take(&mut parents));
        }
    }
    if parents.len() > 0 {
        out.parents.push(parents);
    }
    out.rejects.sort_by_key(|r| r.0);
    out.rejected = rejected;
    fd.key_cols = by;
    fd.index = index;
    fd.excluded = excluded;
    Ok(out)
}
