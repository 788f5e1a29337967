//! After the main rows are in: the bytes read checked against the bytes hashed, the input's identity
//! settled, the rejects written, the record keys checked, the child rows imported, the jurisdictions
//! created, and the batch committed (or, over the reject limit with `--strict`, nothing).

use super::children::{RecordRows, import_children, stream_children};
use super::input::{GroupCounts, identity, same_content};
use super::keys::check_keys;
use super::pipeline::{MapStats, Mapped};
use super::prepare::{ChildPlan, Inputs};
use super::request::{ImportOutcome, ImportReport, Progress, Run, TableCounts, already_imported};
use crate::ImportError;
use crate::engine::Problem;
use crate::profile::Profile;
use crate::reader::CsvSource;
use oversight_store::{BatchDetails, Ingest, IngestSummary, Jurisdiction, NewBatch};
use std::collections::BTreeMap;
use std::sync::mpsc;

/// Finishes an import whose main rows are in the batch.
pub(super) fn finish(
    r: &Run<'_>,
    mut ing: Ingest<'_>,
    mut batch: NewBatch,
    mut inputs: Inputs,
    mapped: Mapped,
    children: Vec<ChildPlan>,
) -> Result<ImportOutcome, ImportError> {
    let Mapped { read, mut stats, rejects } = mapped;
    settle_counts(&mut inputs, read, &mut stats);
    verify_bytes(r, &mut batch, &inputs)?;
    // The identity check of a streamed input: an earlier batch may hold it after all.
    batch.sha256 = identity(&batch.files);
    let mut replaces = None;
    if let Some(b) = r.store.find_committed_batch(&batch.dataset, &batch.profile, &batch.sha256)? {
        if !r.req.replace {
            ing.rollback();
            return already_imported(r.profile(), r.main_file(), b);
        }
        replaces = Some(b.id);
    }
    ing.set_identity(batch.files.clone(), batch.sha256.clone(), replaces);
    refuse_no_rows(r, &inputs, &stats)?;
    write_rejects(&mut ing, rejects, &inputs.early_rejects)?;
    // Rows rejected before mapping count with the child rows where the file's rows are children, else with
    // the batch's rows.
    let early = inputs.early_rejects.len() as i64;
    let has_children = !r.profile().toml.children.is_empty();
    if inputs.grouped && !has_children {
        stats.read += early;
        stats.rejected += early;
    }
    let mut warnings = Vec::new();
    let main_table = r.profile().dataset.main_table();
    let (superseded, key_rejects) = check_keys(&mut ing, r.profile(), main_table, &mut stats, &mut warnings)?;
    stats.rejected += key_rejects;
    stats.accepted -= key_rejects;
    let main_counts = TableCounts {
        table: main_table.name().to_owned(),
        read: stats.read,
        accepted: stats.accepted,
        rejected: stats.rejected,
    };
    let child_early = if inputs.grouped && has_children { early } else { 0 };
    let mut tables = vec![main_counts];
    tables.extend(child_tables(r, &mut ing, &inputs, &mut stats, children, child_early)?);
    if !inputs.grouped {
        stats.read += early;
        stats.rejected += early;
    }
    let created = ensure_jurisdictions(&ing, r.profile(), &stats.jurisdictions)?;
    let finished = Finished { stats, superseded, tables, warnings, created, bytes_total: batch.bytes() };
    commit(r, ing, &inputs, finished)
}

/// What reading found, in one place: a grouped file streamed counted its groups while it was read.
fn settle_counts(inputs: &mut Inputs, read: super::input::ReadInfo, stats: &mut MapStats) {
    if inputs.stream_by.is_some() {
        let mut main_info = read;
        let groups = std::mem::take(&mut main_info.groups);
        inputs.grouped_counts = (groups.rows + groups.rejects.len() as i64, groups.filtered);
        stats.filtered = groups.filtered;
        inputs.early_rejects.extend(groups.rejects.into_iter().map(|(l, p)| (0, l, p)));
        main_info.groups = GroupCounts { rejected_keys: groups.rejected_keys, ..Default::default() };
        inputs.main_info = main_info;
    } else if inputs.grouped {
        stats.filtered = inputs.grouped_counts.1;
    } else {
        inputs.main_info = read;
    }
}

