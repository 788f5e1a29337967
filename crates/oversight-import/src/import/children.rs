//! Child rows (allegations, charges): from a joined file, from a grouped file read whole, or from a grouped
//! file streamed a second time. Each must belong to an accepted record of the main table.

use super::request::{CHUNK_ROWS, READ_CHUNK, READ_CHUNK_TEXT, TableCounts};
use crate::ImportError;
use crate::engine::{Cleaner, FileData, Problem, RowCtx, TablePlan, TableSink, Val, key_of};
use crate::filter::RowFilter;
use crate::reader::{CsvSource, Rows, is_blank, shape_problem};
use oversight_store::Ingest;
use std::collections::HashMap;

/// Which rows of a grouped file belong to a record: those with a key (`by`), kept by the filters, in no
/// rejected group.
#[derive(Clone, Copy)]
pub(super) struct RecordRows<'a> {
    pub(super) by: &'a [usize],
    pub(super) filters: &'a [RowFilter],
    pub(super) cleaner: &'a Cleaner,
    pub(super) rejected: &'a std::collections::HashSet<String>,
}

/// The child rows of a grouped file read as a stream: the file is read again, chunk by chunk, and each
/// row that belongs to a record (not blank, of the right shape, kept by the filters, with a key, in no
/// rejected group) is imported as a child of its record. Returns the counts and the sha256 of the bytes
/// read (which must be those of the first pass).
pub(super) fn stream_children(
    ing: &mut Ingest<'_>,
    plan: &mut TablePlan,
    mut src: CsvSource,
    rows_of: &RecordRows<'_>,
    keys: &HashMap<String, String>,
    batch_id: i64,
) -> Result<(TableCounts, Option<String>), ImportError> {
    let RecordRows { by, filters, cleaner, rejected } = *rows_of;
    let mut counts = TableCounts { table: plan.table.name().to_owned(), ..Default::default() };
    let width = src.width;
    let mut buf = Rows::default();
    loop {
        buf.clear();
        if src.read_rows(&mut buf, READ_CHUNK, READ_CHUNK_TEXT)? == 0 {
            break;
        }
        let mut fd = FileData {
            role: "group".into(),
            display: String::new(),
            header: src.header.clone(),
            rows: std::mem::take(&mut buf),
            key_cols: by.to_vec(),
            index: HashMap::new(),
            excluded: Default::default(),
        };
        for (i, (row, _)) in fd.rows.iter().enumerate() {
            let keep = !is_blank(&row)
                && shape_problem(&row, width).is_none()
                && filters.iter().all(|f| f.keeps(&row, cleaner).unwrap_or(false))
                && {
                    let k = key_of(&row, by);
                    !k.is_empty() && !rejected.contains(&k)
                };
            if !keep {
                fd.excluded.insert(i);
            }
        }
        let c = import_children(ing, plan, &fd, 0, keys, batch_id, true)?;
        counts.read += c.read;
        counts.accepted += c.accepted;
        counts.rejected += c.rejected;
        buf = fd.rows;
    }
    Ok((counts, src.finish().0))
}

/// Child rows (allegations, charges): each must belong to an accepted main record.
pub(super) fn import_children(
    ing: &mut Ingest<'_>,
    plan: &mut TablePlan,
    fd: &FileData,
    file_no: usize,
    keys: &HashMap<String, String>,
    batch_id: i64,
    grouped: bool,
) -> Result<TableCounts, ImportError> {
    let mut sink = TableSink::new(plan.table);
    let mut counts = TableCounts { table: plan.table.name().to_owned(), ..Default::default() };
    let jslot = plan.jurisdiction_slot;
    let mut out = Vec::new();
    for (i, (row, line)) in fd.rows.iter().enumerate() {
        if fd.excluded.contains(&i) {
            continue;
        }
        counts.read += 1;
        let cx = RowCtx { row, joined: &[], files: &[] };
        let mut problems = Vec::new();
        plan.eval(&cx, &mut out, &mut problems);
        let key = fd.key_of(&row);
        match keys.get(&key) {
            Some(j) => out[jslot] = Val::Str(std::borrow::Cow::Owned(j.clone())),
            None => problems.push(Problem {
                column: fd.key_cols.iter().map(|&c| fd.header[c].clone()).collect::<Vec<_>>().join(" + "),
                value: Some(key.replace('\u{1f}', " / ")),
                reason: if grouped {
                    "the record this row belongs to was rejected (see its first line)".into()
                } else {
                    "no accepted record of the main file has this key".into()
                },
            }),
        }
        if problems.is_empty() {
            counts.accepted += 1;
            sink.push(batch_id, line as i64, &out);
            if sink.len() >= CHUNK_ROWS {
                ing.append(plan.table, sink.take())?;
            }
        } else {
            counts.rejected += 1;
            for p in problems {
                ing.reject(file_no, line as i64, Some(&p.column), p.value.as_deref(), &p.reason)?;
            }
        }
    }
    if sink.len() > 0 {
        ing.append(plan.table, sink.take())?;
    }
    Ok(counts)
}
