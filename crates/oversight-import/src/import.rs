//! One import: files hashed, checked against earlier batches, read, mapped, validated and written as one
//! transaction. Reading and mapping run on a second thread while this one appends to DuckDB.

use crate::ImportError;
use crate::engine::{AttrPlan, FileData, PlanCtx, PlanError, Problem, RowCtx, TablePlan, TableSink, Val};
use crate::hash::{combined_sha256, sha256_file};
use crate::profile::Profile;
use crate::reader::{CsvSource, Row, Rows};
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
const CHUNK_ROWS: usize = 8_192;

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
    let dataset = profile.dataset.as_str().to_owned();
    let mut files: Vec<BatchFile> = Vec::new();
    for (role, f) in &roles {
        let bytes = std::fs::metadata(&f.path).map_err(|e| ImportError::io(&f.name, e))?.len();
        files.push(BatchFile { role: role.clone(), name: f.name.clone(), sha256: String::new(), bytes });
    }
    // The input's identity is its sha256. A CSV main file is hashed while it is read (one pass over the
    // bytes); when an earlier batch of this profile has the same size the input may be a re-run, so it is
    // hashed first and a re-run costs one pass and nothing more.
    let total: u64 = files.iter().map(|f| f.bytes).sum();
    let maybe_rerun = store.committed_batch_with_size(&dataset, &profile.name, total as i64)?;
    let stream_main = !maybe_rerun && !is_parquet(profile, &roles[0].1.path);
    let t_hash = std::time::Instant::now();
    for (k, (_, f)) in roles.iter().enumerate() {
        if k == 0 && stream_main {
            continue;
        }
        files[k].sha256 = sha256_file(&f.path).map_err(|e| ImportError::io(&f.name, e))?.0;
    }
    tracing::debug!(seconds = t_hash.elapsed().as_secs_f64(), streamed = stream_main, "hashed the input");
    let jurisdiction_id = req.jurisdiction.clone().or_else(|| profile.toml.jurisdiction.id.clone());
    let mut batch = NewBatch {
        dataset,
        profile: profile.name.clone(),
        profile_sha256: profile.sha256.clone(),
        files,
        sha256: String::new(),
        jurisdiction_id: jurisdiction_id.clone(),
        started_at: chrono::Utc::now().naive_utc(),
        origin: req.origin.clone(),
    };
    if !stream_main {
        batch.sha256 = identity(&batch.files);
        if let Some(b) = store.find_committed_batch(&batch.dataset, &batch.profile, &batch.sha256)?
            && !req.replace
        {
            return Ok(ImportOutcome::AlreadyImported(b));
        }
    }
    match run(store, req, &roles, batch.clone(), stream_main, jurisdiction_id.as_deref(), progress) {
        Ok(outcome) => Ok(outcome),
        Err(e) => {
            let status = if e.is_refusal() { BatchStatus::Refused } else { BatchStatus::Failed };
            let message = if e.is_refusal() { e.to_string() } else { "internal error (see the log)".to_owned() };
            if batch.sha256.is_empty() {
                // Refused before it was read whole: hash it now so the attempt is on record by its identity.
                for (k, (_, f)) in roles.iter().enumerate() {
                    if batch.files[k].sha256.is_empty() {
                        batch.files[k].sha256 = sha256_file(&f.path).map(|h| h.0).unwrap_or_default();
                    }
                }
                batch.sha256 = identity(&batch.files);
            }
            if let Err(e2) = store.record_unlanded_batch(&batch, status, 0, &message) {
                tracing::warn!(error = %e2, "could not record the refused batch");
            }
            Err(e)
        }
    }
}