/// The bytes imported are the bytes hashed, no file moved while it was read, and no two roles hold the
/// same bytes. Fills in the hashes taken while reading.
fn verify_bytes(r: &Run<'_>, batch: &mut NewBatch, inputs: &Inputs) -> Result<(), ImportError> {
    for (k, info) in std::iter::once(&inputs.main_info).chain(&inputs.joined_info).enumerate() {
        let k = if inputs.grouped { 0 } else { k };
        if let Some(h) = &info.sha256 {
            if !batch.files[k].sha256.is_empty() && batch.files[k].sha256 != *h {
                return Err(r.snapshots[k].changed());
            }
            batch.files[k].sha256 = h.clone();
        }
        r.snapshots[k].check(info.bytes)?;
    }
    for k in 0..batch.files.len() {
        if let Some(j) = (0..k).find(|&j| batch.files[j].sha256 == batch.files[k].sha256) {
            let role = |i: usize| (format!("{} file", r.roles[i].0), r.roles[i].1.clone());
            return Err(same_content(&role(j), &role(k)));
        }
    }
    Ok(())
}

/// Refuses a file with a header and no data rows.
fn refuse_no_rows(r: &Run<'_>, inputs: &Inputs, stats: &MapStats) -> Result<(), ImportError> {
    let early = if inputs.grouped { 0 } else { inputs.early_rejects.len() as i64 };
    if stats.read + stats.filtered + early > 0 || inputs.grouped_counts.0 > 0 {
        return Ok(());
    }
    let info = &inputs.main_info;
    Err(ImportError::refused(
        &r.main_file().name,
        None,
        None,
        format!(
            "the file has a header but no data rows ({} lines read, {} of them blank)",
            info.lines,
            info.blank as i64 + stats.blank
        ),
    ))
}

/// Writes the rows the workers rejected, then those rejected before mapping: a joined file's rows of the
/// wrong shape; a grouped file's rows of the wrong shape, without a key or in a group that is not
/// constant. (In a grouped file each is a child row.)
fn write_rejects(
    ing: &mut Ingest<'_>,
    rejects: mpsc::Receiver<Vec<(u64, Problem)>>,
    early: &[(usize, u64, Problem)],
) -> Result<(), ImportError> {
    for rejects in rejects.try_iter() {
        for (line, p) in rejects {
            ing.reject(0, line as i64, Some(&p.column), p.value.as_deref(), &p.reason)?;
        }
    }
    for (file, line, p) in early {
        ing.reject(*file, *line as i64, Some(&p.column), p.value.as_deref(), &p.reason)?;
    }
    Ok(())
}

/// Imports the child tables; `early` rows rejected before mapping count with the first.
fn child_tables(
    r: &Run<'_>,
    ing: &mut Ingest<'_>,
    inputs: &Inputs,
    stats: &mut MapStats,
    children: Vec<ChildPlan>,
    mut early: i64,
) -> Result<Vec<TableCounts>, ImportError> {
    let batch_id = ing.id();
    let mut tables = Vec::new();
    for ChildPlan { mut plan, file, file_no } in children {
        let mut counts = if let Some(by) = &inputs.stream_by {
            // The children of a streamed file: the file again, chunk by chunk, and the same bytes.
            let f = r.main_file();
            let src = CsvSource::open(&f.path, &f.name, &r.profile().csv, inputs.counter.clone(), true)?;
            let rows_of = RecordRows {
                by,
                filters: &inputs.group_filters,
                cleaner: &inputs.cleaner,
                rejected: &inputs.main_info.groups.rejected_keys,
            };
            let (c, sha) = stream_children(ing, &mut plan, src, &rows_of, &stats.keys, batch_id)?;
            if sha != inputs.main_info.sha256 {
                return Err(r.snapshots[0].changed());
            }
            c
        } else {
            import_children(ing, &mut plan, &inputs.joined[file], file_no, &stats.keys, batch_id, inputs.grouped)?
        };
        counts.read += early;
        counts.rejected += early;
        early = 0;
        stats.read += counts.read;
        stats.accepted += counts.accepted;
        stats.rejected += counts.rejected;
        tables.push(counts);
    }
    Ok(tables)
}

