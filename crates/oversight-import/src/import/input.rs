//! The input files themselves: which file fills which role, that each is a regular file given once, a
//! snapshot of its size and time to see that it did not change while it was read, and loading one whole.

use crate::ImportError;
use crate::engine::{FileData, Problem};
use crate::hash::combined_sha256;
use crate::profile::Profile;
use crate::reader::{CsvSource, Rows, is_blank, shape_problem};
use crate::values::glob_match;
use oversight_store::arrow::array::{Array, StringArray};
use oversight_store::arrow::compute::cast;
use oversight_store::arrow::datatypes::DataType;
use oversight_store::arrow::record_batch::RecordBatch;
use oversight_store::{BatchFile, Store};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

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

/// Refuses what is not a regular file (a directory, a FIFO, a device) before anything is read.
pub(super) fn check_regular_file(f: &InputFile) -> Result<(), ImportError> {
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
pub(super) fn refuse_same_file_twice(files: &[InputFile]) -> Result<(), ImportError> {
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

pub(super) fn same_content(a: &(String, InputFile), b: &(String, InputFile)) -> ImportError {
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
pub(super) struct FileSnapshot {
    pub(super) name: String,
    pub(super) path: PathBuf,
    pub(super) len: u64,
    pub(super) modified: Option<std::time::SystemTime>,
}

impl FileSnapshot {
    pub(super) fn take(f: &InputFile) -> Result<Self, ImportError> {
        let m = std::fs::metadata(&f.path).map_err(|e| ImportError::io(&f.name, e))?;
        Ok(Self { name: f.name.clone(), path: f.path.clone(), len: m.len(), modified: m.modified().ok() })
    }

    /// The refusal of a file whose bytes read differ from the bytes hashed before.
    pub(super) fn changed(&self) -> ImportError {
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
    pub(super) fn check(&self, bytes_read: Option<u64>) -> Result<(), ImportError> {
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

pub(super) fn identity(files: &[BatchFile]) -> String {
    combined_sha256(&files.iter().map(|f| (f.role.clone(), f.sha256.clone())).collect::<Vec<_>>())
}

pub(super) fn is_parquet(profile: &Profile, path: &Path) -> bool {
    match profile.toml.source.format.as_deref() {
        Some(f) => f == "parquet",
        None => path.extension().is_some_and(|e| e.eq_ignore_ascii_case("parquet") || e.eq_ignore_ascii_case("parq")),
    }
}

/// Matches the input files to the profile's file roles, by name pattern and then by columns.
pub(super) fn assign_roles(
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

pub(super) fn read_header(store: &Store, profile: &Profile, f: &InputFile) -> Result<Vec<String>, ImportError> {
    if is_parquet(profile, &f.path) {
        return Ok(store.parquet_columns(&f.path)?);
    }
    Ok(CsvSource::open(&f.path, &f.name, &profile.csv, Arc::new(AtomicU64::new(0)), false)?.header)
}

/// What reading a file counted besides its records.
#[derive(Debug, Clone, Default)]
pub(super) struct ReadInfo {
    /// sha256 of the bytes read (CSV files are hashed as they are read).
    pub(super) sha256: Option<String>,
    /// Bytes read from the file.
    pub(super) bytes: Option<u64>,
    pub(super) lines: u64,
    pub(super) blank: u64,
    /// A grouped file read as a stream: what grouping found.
    pub(super) groups: GroupCounts,
}

/// What streaming a grouped file through its groups found: rows rejected before mapping (a wrong shape, no
/// key, a column that is not constant), keys of the groups rejected, rows filtered out, rows read.
#[derive(Debug, Clone, Default)]
pub(super) struct GroupCounts {
    pub(super) rejects: Vec<(u64, Problem)>,
    pub(super) rejected_keys: std::collections::HashSet<String>,
    pub(super) filtered: i64,
    pub(super) rows: i64,
}

/// A file read whole, what reading counted, and its rows of the wrong shape (line, problem).
pub(super) type Loaded = (FileData, ReadInfo, Vec<(u64, Problem)>);

/// Loads a file whole (a joined file, or a main file whose rows are grouped): blank rows and rows of the
/// wrong shape are marked excluded (the latter also returned as problems). Not indexed yet.
pub(super) fn load_file(
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
pub(super) const WHOLE_ROW: &str = "(whole row)";

/// Indexes a loaded file by its key column.
pub(super) fn index_by(fd: &mut FileData, key: &str) -> Result<(), ImportError> {
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
pub(super) fn text_columns(b: &RecordBatch) -> Result<(Vec<String>, Vec<StringArray>), ImportError> {
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
pub(super) fn fields_of(cols: &[StringArray], r: usize) -> impl Iterator<Item = &str> {
    cols.iter().map(move |c| if c.is_null(r) { "" } else { c.value(r) })
}
