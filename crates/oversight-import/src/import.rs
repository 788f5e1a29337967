//! One import: files hashed, checked against earlier batches, read, mapped, validated and written as one
//! transaction. Reading and mapping run on a second thread while this one appends to DuckDB.

use crate::ImportError;
use crate::engine::{
    AttrPlan, Cleaner, FileData, PlanCtx, PlanError, Problem, RowCtx, TablePlan, TableSink, Val, key_of, key_part,
};
use crate::filter::RowFilter;
use crate::group::group_rows;
use crate::hash::{combined_sha256, sha256_file};
use crate::profile::Profile;
use crate::reader::{CsvSource, Row, Rows, is_blank, shape_problem};
use crate::values::glob_match;
use chrono::NaiveDate;
use chrono_tz::Tz;
use oversight_core::Table;
use oversight_store::arrow::array::{Array, StringArray};
use oversight_store::arrow::compute::cast;
use oversight_store::arrow::datatypes::DataType;
use oversight_store::arrow::record_batch::RecordBatch;
use oversight_store::{
    BatchDetails, BatchFile, BatchRecord, BatchStatus, Ingest, IngestSummary, Jurisdiction, NewBatch, Store,
};
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
    /// The share of rejected rows above which the import is not a success (reported; with `strict`,
    /// nothing lands).
    pub max_reject_share: f64,
    /// Land nothing when the reject share is above `max_reject_share`.
    pub strict: bool,
}

/// The default share of rejected rows above which an import is not a success.
pub const DEFAULT_MAX_REJECT_SHARE: f64 = 0.05;

/// `[import]` settings.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImportConfig {
    /// Share of rejected rows (0 to 1) above which an import is not a success: the CLI exits 4 and the API
    /// answers 422 (the batch still lands, or nothing with `--strict`).
    pub max_reject_share: f64,
}

impl Default for ImportConfig {
    fn default() -> Self {
        Self { max_reject_share: DEFAULT_MAX_REJECT_SHARE }
    }
}