fn identity(files: &[BatchFile]) -> String {
    combined_sha256(&files.iter().map(|f| (f.role.clone(), f.sha256.clone())).collect::<Vec<_>>())
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
    Ok(CsvSource::open(&f.path, &f.name, &profile.toml.source, Arc::new(AtomicU64::new(0)), false)?.header)
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
    let mut rows = Rows::default();
    let too_long = |_| {
        ImportError::refused(
            &f.name,
            None,
            None,
            format!("the {role} file is too large to join in memory (over 4 GiB of text)"),
        )
    };
    let header = if is_parquet(profile, &f.path) {
        let mut header = Vec::new();
        let mut n = 0u64;
        store.scan_parquet(&f.path, |b: RecordBatch| -> Result<(), ImportError> {
            let (h, cols) = text_columns(&b)?;
            header = h;
            for r in 0..b.num_rows() {
                n += 1;
                rows.push(fields_of(&cols, r), n).map_err(too_long)?;
            }
            Ok(())
        })?;
        header
    } else {
        let mut src = CsvSource::open(&f.path, &f.name, &profile.toml.source, counter, false)?;
        while src.read_rows(&mut rows, usize::MAX, usize::MAX)? > 0 {}
        src.header
    };
    let key_idx = header.iter().position(|h| h == key).ok_or_else(|| {
        ImportError::refused(&f.name, None, Some(key), format!("the {role} file has no key column {key:?}"))
    })?;
    let mut index: HashMap<String, Vec<u32>> = HashMap::new();
    for (i, (r, _)) in rows.iter().enumerate() {
        if let Some(k) = r.get(key_idx).map(str::trim).filter(|k| !k.is_empty()) {
            index.entry(k.to_owned()).or_default().push(i as u32);
        }
    }
    Ok(FileData { role: role.to_owned(), display: f.name.clone(), header, rows, key_idx, index })
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

/// Row `r` of text columns (NULL as the empty field).
fn fields_of(cols: &[StringArray], r: usize) -> impl Iterator<Item = &str> {
    cols.iter().map(move |c| if c.is_null(r) { "" } else { c.value(r) })
}

/// Rows per chunk of the main file, and the most text a chunk holds (a chunk of long records is sent
/// sooner).
const READ_CHUNK: usize = 4096;
const READ_CHUNK_TEXT: usize = 8 << 20;

/// What a mapping worker learned.
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

impl MapStats {
    fn merge(&mut self, o: MapStats) {
        self.read += o.read;
        self.accepted += o.accepted;
        self.rejected += o.rejected;
        if let Some((a, b)) = o.date_range {
            widen(&mut self.date_range, a);
            widen(&mut self.date_range, b);
        }
        self.keys.extend(o.keys);
        for (k, v) in o.jurisdictions {
            self.jurisdictions.entry(k).or_insert(v);
        }
    }
}

fn widen(range: &mut Option<(NaiveDate, NaiveDate)>, d: NaiveDate) {
    *range = Some(match *range {
        None => (d, d),
        Some((a, b)) => (a.min(d), b.max(d)),
    });
}

/// Maps rows of the main file (one per worker thread).
struct Worker<'a> {
    plans: Vec<TablePlan>,
    attrs: AttrPlan,
    sink: TableSink,
    files: &'a [&'a FileData],
    /// For each joined file, the main-file column it joins on.
    join_cols: &'a [usize],
    key_col: Option<usize>,
    batch_id: i64,
    tx: mpsc::SyncSender<RecordBatch>,
    rejects: mpsc::Sender<Vec<(u64, Problem)>>,
    stats: MapStats,
    pending_rejects: Vec<(u64, Problem)>,
    width: usize,
}

fn cancelled<T>(_: T) -> ImportError {
    ImportError::Usage("import cancelled".into())
}

