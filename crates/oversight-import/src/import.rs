//! One import: files hashed, checked against earlier batches, read, mapped, validated and written as one
//! transaction. Reading and mapping run on a second thread while this one appends to DuckDB.

use crate::ImportError;
use crate::engine::{AttrPlan, FileData, PlanCtx, PlanError, Problem, RowCtx, TablePlan, TableSink, Val};
use crate::hash::{combined_sha256, sha256_file};
use crate::profile::Profile;
use crate::reader::CsvSource;
use crate::values::glob_match;
use chrono::NaiveDate;
use chrono_tz::Tz;
use oversight_core::Table;
use oversight_store::arrow::array::{Array, StringArray};
use oversight_store::arrow::compute::cast;
use oversight_store::arrow::datatypes::DataType;
use oversight_store::arrow::record_batch::RecordBatch;
use oversight_store::{BatchFile, BatchRecord, BatchStatus, Ingest, IngestSummary, Jurisdiction, NewBatch, Store};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

/// Rows per record batch handed to DuckDB.
const CHUNK_ROWS: usize = 65_536;

/// A file to import, with the name it is known by (an upload's original name, say).
#[derive(Debug, Clone)]
pub struct InputFile {
    pub path: PathBuf,
    pub name: String,
}

impl InputFile {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let name =
            path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| path.display().to_string());
        Self { path, name }
    }
}

/// What to import.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    pub profile: Profile,
    /// The files of one input (one per file role of the profile).
    pub files: Vec<InputFile>,
    /// Jurisdiction of every record, overriding the profile.
    pub jurisdiction: Option<String>,
    /// Supersede the batch that already holds this input.
    pub replace: bool,
    /// `cli`, `api`, `schedule:<name>`.
    pub origin: String,
}

/// Progress of a running import.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub bytes_read: u64,
    pub bytes_total: u64,
    pub rows_read: u64,
}

/// Rows per output table.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct TableCounts {
    pub table: String,
    pub read: i64,
    pub accepted: i64,
    pub rejected: i64,
}

/// A finished import.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ImportReport {
    pub batch: BatchRecord,
    pub tables: Vec<TableCounts>,
    /// Most frequent reject reasons with their row counts.
    pub top_reasons: Vec<(String, i64)>,
    pub jurisdictions_created: Vec<String>,
}

/// The result of an import request.
#[derive(Debug, Clone)]
pub enum ImportOutcome {
    Imported(ImportReport),
    /// The same input with the same profile is already in this batch: nothing was done.
    AlreadyImported(BatchRecord),
}