impl ImportRequest {
    /// A request with the defaults: no jurisdiction override, no replace, the default reject share.
    pub fn new(profile: Profile, files: Vec<InputFile>, origin: &str) -> Self {
        Self {
            profile,
            files,
            jurisdiction: None,
            replace: false,
            origin: origin.to_owned(),
            max_reject_share: DEFAULT_MAX_REJECT_SHARE,
            strict: false,
        }
    }
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
    /// What the reader should know (a record key the profile does not map, say).
    pub warnings: Vec<String>,
    /// Rejected rows / rows read (all tables).
    pub reject_share: f64,
    /// The reject share is above the request's limit: the batch landed, but the import is not a success.
    pub over_reject_share: bool,
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
        check_regular_file(f)?;
    }
    if let Some(j) = &req.jurisdiction {
        oversight_core::JurisdictionId::new(j.as_str()).map_err(|e| ImportError::Usage(e.to_string()))?;
    }
    refuse_same_file_twice(&req.files)?;
    let roles = assign_roles(store, profile, &req.files)?;
    let snapshots: Vec<FileSnapshot> = roles.iter().map(|(_, f)| FileSnapshot::take(f)).collect::<Result<_, _>>()?;
    let dataset = profile.dataset.as_str().to_owned();
    let mut files: Vec<BatchFile> = roles
        .iter()
        .zip(&snapshots)
        .map(|((role, f), snap)| BatchFile {
            role: role.clone(),
            name: f.name.clone(),
            sha256: String::new(),
            bytes: snap.len,
        })
        .collect();
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
            return already_imported(profile, &roles[0].1, b);
        }
    }
    // A grouped file sorted by its key streams; one that is not is read again, whole, in memory.
    let attempt = |stream: bool| run(store, req, &roles, &snapshots, batch.clone(), progress, stream);
    let result = match attempt(true) {
        Err(ImportError::Unsorted) => {
            tracing::debug!("the grouped file is not sorted by its key: grouping it in memory");
            attempt(false)
        }
        other => other,
    };
    match result {
        Ok(outcome) => Ok(outcome),
        Err(e) => {
            let status = if e.is_refusal() { BatchStatus::Refused } else { BatchStatus::Failed };
            let message = if e.is_explained() { e.to_string() } else { "internal error (see the log)".to_owned() };
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

/// The outcome for an input a committed batch holds: a no-op, or a refusal when that batch read it with
/// another version of the profile (a batch is the file and the profile's content, not its name).
fn already_imported(profile: &Profile, f: &InputFile, b: BatchRecord) -> Result<ImportOutcome, ImportError> {
    if b.profile_sha256 != profile.sha256 {
        return Err(ImportError::refused(
            &f.name,
            None,
            None,
            format!(
                "this file was imported in batch {} with an earlier version of profile {} (the profile has changed \
                 since): pass --replace (replace=true) to import it again with this version",
                b.id, profile.name
            ),
        ));
    }
    Ok(ImportOutcome::AlreadyImported(b))
}

/// Refuses what is not a regular file (a directory, a FIFO, a device) before anything is read.
fn check_regular_file(f: &InputFile) -> Result<(), ImportError> {
    let meta = std::fs::metadata(&f.path).map_err(|e| ImportError::io(&f.name, e))?;
    if meta.is_file() {
        return Ok(());
    }
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    let what = if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a file"
    };
    Err(ImportError::refused(&f.name, None, None, format!("not a regular file: this is {what}")))
}

/// Refuses one file given twice (by path, or the same file under two names): one file cannot fill two roles.
fn refuse_same_file_twice(files: &[InputFile]) -> Result<(), ImportError> {
    use std::os::unix::fs::MetadataExt;
    let ids: Vec<(u64, u64)> = files
        .iter()
        .map(|f| std::fs::metadata(&f.path).map(|m| (m.dev(), m.ino())).map_err(|e| ImportError::io(&f.name, e)))
        .collect::<Result<_, _>>()?;
    for i in 0..ids.len() {
        for j in 0..i {
            if ids[i] == ids[j] {
                let role = |k: usize| (format!("file {}", k + 1), files[k].clone());
                return Err(same_content(&role(j), &role(i)));
            }
        }
    }
    Ok(())
}

fn same_content(a: &(String, InputFile), b: &(String, InputFile)) -> ImportError {
    ImportError::refused(
        &b.1.name,
        None,
        None,
        format!(
            "the {} and the {} ({} and {}) are the same bytes: one file cannot fill two roles (a file with one row \
             per child is read with [group] by = ..., not joined to itself)",
            a.0, b.0, a.1.name, b.1.name
        ),
    )
}

/// A file's size and modification time before it is read: the same after, or the import is refused.
#[derive(Debug, Clone)]
struct FileSnapshot {
    name: String,
    path: PathBuf,
    len: u64,
    modified: Option<std::time::SystemTime>,
}

impl FileSnapshot {
    fn take(f: &InputFile) -> Result<Self, ImportError> {
        let m = std::fs::metadata(&f.path).map_err(|e| ImportError::io(&f.name, e))?;
        Ok(Self { name: f.name.clone(), path: f.path.clone(), len: m.len(), modified: m.modified().ok() })
    }

    /// The refusal of a file whose bytes read differ from the bytes hashed before.
    fn changed(&self) -> ImportError {
        ImportError::refused(
            &self.name,
            None,
            None,
            "the file changed while it was being imported (its bytes differ from the ones hashed before): nothing              landed; import it again once it is complete"
                .into(),
        )
    }

    /// Refuses the import when the file's size or modification time moved, or the bytes read were not
    /// the file's size.
    fn check(&self, bytes_read: Option<u64>) -> Result<(), ImportError> {
        let now = Self::take(&InputFile { path: self.path.clone(), name: self.name.clone() });
        let changed = match &now {
            Ok(n) => n.len != self.len || n.modified != self.modified || bytes_read.is_some_and(|b| b != self.len),
            Err(_) => true,
        };
        if changed {
            let after = now.map(|n| format!("{} bytes", n.len)).unwrap_or_else(|_| "gone".into());
            return Err(ImportError::refused(
                &self.name,
                None,
                None,
                format!(
                    "the file changed while it was being imported ({} bytes before, {after} after{}): nothing \
                     landed; import it again once it is complete",
                    self.len,
                    bytes_read.map(|b| format!(", {b} bytes read")).unwrap_or_default()
                ),
            ));
        }
        Ok(())
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
    Ok(CsvSource::open(&f.path, &f.name, &profile.csv, Arc::new(AtomicU64::new(0)), false)?.header)
}

/// What reading a file counted besides its records.
#[derive(Debug, Clone, Default)]
struct ReadInfo {
    /// sha256 of the bytes read (CSV files are hashed as they are read).
    sha256: Option<String>,
    /// Bytes read from the file.
    bytes: Option<u64>,
    lines: u64,
    blank: u64,
    /// A grouped file read as a stream: what grouping found.
    groups: GroupCounts,
}

/// What streaming a grouped file through its groups found: rows rejected before mapping (a wrong shape, no
/// key, a column that is not constant), keys of the groups rejected, rows filtered out, rows read.
#[derive(Debug, Clone, Default)]
struct GroupCounts {
    rejects: Vec<(u64, Problem)>,
    rejected_keys: std::collections::HashSet<String>,
    filtered: i64,
    rows: i64,
}

/// A grouped CSV file streamed through its groups (sorted by the group key): the reader cuts it into
/// chunks of whole groups, each with its rows, so memory holds a chunk at a time. A key that comes back
/// after its group ended means the file is not sorted: the import then starts over in memory.
struct GroupStream<'a> {
    src: CsvSource,
    group: &'a crate::profile::GroupToml,
    filters: &'a [RowFilter],
    cleaner: Cleaner,
    by: Vec<usize>,
    header: Vec<String>,
    display: String,
}

/// A chunk of the main file for a mapping worker: its rows, and for a grouped file the rows of its groups.
struct Chunk {
    rows: Rows,
    group: Option<FileData>,
}

/// A file read whole, what reading counted, and its rows of the wrong shape (line, problem).
type Loaded = (FileData, ReadInfo, Vec<(u64, Problem)>);

/// Loads a file whole (a joined file, or a main file whose rows are grouped): blank rows and rows of the
/// wrong shape are marked excluded (the latter also returned as problems). Not indexed yet.
fn load_file(
    store: &Store,
    profile: &Profile,
    role: &str,
    f: &InputFile,
    counter: Arc<AtomicU64>,
) -> Result<Loaded, ImportError> {
    let mut rows = Rows::default();
    let mut info = ReadInfo::default();
    let mut bad = Vec::new();
    let mut excluded = std::collections::HashSet::new();
    let too_long = |_| {
        ImportError::refused(
            &f.name,
            None,
            None,
            format!("the {role} file is too large to hold in memory (over 4 GiB of text)"),
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
        info.lines = n;
        header
    } else {
        let mut src = CsvSource::open(&f.path, &f.name, &profile.csv, counter, true)?;
        while src.read_rows(&mut rows, usize::MAX, usize::MAX)? > 0 {}
        let width = src.width;
        for (i, (row, line)) in rows.iter().enumerate() {
            if is_blank(&row) {
                info.blank += 1;
                excluded.insert(i);
            } else if let Some(reason) = shape_problem(&row, width) {
                bad.push((line, Problem { column: WHOLE_ROW.into(), value: None, reason }));
                excluded.insert(i);
            }
        }
        info.lines = src.lines_read();
        info.blank += src.blank_lines();
        let header = src.header.clone();
        let (sha256, bytes) = src.finish();
        (info.sha256, info.bytes) = (sha256, Some(bytes));
        header
    };
    let fd = FileData {
        role: role.to_owned(),
        display: f.name.clone(),
        header,
        rows,
        key_cols: Vec::new(),
        index: HashMap::new(),
        excluded,
    };
    Ok((fd, info, bad))
}

/// The column name rejects give for a problem with a whole row (its shape).
const WHOLE_ROW: &str = "(whole row)";

/// Indexes a loaded file by its key column.
fn index_by(fd: &mut FileData, key: &str) -> Result<(), ImportError> {
    let key_idx = fd.header.iter().position(|h| h == key).ok_or_else(|| {
        ImportError::refused(&fd.display, None, Some(key), format!("the {} file has no key column {key:?}", fd.role))
    })?;
    fd.key_cols = vec![key_idx];
    let mut index: HashMap<String, Vec<u32>> = HashMap::new();
    for (i, (r, _)) in fd.rows.iter().enumerate() {
        if fd.excluded.contains(&i) {
            continue;
        }
        let k = fd.key_of(&r);
        if !k.is_empty() {
            index.entry(k).or_default().push(i as u32);
        }
    }
    fd.index = index;
    Ok(())
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
            .ok_or_else(|| ImportError::Internal("a Parquet column cast to text is not text".into()))?;
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
    /// Blank records passed (lines of blanks or delimiters only).
    blank: i64,
    /// Rows the profile's filters left out.
    filtered: i64,
    /// Rows kept under each cross-field rule set to `null` or `keep`.
    rules: BTreeMap<String, i64>,
    /// Hashes of the accepted rows' record keys, sorted, one list per worker.
    key_hashes: Vec<Vec<u64>>,
}

impl MapStats {
    /// Whether two accepted rows may share a record key: some hash occurs twice. (Distinct hashes prove
    /// distinct keys; an equal pair may be a collision, which the exact check then clears.)
    fn keys_may_repeat(&self) -> bool {
        let lists = &self.key_hashes;
        if lists.iter().any(|l| l.windows(2).any(|w| w[0] == w[1])) {
            return true;
        }
        for i in 0..lists.len() {
            for j in 0..i {
                let (mut a, mut b) = (lists[i].iter().peekable(), lists[j].iter().peekable());
                while let (Some(x), Some(y)) = (a.peek(), b.peek()) {
                    match x.cmp(y) {
                        std::cmp::Ordering::Less => {
                            a.next();
                        }
                        std::cmp::Ordering::Greater => {
                            b.next();
                        }
                        std::cmp::Ordering::Equal => return true,
                    }
                }
            }
        }
        false
    }
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
        self.blank += o.blank;
        self.filtered += o.filtered;
        self.key_hashes.extend(o.key_hashes);
        for (k, v) in o.rules {
            *self.rules.entry(k).or_default() += v;
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
    /// Fields every row must have (the header's), where rows are checked here (not grouped, not Parquet).
    fields_per_row: Option<usize>,
    filters: &'a [RowFilter],
    cleaner: Cleaner,
    /// Hashes of the accepted rows' record keys.
    key_hash_list: Vec<u64>,
}

/// What a thread says when the thread it hands rows to has stopped: the other thread's error explains it.
const CANCELLED: &str = "a thread of the import stopped before the import ended";

fn cancelled<T>(_: T) -> ImportError {
    ImportError::Internal(CANCELLED.into())
}

fn is_cancellation(e: &ImportError) -> bool {
    matches!(e, ImportError::Internal(m) if m == CANCELLED)
}

impl<'w> Worker<'w> {
    /// Maps a chunk of rows; the row buffers (one per output plan) serve the whole chunk. A grouped file's
    /// chunk brings the rows of its groups.
    fn rows<'r>(&mut self, rows: &'r Rows, group: Option<&'r FileData>) -> Result<(), ImportError>
    where
        'w: 'r,
    {
        let files: Vec<&FileData> = match group {
            Some(g) => vec![g],
            None => self.files.to_vec(),
        };
        let mut outs: Vec<Vec<Val<'_>>> = (0..self.plans.len()).map(|_| Vec::with_capacity(self.width)).collect();
        for (rec, line) in rows.iter() {
            self.row(rec, line, &mut outs, &files)?;
        }
        Ok(())
    }

    fn row<'r>(
        &mut self,
        rec: Row<'r>,
        line: u64,
        outs: &mut [Vec<Val<'r>>],
        files: &'r [&'r FileData],
    ) -> Result<(), ImportError> {
        if let Some(width) = self.fields_per_row {
            if rec.get(0).is_some_and(|f| f.trim().is_empty()) && is_blank(&rec) {
                self.stats.blank += 1;
                return Ok(());
            }
            if let Some(reason) = shape_problem(&rec, width) {
                return self.reject(line, vec![Problem { column: WHOLE_ROW.into(), value: None, reason }]);
            }
        }
        for f in self.filters {
            match f.keeps(&rec, &self.cleaner) {
                Ok(true) => {}
                Ok(false) => {
                    self.stats.filtered += 1;
                    return Ok(());
                }
                Err(p) => return self.reject(line, vec![p]),
            }
        }
        self.stats.read += 1;
        let empty: &[u32] = &[];
        let joined: Vec<&[u32]> = files
            .iter()
            .zip(self.join_cols)
            .map(|(f, &c)| f.index.get(key_part(&rec, c)).map(|v| v.as_slice()).unwrap_or(empty))
            .collect();
        let cx = RowCtx { row: rec, joined: &joined, files };
        let mut problems = Vec::new();
        for (plan, out) in self.plans.iter_mut().zip(outs.iter_mut()) {
            plan.eval(&cx, out, &mut problems);
        }
        if !problems.is_empty() {
            self.stats.read -= 1;
            return self.reject(line, problems);
        }
        self.stats.accepted += 1;
        let jid = outs[0][self.plans[0].jurisdiction_slot].as_str().unwrap_or_default();
        if !self.stats.jurisdictions.contains_key(jid) {
            let attrs = self.attrs.eval(&cx);
            self.stats.jurisdictions.insert(jid.to_owned(), attrs);
        }
        if let Some(h) = self.plans[0].key_hash(&outs[0]) {
            self.key_hash_list.push(h);
        }
        if let Some(kc) = self.key_col {
            let k = key_part(&rec, kc);
            if !k.is_empty() {
                self.stats.keys.insert(k.to_owned(), jid.to_owned());
            }
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

    /// A rejected row with its problems.
    fn reject(&mut self, line: u64, problems: Vec<Problem>) -> Result<(), ImportError> {
        self.stats.read += 1;
        self.stats.rejected += 1;
        for p in problems {
            self.pending_rejects.push((line, p));
        }
        if self.pending_rejects.len() >= 10_000 {
            self.flush_rejects()?;
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

/// Reads the main file into chunks for the workers (or hands them the groups' rows, already read, or
/// streams a sorted grouped file through its groups). Returns what reading counted.
fn read_main(
    csv: Option<CsvSource>,
    parquet: Option<(Store, PathBuf)>,
    grouped: Vec<Rows>,
    stream: Option<GroupStream<'_>>,
    tx: mpsc::SyncSender<Chunk>,
    pool: mpsc::Receiver<Rows>,
    report: &(dyn Fn(u64) + Sync),
) -> Result<ReadInfo, ImportError> {
    let fresh = |pool: &mpsc::Receiver<Rows>| pool.try_recv().unwrap_or_default();
    let mut rows = 0u64;
    for chunk in grouped {
        rows += chunk.len() as u64;
        tx.send(Chunk { rows: chunk, group: None }).map_err(cancelled)?;
    }
    if let Some(stream) = stream {
        return read_groups(stream, &tx, report);
    }
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
            tx.send(Chunk { rows: chunk, group: None }).map_err(cancelled)?;
        }
        let (lines, blank) = (src.lines_read(), src.blank_lines());
        let (sha256, bytes) = src.finish();
        return Ok(ReadInfo { sha256, bytes: Some(bytes), lines, blank, ..Default::default() });
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
            tx.send(Chunk { rows: chunk, group: None }).map_err(cancelled)
        })?;
        return Ok(ReadInfo { lines: n, ..Default::default() });
    }
    Ok(ReadInfo::default())
}

/// Streams a grouped file sorted by its key: chunks of whole groups, each grouped and sent with its rows.
fn read_groups(
    mut st: GroupStream<'_>,
    tx: &mpsc::SyncSender<Chunk>,
    report: &(dyn Fn(u64) + Sync),
) -> Result<ReadInfo, ImportError> {
    use std::hash::{BuildHasher, BuildHasherDefault};
    let hash = |k: &str| BuildHasherDefault::<rustc_hash::FxHasher>::default().hash_one(k);
    let mut info = ReadInfo::default();
    let width = st.src.width;
    let mut carry = Rows::default();
    let mut closed: rustc_hash::FxHashSet<u64> = Default::default();
    let mut current = String::new();
    let mut buf = Rows::default();
    let send = |carry: &mut Rows, info: &mut ReadInfo| -> Result<(), ImportError> {
        if carry.len() == 0 {
            return Ok(());
        }
        let mut fd = FileData {
            role: "group".into(),
            display: st.display.clone(),
            header: st.header.clone(),
            rows: std::mem::take(carry),
            key_cols: Vec::new(),
            index: HashMap::new(),
            excluded: Default::default(),
        };
        let g = group_rows(&mut fd, st.group, st.filters, &st.cleaner, usize::MAX)?;
        info.groups.rejects.extend(g.rejects);
        info.groups.rejected_keys.extend(g.rejected);
        info.groups.filtered += g.filtered;
        info.groups.rows += g.rows;
        let parents = g.parents.into_iter().next().unwrap_or_default();
        tx.send(Chunk { rows: parents, group: Some(fd) }).map_err(cancelled)
    };
    let mut read = 0u64;
    loop {
        buf.clear();
        if st.src.read_rows(&mut buf, READ_CHUNK, READ_CHUNK_TEXT)? == 0 {
            break;
        }
        read += buf.len() as u64;
        report(read);
        for (row, line) in buf.iter() {
            if is_blank(&row) {
                info.blank += 1;
                continue;
            }
            if let Some(reason) = shape_problem(&row, width) {
                info.groups.rejects.push((line, Problem { column: WHOLE_ROW.into(), value: None, reason }));
                continue;
            }
            let key = key_of(&row, &st.by);
            if !key.is_empty() && key != current {
                if !current.is_empty() {
                    closed.insert(hash(&current));
                }
                if closed.contains(&hash(&key)) {
                    return Err(ImportError::Unsorted);
                }
                current = key;
                // A new group starts: the groups before it are whole.
                if carry.len() >= READ_CHUNK || carry.text_len() >= READ_CHUNK_TEXT {
                    send(&mut carry, &mut info)?;
                }
            }
            carry.push(row.iter(), line).map_err(|_| {
                ImportError::refused(&st.display, Some(line), None, "a group holds more than 4 GiB of text".into())
            })?;
        }
    }
    send(&mut carry, &mut info)?;
    info.groups.rejects.sort_by_key(|r| r.0);
    info.lines = st.src.lines_read();
    info.blank += st.src.blank_lines();
    let (sha256, bytes) = st.src.finish();
    (info.sha256, info.bytes) = (sha256, Some(bytes));
    Ok(info)
}

/// Which rows of a grouped file belong to a record: those with a key (`by`), kept by the filters, in no
/// rejected group.
#[derive(Clone, Copy)]
struct RecordRows<'a> {
    by: &'a [usize],
    filters: &'a [RowFilter],
    cleaner: &'a Cleaner,
    rejected: &'a std::collections::HashSet<String>,
}

/// The child rows of a grouped file read as a stream: the file is read again, chunk by chunk, and each
/// row that belongs to a record (not blank, of the right shape, kept by the filters, with a key, in no
/// rejected group) is imported as a child of its record. Returns the counts and the sha256 of the bytes
/// read (which must be those of the first pass).
fn stream_children(
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

/// Maps chunks until the reader is done.
fn work(
    mut w: Worker<'_>,
    rx: &std::sync::Mutex<mpsc::Receiver<Chunk>>,
    pool: &mpsc::SyncSender<Rows>,
) -> Result<MapStats, ImportError> {
    // A fault the tests inject to show that a worker's panic is an internal error, not the user's.
    let inject_panic = std::env::var_os("OVERSIGHT_FAULT").is_some_and(|f| f == "import-worker-panic");
    loop {
        let next = rx.lock().map_err(|_| ImportError::Internal("a mapping thread panicked".into()))?.recv();
        let Ok(mut chunk) = next else { break };
        assert!(!inject_panic, "OVERSIGHT_FAULT=import-worker-panic");
        w.rows(&chunk.rows, chunk.group.as_ref())?;
        chunk.rows.clear();
        let _ = pool.try_send(chunk.rows);
    }
    w.flush()?;
    w.key_hash_list.sort_unstable();
    w.stats.key_hashes.push(std::mem::take(&mut w.key_hash_list));
    for plan in &w.plans {
        for (rule, n) in plan.rule_hits() {
            *w.stats.rules.entry(rule.to_owned()).or_default() += n;
        }
    }
    Ok(w.stats)
}

fn run(
    store: &Store,
    req: &ImportRequest,
    roles: &[(String, InputFile)],
    snapshots: &[FileSnapshot],
    mut batch: NewBatch,
    progress: &(dyn Fn(Progress) + Sync),
    stream_groups: bool,
) -> Result<ImportOutcome, ImportError> {
    let profile = &req.profile;
    let jurisdiction_id = batch.jurisdiction_id.clone();
    let jurisdiction_id = jurisdiction_id.as_deref();
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
    let src = &profile.toml.source;
    let cleaner = Cleaner::new(src.trim, &src.null_values);
    // Joined files, loaded whole; rows of the wrong shape are rejected once the batch is open.
    let mut joined_data: Vec<FileData> = Vec::new();
    let mut joined_info: Vec<ReadInfo> = Vec::new();
    let mut early_rejects: Vec<(usize, u64, Problem)> = Vec::new();
    for (k, (spec, (role, f))) in profile.toml.files.iter().zip(roles).enumerate().skip(1) {
        let (mut fd, info, bad) = load_file(store, profile, role, f, counter.clone())?;
        index_by(&mut fd, spec.key.as_deref().unwrap_or_default())?;
        early_rejects.extend(bad.into_iter().map(|(l, p)| (k, l, p)));
        joined_data.push(fd);
        joined_info.push(info);
    }
    // A grouped main file is read whole and grouped first; any other is streamed to the workers.
    let mut grouped_rows = Vec::new();
    let mut grouped_counts = (0i64, 0i64);
    let mut main_info = ReadInfo::default();
    // A grouped CSV file is streamed through its groups when it is sorted by the key (the reader finds out);
    // otherwise, or from Parquet, it is read whole.
    let mut group_filters = Vec::new();
    let mut stream_setup: Option<(CsvSource, Vec<usize>)> = None;
    let (csv_main, main_header, main_width) = if let Some(g) =
        profile.toml.group.as_ref().filter(|_| stream_groups && !main_parquet)
    {
        let s = CsvSource::open(&main_file.path, &main_file.name, &profile.csv, counter.clone(), true)?;
        group_filters = RowFilter::compile(&profile.toml.filter, &s.header).map_err(|e| filter_error(main_file, e))?;
        let by = g
            .by
            .to_vec()
            .iter()
            .map(|c| {
                s.header.iter().position(|h| h == c).ok_or_else(|| {
                    ImportError::refused(&main_file.name, None, Some(c), format!("the group column {c:?} is missing"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let header = s.header.clone();
        stream_setup = Some((s, by));
        (None, header, None)
    } else if let Some(g) = &profile.toml.group {
        let (mut fd, info, bad) = load_file(store, profile, main_role, main_file, counter.clone())?;
        let filters = RowFilter::compile(&profile.toml.filter, &fd.header).map_err(|e| filter_error(main_file, e))?;
        let grouped = group_rows(&mut fd, g, &filters, &cleaner, READ_CHUNK)?;
        early_rejects.extend(bad.into_iter().map(|(l, p)| (0, l, p)));
        grouped_counts = (grouped.rows + early_rejects.len() as i64, grouped.filtered);
        early_rejects.extend(grouped.rejects.into_iter().map(|(l, p)| (0, l, p)));
        grouped_rows = grouped.parents;
        main_info = info;
        let header = fd.header.clone();
        fd.role = "group".to_owned();
        joined_data.insert(0, fd);
        (None, header, None)
    } else if main_parquet {
        (None, store.parquet_columns(&main_file.path)?, None)
    } else {
        let s = CsvSource::open(&main_file.path, &main_file.name, &profile.csv, counter.clone(), true)?;
        let (header, width) = (s.header.clone(), s.width);
        (Some(s), header, Some(width))
    };
    let grouped = profile.grouped();
    let filters = if grouped {
        Vec::new()
    } else {
        RowFilter::compile(&profile.toml.filter, &main_header).map_err(|e| filter_error(main_file, e))?
    };
    let joined_headers: Vec<(&str, &[String])> = if grouped {
        vec![("group", main_header.as_slice())]
    } else {
        joined_data.iter().map(|f| (f.role.as_str(), f.header.as_slice())).collect()
    };
    let cx = PlanCtx {
        profile,
        header: &main_header,
        role: main_role,
        joined: joined_headers.clone(),
        cli_jurisdiction: req.jurisdiction.as_deref(),
        local_tz,
        hash_key: &hash_key,
        typed_source: main_parquet,
        group: grouped.then_some(1),
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
    // For each joined file, the main-file column it joins on (a grouped file's rows carry their group key
    // as an extra last field).
    let join_cols: Vec<usize> = if grouped {
        vec![main_header.len()]
    } else {
        profile
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
            .collect::<Result<_, _>>()?
    };
    // The main key children link to.
    let key_col = if profile.toml.children.is_empty() { None } else { join_cols.first().copied() };
    // Child plans, compiled against their own files (a grouped file's children are its own rows).
    let mut child_plans = Vec::new();
    for (name, child) in &profile.toml.children {
        let table = *Table::ALL.iter().find(|t| t.name() == name).ok_or_else(|| {
            ImportError::Internal(format!("the profile names child table {name}, which does not exist"))
        })?;
        let fi = if grouped {
            0
        } else {
            joined_data
                .iter()
                .position(|f| f.role == child.file)
                .ok_or_else(|| ImportError::Internal(format!("no input file has the role {}", child.file)))?
        };
        let (header, role, display) = if grouped {
            (main_header.as_slice(), main_role.as_str(), main_file.name.as_str())
        } else {
            let fd = &joined_data[fi];
            (fd.header.as_slice(), fd.role.as_str(), fd.display.as_str())
        };
        let ccx = PlanCtx {
            profile,
            header,
            role,
            joined: Vec::new(),
            cli_jurisdiction: None,
            local_tz,
            hash_key: &hash_key,
            typed_source: if grouped { main_parquet } else { is_parquet(profile, &roles[fi + 1].1.path) },
            group: None,
        };
        // Children take their jurisdiction from their parent row (set once the row is matched).
        let mut fields = child.fields.clone();
        let placeholder =
            crate::profile::FieldSpecFull { value: Some(toml::Value::String("pending".into())), ..Default::default() };
        fields.insert("jurisdiction_id".into(), crate::profile::FieldSpec::Full(Box::new(placeholder)));
        let plan = TablePlan::compile(&ccx, table, &[&fields]).map_err(|e| plan_error(display, e))?;
        let file_no = if grouped { 0 } else { fi + 1 };
        child_plans.push((plan, fi, file_no));
    }

    let (group_stream, stream_by) = match stream_setup {
        Some((src, by)) => {
            let g = profile
                .toml
                .group
                .as_ref()
                .ok_or_else(|| ImportError::Internal("a grouped import without [group]".into()))?;
            let st = GroupStream {
                src,
                group: g,
                filters: &group_filters,
                cleaner: cleaner.clone(),
                by: by.clone(),
                header: main_header.clone(),
                display: main_file.name.clone(),
            };
            (Some(st), Some(by))
        }
        None => (None, None),
    };
    let mut ing = store.begin_ingest(batch.clone(), None)?;
    let batch_id = ing.id();
    let files_ref: Vec<&FileData> = joined_data.iter().collect();
    let reader_store = if main_parquet && !grouped { Some((store.try_clone()?, main_file.path.clone())) } else { None };
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
    let (chunk_tx, chunk_rx) = mpsc::sync_channel::<Chunk>(2 * n_workers);
    let (pool_tx, pool_rx) = mpsc::sync_channel::<Rows>(4 * n_workers);
    let (tx, rx) = mpsc::sync_channel::<RecordBatch>(2 * n_workers);
    let (reject_tx, reject_rx) = mpsc::channel::<Vec<(u64, Problem)>>();
    let chunk_rx = std::sync::Mutex::new(chunk_rx);
    let mut senders = Some((chunk_tx, pool_tx, tx, pool_rx, reject_tx));
    let (read_result, stats, write_result) = std::thread::scope(|s| {
        let Some((chunk_tx, pool_tx, tx, pool_rx, reject_tx)) = senders.take() else {
            return (
                Ok(ReadInfo::default()),
                Err(ImportError::Internal("the worker channels could not be set up".into())),
                Ok(0),
            );
        };
        let report = &report;
        let reader = std::thread::Builder::new().name("import-read".into()).spawn_scoped(s, move || {
            read_main(csv_main, reader_store, grouped_rows, group_stream, chunk_tx, pool_rx, report)
        });
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
                fields_per_row: main_width,
                filters: &filters,
                cleaner: cleaner.clone(),
                key_hash_list: Vec::new(),
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
            match h.map_err(|e| ImportError::io("thread", e)).and_then(|h| {
                h.join().unwrap_or_else(|_| Err(ImportError::Internal("a mapping thread panicked".into())))
            }) {
                Ok(st) => stats.merge(st),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        let read_result = reader.map_err(|e| ImportError::io("thread", e)).and_then(|h| {
            h.join().unwrap_or_else(|_| Err(ImportError::Internal("the reading thread panicked".into())))
        });
        (read_result, first_err.map_or(Ok(stats), Err), write_result)
    });
    // The first error that is not a cancellation explains the others: a refusal found by the reader (bad
    // bytes at line N) or by a mapping thread stops the rest, which then only see their channel close.
    let mut errors = Vec::new();
    let streamed = read_result.map_err(|e| errors.push(e)).ok();
    let inserted = write_result.map_err(|e| errors.push(e)).ok();
    let stats = stats.map_err(|e| errors.push(e)).ok();
    if !errors.is_empty() {
        let i = errors.iter().position(|e| !is_cancellation(e)).unwrap_or(0);
        return Err(errors.swap_remove(i));
    }
    let (Some(streamed), Some(inserted), Some(mut stats)) = (streamed, inserted, stats) else {
        return Err(ImportError::Internal("an import thread ended without a result".into()));
    };
    if stream_by.is_some() {
        let g = std::mem::take(&mut main_info.groups);
        main_info = streamed;
        let groups = std::mem::take(&mut main_info.groups);
        grouped_counts = (groups.rows + groups.rejects.len() as i64, groups.filtered);
        stats.filtered = groups.filtered;
        early_rejects.extend(groups.rejects.into_iter().map(|(l, p)| (0, l, p)));
        main_info.groups = GroupCounts { rejected_keys: groups.rejected_keys, ..g };
    } else if grouped {
        stats.filtered = grouped_counts.1;
    } else {
        main_info = streamed;
    }
    tracing::debug!(
        rows = inserted,
        seconds = t_map.elapsed().as_secs_f64(),
        workers = n_workers,
        "mapped the main file"
    );

    // The bytes imported are the bytes hashed, and no file moved while it was read.
    for (k, info) in std::iter::once(&main_info).chain(&joined_info).enumerate() {
        let k = if grouped { 0 } else { k };
        if let Some(h) = &info.sha256 {
            if !batch.files[k].sha256.is_empty() && batch.files[k].sha256 != *h {
                return Err(snapshots[k].changed());
            }
            batch.files[k].sha256 = h.clone();
        }
        snapshots[k].check(info.bytes)?;
    }
    for k in 0..batch.files.len() {
        if let Some(j) = (0..k).find(|&j| batch.files[j].sha256 == batch.files[k].sha256) {
            let role = |i: usize| (format!("{} file", roles[i].0), roles[i].1.clone());
            return Err(same_content(&role(j), &role(k)));
        }
    }
    batch.sha256 = identity(&batch.files);
    // The identity check of a streamed input: an earlier batch may hold it after all.
    let mut replaces = None;
    if let Some(b) = store.find_committed_batch(&batch.dataset, &batch.profile, &batch.sha256)? {
        if !req.replace {
            ing.rollback();
            return already_imported(profile, main_file, b);
        }
        replaces = Some(b.id);
    }
    ing.set_identity(batch.files.clone(), batch.sha256.clone(), replaces);
    let data_rows = stats.read + stats.filtered + if grouped { 0 } else { early_rejects.len() as i64 };
    if data_rows == 0 && grouped_counts.0 == 0 {
        return Err(ImportError::refused(
            &main_file.name,
            None,
            None,
            format!(
                "the file has a header but no data rows ({} lines read, {} of them blank)",
                main_info.lines,
                main_info.blank as i64 + stats.blank
            ),
        ));
    }
    for rejects in reject_rx.try_iter() {
        for (line, p) in rejects {
            ing.reject(0, line as i64, Some(&p.column), p.value.as_deref(), &p.reason)?;
        }
    }
    // Rows rejected before mapping: a joined file's rows of the wrong shape; a grouped file's rows of the
    // wrong shape, without a key or in a group that is not constant. (In a grouped file each is a child row.)
    for (file, line, p) in &early_rejects {
        ing.reject(*file, *line as i64, Some(&p.column), p.value.as_deref(), &p.reason)?;
    }
    // They count with the child rows where the file's rows are children, else with the batch's rows.
    let early = early_rejects.len() as i64;
    let mut child_rejected = if grouped && !profile.toml.children.is_empty() { early } else { 0 };
    if grouped && profile.toml.children.is_empty() {
        stats.read += early;
        stats.rejected += early;
    }
    let mut warnings = Vec::new();
    let (superseded, key_rejects) = check_keys(&mut ing, profile, main_table, &mut stats, &mut warnings)?;
    stats.rejected += key_rejects;
    stats.accepted -= key_rejects;

    let main_counts = TableCounts {
        table: main_table.name().to_owned(),
        read: stats.read,
        accepted: stats.accepted,
        rejected: stats.rejected,
    };
    let mut tables = vec![main_counts];
    for (mut plan, fi, file_no) in child_plans {
        let mut counts = if let Some(by) = &stream_by {
            // The children of a streamed file: the file again, chunk by chunk, and the same bytes.
            let src = CsvSource::open(&main_file.path, &main_file.name, &profile.csv, counter.clone(), true)?;
            let rows_of = RecordRows {
                by,
                filters: &group_filters,
                cleaner: &cleaner,
                rejected: &main_info.groups.rejected_keys,
            };
            let (c, sha) = stream_children(&mut ing, &mut plan, src, &rows_of, &stats.keys, batch_id)?;
            if sha != main_info.sha256 {
                return Err(snapshots[0].changed());
            }
            c
        } else {
            import_children(&mut ing, &mut plan, &joined_data[fi], file_no, &stats.keys, batch_id, grouped)?
        };
        counts.read += child_rejected;
        counts.rejected += child_rejected;
        child_rejected = 0;
        stats.read += counts.read;
        stats.accepted += counts.accepted;
        stats.rejected += counts.rejected;
        tables.push(counts);
    }
    if !grouped {
        stats.read += early;
        stats.rejected += early;
    }
    let created = ensure_jurisdictions(&ing, profile, &stats.jurisdictions)?;
    let details = BatchDetails {
        lines_read: main_info.lines as i64,
        blank_lines: main_info.blank as i64 + stats.blank,
        rows_filtered: stats.filtered,
        records_superseded: superseded,
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
            file: main_file.name.clone(),
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
    progress(Progress { bytes_read: bytes_total, bytes_total, rows_read: stats.read as u64 });
    let top_reasons = store.top_reject_reasons(batch.id, 5)?;
    Ok(ImportOutcome::Imported(ImportReport {
        batch,
        tables,
        top_reasons,
        jurisdictions_created: created,
        warnings,
        reject_share,
        over_reject_share,
    }))
}

fn filter_error(f: &InputFile, (column, message): (String, String)) -> ImportError {
    ImportError::refused(&f.name, None, Some(&column), message)
}

/// The record-key rules: a key on several rows of the batch, and a key other batches hold. Returns the
/// records superseded in other batches and the rows this batch rejected for their keys.
fn check_keys(
    ing: &mut Ingest<'_>,
    profile: &Profile,
    table: Table,
    stats: &mut MapStats,
    warnings: &mut Vec<String>,
) -> Result<(i64, i64), ImportError> {
    let key_fields = table.key_fields();
    if key_fields.is_empty() {
        return Ok((0, 0));
    }
    let may_repeat = stats.keys_may_repeat();
    let unmapped: Vec<&str> = key_fields.iter().copied().filter(|f| !profile.toml.fields.contains_key(*f)).collect();
    if !unmapped.is_empty() {
        warnings.push(format!(
            "the profile maps no {} (the record key of {table} is {}): rows that repeat a record cannot be found",
            unmapped.join(" or "),
            key_fields.join(" + ")
        ));
        return Ok((0, 0));
    }
    let label = key_fields
        .iter()
        .map(|f| match profile.toml.fields.get(*f) {
            Some(crate::profile::FieldSpec::Column(c)) => c.clone(),
            Some(spec) => spec.full().column.unwrap_or_else(|| (*f).to_owned()),
            None => (*f).to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" + ");
    let mut dropped: Vec<i64> = Vec::new();
    let list = |lines: &[i64]| {
        let shown: Vec<String> = lines.iter().take(10).map(i64::to_string).collect();
        let more = if lines.len() > 10 { format!(" and {} more", lines.len() - 10) } else { String::new() };
        format!("{}{more}", shown.join(", "))
    };
    use crate::profile::{ExistingAction, RepeatAction};
    let repeated = if may_repeat { ing.repeated_keys(table)? } else { Vec::new() };
    for rk in repeated {
        let n = rk.lines.len();
        let (drop, kept): (&[i64], Option<i64>) = match profile.toml.keys.repeat {
            RepeatAction::Reject => (&rk.lines, None),
            RepeatAction::First => (&rk.lines[1..], Some(rk.lines[0])),
            RepeatAction::Last => (&rk.lines[..n - 1], Some(rk.lines[n - 1])),
        };
        for &line in drop {
            let others: Vec<i64> = rk.lines.iter().copied().filter(|&l| l != line).collect();
            let reason = match kept {
                None => format!(
                    "record key {} repeats: also on line(s) {} (all rejected: never guessed which is right; a file with \
                     one row per child needs [group] by, a file of updates [keys] repeat = \"last\")",
                    rk.key,
                    list(&others)
                ),
                Some(k) => format!("record key {} repeats: line {k} is kept ([keys] repeat)", rk.key),
            };
            ing.reject(0, line, Some(&label), Some(&rk.key), &reason)?;
        }
        dropped.extend_from_slice(drop);
        if kept.is_none() {
            stats.keys.remove(&rk.key);
        }
    }
    ing.remove_rows(table, &dropped)?;
    let mut rejected = dropped.len() as i64;
    let held = ing.keys_held_elsewhere(table)?;
    let mut superseded = 0;
    if !held.is_empty() {
        match profile.toml.keys.existing {
            ExistingAction::Reject => {
                let mut lines = Vec::new();
                for h in &held {
                    if lines.last() == Some(&h.line) {
                        continue;
                    }
                    lines.push(h.line);
                    let reason = format!(
                        "record key {} is already held by batch {} (line {}): imported before? set [keys] existing \
                         = \"supersede\" if this file corrects that one",
                        h.key, h.other_batch, h.other_line
                    );
                    ing.reject(0, h.line, Some(&label), Some(&h.key), &reason)?;
                    stats.keys.remove(&h.key);
                }
                ing.remove_rows(table, &lines)?;
                rejected += lines.len() as i64;
            }
            ExistingAction::Supersede => {
                superseded = ing.supersede_keys(table, profile.dataset.child_tables())?;
            }
        }
    }
    Ok((superseded, rejected))
}

/// Child rows (allegations, charges): each must belong to an accepted main record.
fn import_children(
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