impl<'w> Worker<'w> {
    /// Maps a chunk of rows; the row buffers (one per output plan) serve the whole chunk.
    fn rows<'r>(&mut self, rows: &'r Rows) -> Result<(), ImportError>
    where
        'w: 'r,
    {
        let mut outs: Vec<Vec<Val<'r>>> = (0..self.plans.len()).map(|_| Vec::with_capacity(self.width)).collect();
        for (rec, line) in rows.iter() {
            self.row(rec, line, &mut outs)?;
        }
        Ok(())
    }

    fn row<'r>(&mut self, rec: Row<'r>, line: u64, outs: &mut [Vec<Val<'r>>]) -> Result<(), ImportError>
    where
        'w: 'r,
    {
        self.stats.read += 1;
        let empty: &[u32] = &[];
        let joined: Vec<&[u32]> = self
            .files
            .iter()
            .zip(self.join_cols)
            .map(|(f, &c)| {
                rec.get(c).map(str::trim).and_then(|k| f.index.get(k)).map(|v| v.as_slice()).unwrap_or(empty)
            })
            .collect();
        let cx = RowCtx { row: rec, joined: &joined, files: self.files };
        let mut problems = Vec::new();
        for (plan, out) in self.plans.iter_mut().zip(outs.iter_mut()) {
            plan.eval(&cx, out, &mut problems);
        }
        if !problems.is_empty() {
            self.stats.rejected += 1;
            for p in problems {
                self.pending_rejects.push((line, p));
            }
            if self.pending_rejects.len() >= 10_000 {
                self.flush_rejects()?;
            }
            return Ok(());
        }
        self.stats.accepted += 1;
        let jid = outs[0][self.plans[0].jurisdiction_slot].as_str().unwrap_or_default();
        if !self.stats.jurisdictions.contains_key(jid) {
            let attrs = self.attrs.eval(&cx);
            self.stats.jurisdictions.insert(jid.to_owned(), attrs);
        }
        if let Some(kc) = self.key_col
            && let Some(k) = rec.get(kc).map(str::trim).filter(|k| !k.is_empty())
        {
            self.stats.keys.insert(k.to_owned(), jid.to_owned());
        }
        for (plan, out) in self.plans.iter().zip(outs.iter()) {
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
            self.rejects.send(r).map_err(cancelled)?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), ImportError> {
        self.flush_rejects()?;
        if self.sink.len() > 0 {
            let b = self.sink.take();
            self.tx.send(b).map_err(cancelled)?;
        }
        Ok(())
    }
}

fn plan_error(display: &str, e: PlanError) -> ImportError {
    ImportError::refused(display, None, e.column.as_deref(), e.message)
}

/// How many threads map rows: one per core (the writer and reader share them), at most four.
fn workers() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).clamp(1, 4)
}

/// Reads the main file into chunks for the workers. Returns the file's sha256 when it hashed it.
fn read_main(
    csv: Option<CsvSource>,
    parquet: Option<(Store, PathBuf)>,
    tx: mpsc::SyncSender<Rows>,
    pool: mpsc::Receiver<Rows>,
    report: &(dyn Fn(u64) + Sync),
) -> Result<Option<String>, ImportError> {
    let fresh = |pool: &mpsc::Receiver<Rows>| pool.try_recv().unwrap_or_default();
    let mut rows = 0u64;
    if let Some(mut src) = csv {
        let mut sent = 0u64;
        loop {
            // Chunks come back from the workers emptied.
            let mut chunk = fresh(&pool);
            if src.read_rows(&mut chunk, READ_CHUNK, READ_CHUNK_TEXT)? == 0 {
                break;
            }
            rows += chunk.len() as u64;
            sent += 1;
            if sent.is_multiple_of(16) {
                report(rows);
            }
            tx.send(chunk).map_err(cancelled)?;
        }
        return Ok(src.finish_hash());
    }
    if let Some((store, path)) = parquet {
        let mut n = 0u64;
        store.scan_parquet(&path, |b: RecordBatch| -> Result<(), ImportError> {
            let (_, cols) = text_columns(&b)?;
            let mut chunk = Rows::default();
            for r in 0..b.num_rows() {
                n += 1;
                chunk.push(fields_of(&cols, r), n).map_err(|_| {
                    ImportError::Usage(format!("row {n} of the Parquet file holds more than 4 GiB of text"))
                })?;
            }
            report(n);
            tx.send(chunk).map_err(cancelled)
        })?;
    }
    Ok(None)
}