/// Imports one input (all files of one batch).
pub fn import(
    store: &Store,
    req: &ImportRequest,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<ImportOutcome, ImportError> {
    let profile = &req.profile;
    if req.files.is_empty() {
        return Err(ImportError::Usage("no file to import".into()));
    }
    for f in &req.files {
        if !f.path.is_file() {
            return Err(ImportError::io(&f.name, std::io::Error::new(std::io::ErrorKind::NotFound, "no such file")));
        }
    }
    if let Some(j) = &req.jurisdiction {
        oversight_core::JurisdictionId::new(j.as_str()).map_err(|e| ImportError::Usage(e.to_string()))?;
    }
    let roles = assign_roles(store, profile, &req.files)?;
    let mut files = Vec::new();
    for (role, f) in &roles {
        let (sha256, bytes) = sha256_file(&f.path).map_err(|e| ImportError::io(&f.name, e))?;
        files.push(BatchFile { role: role.clone(), name: f.name.clone(), sha256, bytes });
    }
    let sha256 = combined_sha256(&files.iter().map(|f| (f.role.clone(), f.sha256.clone())).collect::<Vec<_>>());
    let jurisdiction_id = req.jurisdiction.clone().or_else(|| profile.toml.jurisdiction.id.clone());
    let batch = NewBatch {
        dataset: profile.dataset.as_str().to_owned(),
        profile: profile.name.clone(),
        profile_sha256: profile.sha256.clone(),
        files,
        sha256,
        jurisdiction_id: jurisdiction_id.clone(),
        started_at: chrono::Utc::now().naive_utc(),
        origin: req.origin.clone(),
    };
    let existing = store.find_committed_batch(&batch.dataset, &batch.profile, &batch.sha256)?;
    let replaces = match (existing, req.replace) {
        (Some(b), false) => return Ok(ImportOutcome::AlreadyImported(b)),
        (Some(b), true) => Some(b.id),
        (None, _) => None,
    };
    match run(store, req, &roles, batch.clone(), replaces, jurisdiction_id.as_deref(), progress) {
        Ok(report) => Ok(ImportOutcome::Imported(report)),
        Err(e) => {
            let status = if e.is_refusal() { BatchStatus::Refused } else { BatchStatus::Failed };
            let message = if e.is_refusal() { e.to_string() } else { "internal error (see the log)".to_owned() };
            if let Err(e2) = store.record_unlanded_batch(&batch, status, 0, &message) {
                tracing::warn!(error = %e2, "could not record the refused batch");
            }
            Err(e)
        }
    }
}

fn is_parquet(profile: &Profile, path: &Path) -> bool {
    match profile.toml.source.format.as_deref() {
        Some(f) => f == "parquet",
        None => path.extension().is_some_and(|e| e.eq_ignore_ascii_case("parquet") || e.eq_ignore_ascii_case("parq")),
    }
}

/// Matches the input files to the profile's file roles, by name pattern and then by columns.
fn assign_roles(
    store: &Store,
    profile: &Profile,
    files: &[InputFile],
) -> Result<Vec<(String, InputFile)>, ImportError> {
    let specs = &profile.toml.files;
    if specs.is_empty() {
        if files.len() != 1 {
            return Err(ImportError::Usage(format!(
                "profile {} reads one file per batch; {} were given together (import them one by one)",
                profile.name,
                files.len()
            )));
        }
        return Ok(vec![("main".to_owned(), files[0].clone())]);
    }
    if files.len() != specs.len() {
        return Err(ImportError::Usage(format!(
            "profile {} reads {} files together ({}); {} were given",
            profile.name,
            specs.len(),
            specs.iter().map(|f| f.role.as_str()).collect::<Vec<_>>().join(", "),
            files.len()
        )));
    }
    let mut candidates: Vec<Vec<usize>> = files
        .iter()
        .map(|f| {
            let name = f.name.to_lowercase();
            specs
                .iter()
                .enumerate()
                .filter(|(_, s)| s.pattern.as_ref().is_none_or(|p| glob_match(&p.to_lowercase(), &name)))
                .map(|(i, _)| i)
                .collect()
        })
        .collect();
    // Where names leave a choice, look at the columns: a joined file must have its key column.
    for (fi, c) in candidates.iter_mut().enumerate() {
        if c.len() > 1 {
            let header = read_header(store, profile, &files[fi]).unwrap_or_default();
            c.retain(|&ri| specs[ri].key.as_ref().is_none_or(|k| header.contains(k)));
        }
    }
    let mut assigned: Vec<Option<usize>> = vec![None; files.len()];
    loop {
        let mut progress = false;
        for fi in 0..files.len() {
            if assigned[fi].is_some() {
                continue;
            }
            let taken: Vec<usize> = assigned.iter().flatten().copied().collect();
            let free: Vec<usize> = candidates[fi].iter().copied().filter(|r| !taken.contains(r)).collect();
            if free.len() == 1 {
                assigned[fi] = Some(free[0]);
                progress = true;
            }
        }
        if !progress {
            break;
        }
    }
    let describe = || {
        specs
            .iter()
            .map(|s| format!("{} ({})", s.role, s.pattern.as_deref().unwrap_or("any name")))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut out: Vec<(String, InputFile)> = Vec::new();
    for (ri, spec) in specs.iter().enumerate() {
        let fi = assigned.iter().position(|a| *a == Some(ri)).ok_or_else(|| {
            let unplaced: Vec<&str> = files
                .iter()
                .enumerate()
                .filter(|(i, _)| assigned[*i].is_none())
                .map(|(_, f)| f.name.as_str())
                .collect();
            ImportError::Usage(format!(
                "cannot tell which file is the {} file of profile {} (files: {}; roles: {})",
                spec.role,
                profile.name,
                unplaced.join(", "),
                describe()
            ))
        })?;
        out.push((spec.role.clone(), files[fi].clone()));
    }
    Ok(out)
}

fn read_header(store: &Store, profile: &Profile, f: &InputFile) -> Result<Vec<String>, ImportError> {
    if is_parquet(profile, &f.path) {
        return Ok(store.parquet_columns(&f.path)?);
    }
    Ok(CsvSource::open(&f.path, &f.name, &profile.toml.source, Arc::new(AtomicU64::new(0)))?.header)
}

/// Loads a joined file whole, indexed by its key.
fn load_joined(
    store: &Store,
    profile: &Profile,
    role: &str,
    f: &InputFile,
    key: &str,
    counter: Arc<AtomicU64>,
) -> Result<FileData, ImportError> {
    let mut rows = Vec::new();
    let mut lines = Vec::new();
    let header = if is_parquet(profile, &f.path) {
        let mut header = Vec::new();
        let mut n = 0u64;
        store.scan_parquet(&f.path, |b: RecordBatch| -> Result<(), ImportError> {
            let (h, cols) = text_columns(&b)?;
            header = h;
            for r in 0..b.num_rows() {
                n += 1;
                rows.push(record_of(&cols, r));
                lines.push(n);
            }
            Ok(())
        })?;
        header
    } else {
        let mut src = CsvSource::open(&f.path, &f.name, &profile.toml.source, counter)?;
        let mut rec = csv::StringRecord::new();
        while let Some(line) = src.next_record(&mut rec)? {
            rows.push(rec.clone());
            lines.push(line);
        }
        src.header
    };
    let key_idx = header.iter().position(|h| h == key).ok_or_else(|| {
        ImportError::refused(&f.name, None, Some(key), format!("the {role} file has no key column {key:?}"))
    })?;
    let mut index: HashMap<String, Vec<u32>> = HashMap::new();
    for (i, r) in rows.iter().enumerate() {
        if let Some(k) = r.get(key_idx).map(str::trim).filter(|k| !k.is_empty()) {
            index.entry(k.to_owned()).or_default().push(i as u32);
        }
    }
    Ok(FileData { role: role.to_owned(), display: f.name.clone(), header, rows, lines, key_idx, index })
}

/// Every column of an Arrow batch as text (typed values become their ISO text).
fn text_columns(b: &RecordBatch) -> Result<(Vec<String>, Vec<StringArray>), ImportError> {
    let header = b.schema().fields().iter().map(|f| f.name().clone()).collect();
    let mut cols = Vec::new();
    for c in b.columns() {
        let s = cast(c, &DataType::Utf8)
            .map_err(|e| ImportError::Usage(format!("cannot read a Parquet column as text: {e}")))?;
        let s = s
            .as_any()
            .downcast_ref::<StringArray>()
            .cloned()
            .ok_or_else(|| ImportError::Usage("cast failed".into()))?;
        cols.push(s);
    }
    Ok((header, cols))
}

fn record_of(cols: &[StringArray], r: usize) -> csv::StringRecord {
    let mut rec = csv::StringRecord::new();
    for c in cols {
        rec.push_field(if c.is_null(r) { "" } else { c.value(r) });
    }
    rec
}

/// Messages from the mapping thread to the writer.
enum Msg {
    Rows(Table, RecordBatch),
    Rejects(Vec<(String, u64, Problem)>),
    Progress(u64),
}

/// What the mapping thread learned.
#[derive(Default)]
struct MapStats {
    read: i64,
    accepted: i64,
    rejected: i64,
    date_range: Option<(NaiveDate, NaiveDate)>,
    /// Accepted main keys -> their jurisdiction (for child rows).
    keys: HashMap<String, String>,
    /// Jurisdictions seen, with attributes from their first row.
    jurisdictions: BTreeMap<String, Vec<(&'static str, String)>>,
}

fn widen(range: &mut Option<(NaiveDate, NaiveDate)>, d: NaiveDate) {
    *range = Some(match *range {
        None => (d, d),
        Some((a, b)) => (a.min(d), b.max(d)),
    });
}

/// Maps the rows of the main file.
struct MainMapper<'a> {
    plans: Vec<TablePlan>,
    attrs: AttrPlan,
    sink: TableSink,
    files: Vec<&'a FileData>,
    /// For each joined file, the main-file column it joins on.
    join_cols: Vec<usize>,
    key_col: Option<usize>,
    batch_id: i64,
    display: String,
    tx: mpsc::SyncSender<Msg>,
    stats: MapStats,
    pending_rejects: Vec<(String, u64, Problem)>,
    width: usize,
}

impl<'a> MainMapper<'a> {
    fn row(&mut self, rec: &csv::StringRecord, line: u64) -> Result<(), ImportError> {
        self.stats.read += 1;
        let empty: &[u32] = &[];
        let joined: Vec<&[u32]> = self
            .files
            .iter()
            .zip(&self.join_cols)
            .map(|(f, &c)| {
                rec.get(c).map(str::trim).and_then(|k| f.index.get(k)).map(|v| v.as_slice()).unwrap_or(empty)
            })
            .collect();
        let cx = RowCtx { row: rec, joined: &joined, files: &self.files };
        let mut problems = Vec::new();
        let mut outs: Vec<Vec<Val<'_>>> = (0..self.plans.len()).map(|_| Vec::with_capacity(self.width)).collect();
        for (plan, out) in self.plans.iter_mut().zip(outs.iter_mut()) {
            plan.eval(&cx, out, &mut problems);
        }
        if !problems.is_empty() {
            self.stats.rejected += 1;
            for p in problems {
                self.pending_rejects.push((self.display.clone(), line, p));
            }
            if self.pending_rejects.len() >= 10_000 {
                self.flush_rejects()?;
            }
            return Ok(());
        }
        self.stats.accepted += 1;
        let plan0 = &self.plans[0];
        let jid = outs[0][plan0.jurisdiction_slot].as_str().unwrap_or_default().to_owned();
        if !self.stats.jurisdictions.contains_key(&jid) {
            let attrs = self.attrs.eval(&cx);
            self.stats.jurisdictions.insert(jid.clone(), attrs);
        }
        if let Some(kc) = self.key_col
            && let Some(k) = rec.get(kc).map(str::trim).filter(|k| !k.is_empty())
        {
            self.stats.keys.insert(k.to_owned(), jid);
        }
        for (plan, out) in self.plans.iter().zip(&outs) {
            if let Some(d) = plan.date_slot.and_then(|s| out[s].as_date()) {
                widen(&mut self.stats.date_range, d);
            }
            self.sink.push(self.batch_id, line as i64, out);
        }
        if self.sink.len() >= CHUNK_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn flush_rejects(&mut self) -> Result<(), ImportError> {
        if !self.pending_rejects.is_empty() {
            let r = std::mem::take(&mut self.pending_rejects);
            self.tx.send(Msg::Rejects(r)).map_err(|_| ImportError::Usage("import cancelled".into()))?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), ImportError> {
        self.flush_rejects()?;
        if self.sink.len() > 0 {
            let b = self.sink.take();
            self.tx.send(Msg::Rows(self.sink.table, b)).map_err(|_| ImportError::Usage("import cancelled".into()))?;
        }
        self.tx
            .send(Msg::Progress(self.stats.read as u64))
            .map_err(|_| ImportError::Usage("import cancelled".into()))?;
        Ok(())
    }
}

fn plan_error(display: &str, e: PlanError) -> ImportError {
    ImportError::refused(display, None, e.column.as_deref(), e.message)
}

#[allow(clippy::too_many_arguments)]
fn run(
    store: &Store,
    req: &ImportRequest,
    roles: &[(String, InputFile)],
    batch: NewBatch,
    replaces: Option<i64>,
    jurisdiction_id: Option<&str>,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<ImportReport, ImportError> {
    let profile = &req.profile;
    let counter = Arc::new(AtomicU64::new(0));
    let bytes_total = batch.bytes();
    let hash_key = store.hash_key()?;
    // Local time zone: the jurisdiction's own, else the profile's.
    let local_tz: Option<Tz> = {
        let from_db = match jurisdiction_id {
            Some(j) => store.jurisdiction(j)?.and_then(|j| j.timezone),
            None => None,
        };
        from_db.or_else(|| profile.toml.jurisdiction.timezone.clone()).and_then(|z| z.parse().ok())
    };
    let (main_role, main_file) = &roles[0];
    let main_parquet = is_parquet(profile, &main_file.path);
    // Joined files, loaded whole.
    let mut joined_data: Vec<FileData> = Vec::new();
    for (spec, (role, f)) in profile.toml.files.iter().zip(roles).skip(1) {
        let key = spec.key.as_deref().unwrap_or_default();
        joined_data.push(load_joined(store, profile, role, f, key, counter.clone())?);
    }
    let mut csv_main = if main_parquet {
        None
    } else {
        Some(CsvSource::open(&main_file.path, &main_file.name, &profile.toml.source, counter.clone())?)
    };
    let main_header = match &csv_main {
        Some(s) => s.header.clone(),
        None => store.parquet_columns(&main_file.path)?,
    };
    let joined_headers: Vec<(&str, &[String])> =
        joined_data.iter().map(|f| (f.role.as_str(), f.header.as_slice())).collect();
    let cx = PlanCtx {
        profile,
        header: &main_header,
        role: main_role,
        joined: joined_headers.clone(),
        cli_jurisdiction: req.jurisdiction.as_deref(),
        local_tz,
        hash_key: &hash_key,
        typed_source: main_parquet,
    };
    let main_table = profile.dataset.main_table();
    let plans = if profile.toml.expand.is_empty() {
        vec![TablePlan::compile(&cx, main_table, &[&profile.toml.fields]).map_err(|e| plan_error(&main_file.name, e))?]
    } else {
        profile
            .toml
            .expand
            .iter()
            .map(|e| {
                TablePlan::compile(&cx, main_table, &[&profile.toml.fields, e])
                    .map_err(|e| plan_error(&main_file.name, e))
            })
            .collect::<Result<Vec<_>, _>>()?
    };
    let attrs = AttrPlan::compile(&cx).map_err(|e| plan_error(&main_file.name, e))?;
    let join_cols: Vec<usize> = profile
        .toml
        .files
        .iter()
        .skip(1)
        .map(|s| {
            let on = s.on.as_deref().or(s.key.as_deref()).unwrap_or_default();
            main_header.iter().position(|h| h == on).ok_or_else(|| {
                ImportError::refused(
                    &main_file.name,
                    None,
                    Some(on),
                    format!("required column {on:?} (the join key) is missing"),
                )
            })
        })
        .collect::<Result<_, _>>()?;
    // The main key children link to.
    let key_col = if profile.toml.children.is_empty() { None } else { join_cols.first().copied() };
    // Child plans, compiled against their own files.
    let mut child_plans = Vec::new();
    for (name, child) in &profile.toml.children {
        let table = *Table::ALL
            .iter()
            .find(|t| t.name() == name)
            .ok_or_else(|| ImportError::Usage(format!("no table {name}")))?;
        let fi = joined_data
            .iter()
            .position(|f| f.role == child.file)
            .ok_or_else(|| ImportError::Usage(format!("no file {}", child.file)))?;
        let fd = &joined_data[fi];
        let ccx = PlanCtx {
            profile,
            header: &fd.header,
            role: &fd.role,
            joined: Vec::new(),
            cli_jurisdiction: None,
            local_tz,
            hash_key: &hash_key,
            typed_source: is_parquet(profile, &roles[fi + 1].1.path),
        };
        // Children take their jurisdiction from their parent row (set once the row is matched).
        let mut fields = child.fields.clone();
        let placeholder =
            crate::profile::FieldSpecFull { value: Some(toml::Value::String("pending".into())), ..Default::default() };
        fields.insert("jurisdiction_id".into(), crate::profile::FieldSpec::Full(Box::new(placeholder)));
        let plan = TablePlan::compile(&ccx, table, &[&fields]).map_err(|e| plan_error(&fd.display, e))?;
        child_plans.push((plan, fi));
    }

    let mut ing = store.begin_ingest(batch, replaces)?;
    let batch_id = ing.id();
    let (tx, rx) = mpsc::sync_channel::<Msg>(4);
    let files_ref: Vec<&FileData> = joined_data.iter().collect();
    let reader_store = if main_parquet { Some(store.try_clone()?) } else { None };
    let main_display = main_file.name.clone();
    let main_path = main_file.path.clone();

    let (stats, write_result) = std::thread::scope(|s| {
        let mapper = s.spawn(move || -> Result<MapStats, ImportError> {
            let width = plans[0].width();
            let mut m = MainMapper {
                plans,
                attrs,
                sink: TableSink::new(main_table),
                files: files_ref,
                join_cols,
                key_col,
                batch_id,
                display: main_display,
                tx,
                stats: MapStats::default(),
                pending_rejects: Vec::new(),
                width,
            };
            if let Some(src) = csv_main.as_mut() {
                let mut rec = csv::StringRecord::new();
                while let Some(line) = src.next_record(&mut rec)? {
                    m.row(&rec, line)?;
                }
            } else if let Some(st) = reader_store {
                let mut n = 0u64;
                st.scan_parquet(&main_path, |b: RecordBatch| -> Result<(), ImportError> {
                    let (_, cols) = text_columns(&b)?;
                    for r in 0..b.num_rows() {
                        n += 1;
                        m.row(&record_of(&cols, r), n)?;
                    }
                    Ok(())
                })?;
            }
            m.flush()?;
            Ok(m.stats)
        });
        let write_result = write_loop(&mut ing, &rx, &counter, bytes_total, progress);
        drop(rx);
        let stats = mapper.join().unwrap_or_else(|_| Err(ImportError::Usage("the mapping thread panicked".into())));
        (stats, write_result)
    });
    write_result?;
    let mut stats = stats?;
    let main_counts = TableCounts {
        table: main_table.name().to_owned(),
        read: stats.read,
        accepted: stats.accepted,
        rejected: stats.rejected,
    };
    let mut tables = vec![main_counts];
    for (mut plan, fi) in child_plans {
        let counts = import_children(&mut ing, &mut plan, &joined_data[fi], &stats.keys, batch_id)?;
        stats.read += counts.read;
        stats.accepted += counts.accepted;
        stats.rejected += counts.rejected;
        tables.push(counts);
    }
    let created = ensure_jurisdictions(&ing, profile, &stats.jurisdictions)?;
    let summary = IngestSummary {
        rows_read: stats.read,
        rows_accepted: stats.accepted,
        rows_rejected: stats.rejected,
        date_range: stats.date_range,
    };
    let batch = ing.commit(summary)?;
    progress(Progress { bytes_read: bytes_total, bytes_total, rows_read: stats.read as u64 });
    let top_reasons = store.top_reject_reasons(batch.id, 5)?;
    Ok(ImportReport { batch, tables, top_reasons, jurisdictions_created: created })
}

fn write_loop(
    ing: &mut Ingest<'_>,
    rx: &mpsc::Receiver<Msg>,
    counter: &AtomicU64,
    bytes_total: u64,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<(), ImportError> {
    for msg in rx.iter() {
        match msg {
            Msg::Rows(table, b) => ing.append(table, b)?,
            Msg::Rejects(r) => {
                for (file, line, p) in r {
                    ing.reject(&file, line as i64, Some(&p.column), p.value.as_deref(), &p.reason)?;
                }
            }
            Msg::Progress(rows) => {
                progress(Progress { bytes_read: counter.load(Ordering::Relaxed), bytes_total, rows_read: rows })
            }
        }
    }
    Ok(())
}

/// Child rows (allegations): each must belong to an accepted main record.
fn import_children(
    ing: &mut Ingest<'_>,
    plan: &mut TablePlan,
    fd: &FileData,
    keys: &HashMap<String, String>,
    batch_id: i64,
) -> Result<TableCounts, ImportError> {
    let mut sink = TableSink::new(plan.table);
    let mut counts = TableCounts { table: plan.table.name().to_owned(), ..Default::default() };
    let jslot = plan.jurisdiction_slot;
    let mut out = Vec::new();
    for (row, &line) in fd.rows.iter().zip(&fd.lines) {
        counts.read += 1;
        let cx = RowCtx { row, joined: &[], files: &[] };
        let mut problems = Vec::new();
        plan.eval(&cx, &mut out, &mut problems);
        let key = row.get(fd.key_idx).map(str::trim).unwrap_or_default();
        match keys.get(key) {
            Some(j) => out[jslot] = Val::Str(std::borrow::Cow::Owned(j.clone())),
            None => problems.push(Problem {
                column: fd.header[fd.key_idx].clone(),
                value: Some(key.to_owned()),
                reason: "no accepted record of the main file has this key".into(),
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
                ing.reject(&fd.display, line as i64, Some(&p.column), p.value.as_deref(), &p.reason)?;
            }
        }
    }
    if sink.len() > 0 {
        ing.append(plan.table, sink.take())?;
    }
    Ok(counts)
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