/// What an import found, ready to commit.
struct Finished {
    stats: MapStats,
    superseded: i64,
    tables: Vec<TableCounts>,
    warnings: Vec<String>,
    created: Vec<String>,
    /// The input's size, all files.
    bytes_total: u64,
}

/// Commits the batch (or, over the reject limit with `--strict`, rolls it back) and reports.
fn commit(r: &Run<'_>, ing: Ingest<'_>, inputs: &Inputs, f: Finished) -> Result<ImportOutcome, ImportError> {
    let (stats, req) = (&f.stats, r.req);
    let details = BatchDetails {
        lines_read: inputs.main_info.lines as i64,
        blank_lines: inputs.main_info.blank as i64 + stats.blank,
        rows_filtered: stats.filtered,
        records_superseded: f.superseded,
        rules: stats.rules.clone(),
    };
    let summary = IngestSummary {
        rows_read: stats.read,
        rows_accepted: stats.accepted,
        rows_rejected: stats.rejected,
        date_range: stats.date_range,
        details,
    };
    let reject_share = if stats.read > 0 { stats.rejected as f64 / stats.read as f64 } else { 0.0 };
    let over_reject_share = reject_share > req.max_reject_share;
    if over_reject_share && req.strict {
        ing.rollback();
        return Err(ImportError::TooManyRejects {
            file: r.main_file().name.clone(),
            message: format!(
                "{} of {} rows ({:.1}%) were rejected, above the limit of {:.1}%: nothing landed (--strict); see the \
                 rejects with --rejects FILE or `oversight profiles check`",
                stats.rejected,
                stats.read,
                100.0 * reject_share,
                100.0 * req.max_reject_share
            ),
        });
    }
    let t_commit = std::time::Instant::now();
    let batch = ing.commit(summary)?;
    tracing::debug!(seconds = t_commit.elapsed().as_secs_f64(), "committed");
    let bytes_total = f.bytes_total;
    (r.progress)(Progress { bytes_read: bytes_total, bytes_total, rows_read: stats.read as u64 });
    let top_reasons = r.store.top_reject_reasons(batch.id, 5)?;
    Ok(ImportOutcome::Imported(ImportReport {
        batch,
        tables: f.tables,
        top_reasons,
        jurisdictions_created: f.created,
        warnings: f.warnings,
        reject_share,
        over_reject_share,
    }))
}

/// Creates the jurisdictions the batch's records refer to, with what the profile and rows say of them.
fn ensure_jurisdictions(
    ing: &Ingest<'_>,
    profile: &Profile,
    seen: &BTreeMap<String, Vec<(&'static str, String)>>,
) -> Result<Vec<String>, ImportError> {
    let d = &profile.toml.jurisdiction;
    let mut created = Vec::new();
    for (id, attrs) in seen {
        let get = |k: &str| attrs.iter().find(|a| a.0 == k).map(|a| a.1.clone());
        let is_default = d.id.as_deref() == Some(id.as_str());
        let j = Jurisdiction {
            id: id.clone(),
            name: get("name").or_else(|| d.name.clone().filter(|_| is_default)).unwrap_or_else(|| id.clone()),
            kind: get("kind").or_else(|| d.kind.clone()).unwrap_or_else(|| "other".into()),
            parent_id: get("parent")
                .map(|p| oversight_core::JurisdictionId::slug(&p).map(|s| s.to_string()).unwrap_or(p))
                .or_else(|| d.parent.clone()),
            state: get("state").or_else(|| d.state.clone()),
            fips: get("fips").or_else(|| d.fips.clone().filter(|_| is_default)),
            lat: get("lat").and_then(|v| v.parse().ok()).or(d.lat.filter(|_| is_default)),
            lng: get("lng").and_then(|v| v.parse().ok()).or(d.lng.filter(|_| is_default)),
            timezone: get("timezone").or_else(|| d.timezone.clone()),
            population_benchmark_id: None,
        };
        if ing.ensure_jurisdiction(&j)? {
            created.push(id.clone());
        } else {
            ing.fill_jurisdiction(&j)?;
        }
    }
    Ok(created)
}