/// Maps chunks until the reader is done.
fn work(
    mut w: Worker<'_>,
    rx: &std::sync::Mutex<mpsc::Receiver<Rows>>,
    pool: &mpsc::SyncSender<Rows>,
) -> Result<MapStats, ImportError> {
    loop {
        let next = rx.lock().map_err(|_| ImportError::Usage("a mapping thread panicked".into()))?.recv();
        let Ok(mut chunk) = next else { break };
        w.rows(&chunk)?;
        chunk.clear();
        let _ = pool.try_send(chunk);
    }
    w.flush()?;
    Ok(w.stats)
}

fn run(
    store: &Store,
    req: &ImportRequest,
    roles: &[(String, InputFile)],
    mut batch: NewBatch,
    stream_main: bool,
    jurisdiction_id: Option<&str>,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<ImportOutcome, ImportError> {
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
    let csv_main = if main_parquet {
        None
    } else {
        Some(CsvSource::open(&main_file.path, &main_file.name, &profile.toml.source, counter.clone(), stream_main)?)
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
    let compile_plans = || -> Result<Vec<TablePlan>, ImportError> {
        if profile.toml.expand.is_empty() {
            Ok(vec![
                TablePlan::compile(&cx, main_table, &[&profile.toml.fields])
                    .map_err(|e| plan_error(&main_file.name, e))?,
            ])
        } else {
            profile
                .toml
                .expand
                .iter()
                .map(|e| {
                    TablePlan::compile(&cx, main_table, &[&profile.toml.fields, e])
                        .map_err(|e| plan_error(&main_file.name, e))
                })
                .collect()
        }
    };
    let plans = compile_plans()?;
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

    let mut ing = store.begin_ingest(batch.clone(), None)?;
    let batch_id = ing.id();
    let files_ref: Vec<&FileData> = joined_data.iter().collect();
    let reader_store = if main_parquet { Some((store.try_clone()?, main_file.path.clone())) } else { None };
    let n_workers = workers();
    // Each mapping thread compiles its own plans: cloned ones would share their mapped text, and every
    // row would then count references to it from two cores at once.
    let mut worker_plans = vec![plans];
    for _ in 1..n_workers {
        worker_plans.push(compile_plans()?);
    }
    let width = worker_plans[0][0].width();
    let t_map = std::time::Instant::now();
    let schema = TableSink::new(main_table).schema();
    let report =
        |rows: u64| progress(Progress { bytes_read: counter.load(Ordering::Relaxed), bytes_total, rows_read: rows });
    // Reader -> workers (chunks of rows), workers -> reader (emptied chunks to reuse), workers -> DuckDB
    // (record batches), workers -> here (rejects, written once the rows are in).
    let (chunk_tx, chunk_rx) = mpsc::sync_channel::<Rows>(2 * n_workers);
    let (pool_tx, pool_rx) = mpsc::sync_channel::<Rows>(4 * n_workers);
    let (tx, rx) = mpsc::sync_channel::<RecordBatch>(2 * n_workers);
    let (reject_tx, reject_rx) = mpsc::channel::<Vec<(u64, Problem)>>();
    let chunk_rx = std::sync::Mutex::new(chunk_rx);
    let mut senders = Some((chunk_tx, pool_tx, tx, pool_rx, reject_tx));
    let (read_result, stats, write_result) = std::thread::scope(|s| {
        let Some((chunk_tx, pool_tx, tx, pool_rx, reject_tx)) = senders.take() else {
            return (Ok(None), Err(ImportError::Usage("internal: channels".into())), Ok(0));
        };
        let report = &report;
        let reader = std::thread::Builder::new()
            .name("import-read".into())
            .spawn_scoped(s, move || read_main(csv_main, reader_store, chunk_tx, pool_rx, report));
        let mut handles = Vec::new();
        for k in 0..n_workers {
            let w = Worker {
                plans: worker_plans.pop().unwrap_or_default(),
                attrs: attrs.clone(),
                sink: TableSink::new(main_table),
                files: &files_ref,
                join_cols: &join_cols,
                key_col,
                batch_id,
                tx: tx.clone(),
                rejects: reject_tx.clone(),
                stats: MapStats::default(),
                pending_rejects: Vec::new(),
                width,
            };
            let (chunk_rx, pool_tx) = (&chunk_rx, pool_tx.clone());
            handles.push(
                std::thread::Builder::new()
                    .name(format!("import-map-{k}"))
                    .spawn_scoped(s, move || work(w, chunk_rx, &pool_tx)),
            );
        }
        drop((tx, pool_tx, reject_tx));
        let write_result = ing.append_stream(main_table, schema, rx).map_err(ImportError::from);
        let mut stats = MapStats::default();
        let mut first_err = None;
        for h in handles {
            match h
                .map_err(|e| ImportError::io("thread", e))
                .and_then(|h| h.join().unwrap_or_else(|_| Err(ImportError::Usage("a mapping thread panicked".into()))))
            {
                Ok(st) => stats.merge(st),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        let read_result = reader
            .map_err(|e| ImportError::io("thread", e))
            .and_then(|h| h.join().unwrap_or_else(|_| Err(ImportError::Usage("the reading thread panicked".into()))));
        (read_result, first_err.map_or(Ok(stats), Err), write_result)
    });
    // A refusal found by the reader (bad bytes at line N) explains any cancellation downstream.
    let streamed_hash = read_result?;
    let inserted = write_result?;
    let mut stats = stats?;
    for rejects in reject_rx.try_iter() {
        for (line, p) in rejects {
            ing.reject(0, line as i64, Some(&p.column), p.value.as_deref(), &p.reason)?;
        }
    }
    tracing::debug!(rows = inserted, "inserted the main file's records");
    tracing::debug!(
        seconds = t_map.elapsed().as_secs_f64(),
        rows = stats.read,
        workers = n_workers,
        "read and mapped the main file"
    );
    if let Some(h) = streamed_hash {
        batch.files[0].sha256 = h;
    }
    batch.sha256 = identity(&batch.files);
    // The identity check of a streamed input: an earlier batch may hold it after all.
    let mut replaces = None;
    if let Some(b) = store.find_committed_batch(&batch.dataset, &batch.profile, &batch.sha256)? {
        if !req.replace {
            ing.rollback();
            return Ok(ImportOutcome::AlreadyImported(b));
        }
        replaces = Some(b.id);
    }
    ing.set_identity(batch.files.clone(), batch.sha256.clone(), replaces);
    let main_counts = TableCounts {
        table: main_table.name().to_owned(),
        read: stats.read,
        accepted: stats.accepted,
        rejected: stats.rejected,
    };
    let mut tables = vec![main_counts];
    for (mut plan, fi) in child_plans {
        let counts = import_children(&mut ing, &mut plan, &joined_data[fi], fi + 1, &stats.keys, batch_id)?;
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
    let t_commit = std::time::Instant::now();
    let batch = ing.commit(summary)?;
    tracing::debug!(seconds = t_commit.elapsed().as_secs_f64(), "committed");
    progress(Progress { bytes_read: bytes_total, bytes_total, rows_read: stats.read as u64 });
    let top_reasons = store.top_reject_reasons(batch.id, 5)?;
    Ok(ImportOutcome::Imported(ImportReport { batch, tables, top_reasons, jurisdictions_created: created }))
}

/// Child rows (allegations): each must belong to an accepted main record.
fn import_children(
    ing: &mut Ingest<'_>,
    plan: &mut TablePlan,
    fd: &FileData,
    file_no: usize,
    keys: &HashMap<String, String>,
    batch_id: i64,
) -> Result<TableCounts, ImportError> {
    let mut sink = TableSink::new(plan.table);
    let mut counts = TableCounts { table: plan.table.name().to_owned(), ..Default::default() };
    let jslot = plan.jurisdiction_slot;
    let mut out = Vec::new();
    for (row, line) in fd.rows.iter() {
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
                ing.reject(file_no, line as i64, Some(&p.column), p.value.as_deref(), &p.reason)?;
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
