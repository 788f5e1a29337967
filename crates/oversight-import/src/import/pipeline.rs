//! The main file's rows mapped on worker threads: a reader thread cuts the file into chunks of rows, each
//! worker maps chunks with its own plans into Arrow record batches, and the calling thread appends them to
//! DuckDB as they come. Rejected rows are sent back and written once the rows are in.

use super::input::{ReadInfo, WHOLE_ROW, fields_of, text_columns};
use super::prepare::{Inputs, MainPlans, MainSource};
use super::request::{CHUNK_ROWS, READ_CHUNK, READ_CHUNK_TEXT, Run};
use crate::ImportError;
use crate::engine::{AttrPlan, Cleaner, FileData, Problem, RowCtx, TablePlan, TableSink, Val, key_of, key_part};
use crate::filter::RowFilter;
use crate::group::group_rows;
use crate::reader::{CsvSource, Row, Rows, is_blank, shape_problem};
use chrono::NaiveDate;
use oversight_store::arrow::record_batch::RecordBatch;
use oversight_store::{Ingest, Store};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::mpsc;

/// What mapping the main file gave.
pub(super) struct Mapped {
    /// What the reader counted (a CSV file streamed, or a grouped one streamed through its groups).
    pub read: ReadInfo,
    pub stats: MapStats,
    /// The rejected rows, by line, from every worker.
    pub rejects: mpsc::Receiver<Vec<(u64, Problem)>>,
}

/// Maps the main file's rows into the batch's main table; the first error that is not a cancellation
/// explains the others.
pub(super) fn map_main(
    r: &Run<'_>,
    ing: &mut Ingest<'_>,
    inputs: &Inputs,
    main: MainSource,
    plans: MainPlans,
    report: &(dyn Fn(u64) + Sync),
) -> Result<Mapped, ImportError> {
    let main_table = r.profile().dataset.main_table();
    let MainPlans { mut per_worker, attrs, join_cols, key_col } = plans;
    let n_workers = per_worker.len();
    let width = per_worker[0][0].width();
    let files: Vec<&FileData> = inputs.joined.iter().collect();
    let source = ReadSource::new(r, inputs, main)?;
    let t_map = std::time::Instant::now();
    // Reader -> workers (chunks of rows), workers -> reader (emptied chunks to reuse), workers -> DuckDB
    // (record batches), workers -> the caller (rejects, written once the rows are in).
    let (chunk_tx, chunk_rx) = mpsc::sync_channel::<Chunk>(2 * n_workers);
    let (pool_tx, pool_rx) = mpsc::sync_channel::<Rows>(4 * n_workers);
    let (tx, rx) = mpsc::sync_channel::<RecordBatch>(2 * n_workers);
    let (reject_tx, reject_rx) = mpsc::channel::<Vec<(u64, Problem)>>();
    let chunk_rx = std::sync::Mutex::new(chunk_rx);
    let batch_id = ing.id();
    let (read, stats, inserted) = std::thread::scope(|s| {
        let reader = std::thread::Builder::new()
            .name("import-read".into())
            .spawn_scoped(s, move || source.read(chunk_tx, pool_rx, report));
        let mut handles = Vec::new();
        for k in 0..n_workers {
            let w = Worker {
                plans: per_worker.pop().unwrap_or_default(),
                attrs: attrs.clone(),
                sink: TableSink::new(main_table),
                files: &files,
                join_cols: &join_cols,
                key_col,
                batch_id,
                tx: tx.clone(),
                rejects: reject_tx.clone(),
                stats: MapStats::default(),
                pending_rejects: Vec::new(),
                width,
                fields_per_row: inputs.width,
                filters: &inputs.filters,
                cleaner: inputs.cleaner.clone(),
                key_hash_list: Vec::new(),
            };
            let (chunk_rx, pool_tx) = (&chunk_rx, pool_tx.clone());
            let worker = move || work(w, chunk_rx, &pool_tx);
            handles.push(std::thread::Builder::new().name(format!("import-map-{k}")).spawn_scoped(s, worker));
        }
        drop((tx, pool_tx, reject_tx));
        let schema = TableSink::new(main_table).schema();
        let inserted = ing.append_stream(main_table, schema, rx).map_err(ImportError::from);
        let mut stats = Ok(MapStats::default());
        for h in handles {
            let result = h.map_err(|e| ImportError::io("thread", e)).and_then(|h| {
                h.join().unwrap_or_else(|_| Err(ImportError::Internal("a mapping thread panicked".into())))
            });
            stats = match (stats, result) {
                (Ok(mut all), Ok(one)) => {
                    all.merge(one);
                    Ok(all)
                }
                (Err(e), _) | (Ok(_), Err(e)) => Err(e),
            };
        }
        let read = reader.map_err(|e| ImportError::io("thread", e)).and_then(|h| {
            h.join().unwrap_or_else(|_| Err(ImportError::Internal("the reading thread panicked".into())))
        });
        (read, stats, inserted)
    });
    // A refusal found by the reader (bad bytes at line N) or by a mapping thread stops the rest, which
    // then only see their channel close.
    let (read, stats, inserted) = match (read, stats, inserted) {
        (Ok(read), Ok(stats), Ok(inserted)) => (read, stats, inserted),
        (read, stats, inserted) => {
            let mut errors: Vec<ImportError> =
                [read.err(), inserted.err(), stats.err()].into_iter().flatten().collect();
            let i = errors.iter().position(|e| !is_cancellation(e)).unwrap_or(0);
            return Err(errors.swap_remove(i));
        }
    };
    let seconds = t_map.elapsed().as_secs_f64();
    tracing::debug!(rows = inserted, seconds, workers = n_workers, "mapped the main file");
    Ok(Mapped { read, stats, rejects: reject_rx })
}

/// The reading thread's source: the main file, or its groups.
pub(super) enum ReadSource<'a> {
    Csv(CsvSource),
    Parquet(Store, PathBuf),
    Grouped(Vec<Rows>),
    Stream(GroupStream<'a>),
}

impl<'a> ReadSource<'a> {
    fn new(r: &Run<'_>, inputs: &'a Inputs, main: MainSource) -> Result<Self, ImportError> {
        Ok(match main {
            MainSource::Csv(src) => Self::Csv(src),
            // The reading thread scans the Parquet file on a connection of its own.
            MainSource::Parquet(path) => Self::Parquet(r.store.try_clone()?, path),
            MainSource::Grouped(rows) => Self::Grouped(rows),
            MainSource::Stream(src) => {
                let (Some(group), Some(by)) = (r.profile().toml.group.clone(), inputs.stream_by.clone()) else {
                    return Err(ImportError::Internal("a grouped import without [group]".into()));
                };
                Self::Stream(GroupStream {
                    src,
                    group,
                    filters: &inputs.group_filters,
                    cleaner: inputs.cleaner.clone(),
                    by,
                    header: inputs.header.clone(),
                    display: r.main_file().name.clone(),
                })
            }
        })
    }
}

/// A grouped CSV file streamed through its groups (sorted by the group key): the reader cuts it into
/// chunks of whole groups, each with its rows, so memory holds a chunk at a time. A key that comes back
/// after its group ended means the file is not sorted: the import then starts over in memory.
pub(super) struct GroupStream<'a> {
    src: CsvSource,
    group: crate::profile::GroupToml,
    filters: &'a [RowFilter],
    cleaner: Cleaner,
    by: Vec<usize>,
    header: Vec<String>,
    display: String,
}

/// A chunk of the main file for a mapping worker: its rows, and for a grouped file the rows of its groups.
pub(super) struct Chunk {
    rows: Rows,
    group: Option<FileData>,
}

/// What a mapping worker learned.
#[derive(Default)]
pub(super) struct MapStats {
    pub(super) read: i64,
    pub(super) accepted: i64,
    pub(super) rejected: i64,
    pub(super) date_range: Option<(NaiveDate, NaiveDate)>,
    /// Accepted main keys -> their jurisdiction (for child rows).
    pub(super) keys: HashMap<String, String>,
    /// Jurisdictions seen, with attributes from their first row.
    pub(super) jurisdictions: BTreeMap<String, Vec<(&'static str, String)>>,
    /// Blank records passed (lines of blanks or delimiters only).
    pub(super) blank: i64,
    /// Rows the profile's filters left out.
    pub(super) filtered: i64,
    /// Rows kept under each cross-field rule set to `null` or `keep`.
    pub(super) rules: BTreeMap<String, i64>,
    /// Hashes of the accepted rows' record keys, sorted, one list per worker.
    pub(super) key_hashes: Vec<Vec<u64>>,
}

impl MapStats {
    /// Whether two accepted rows may share a record key: some hash occurs twice. (Distinct hashes prove
    /// distinct keys; an equal pair may be a collision, which the exact check then clears.)
    pub(super) fn keys_may_repeat(&self) -> bool {
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
    pub(super) fn merge(&mut self, o: MapStats) {
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

pub(super) fn widen(range: &mut Option<(NaiveDate, NaiveDate)>, d: NaiveDate) {
    *range = Some(match *range {
        None => (d, d),
        Some((a, b)) => (a.min(d), b.max(d)),
    });
}

/// Maps rows of the main file (one per worker thread).
pub(super) struct Worker<'a> {
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
pub(super) const CANCELLED: &str = "a thread of the import stopped before the import ended";

pub(super) fn cancelled<T>(_: T) -> ImportError {
    ImportError::Internal(CANCELLED.into())
}

pub(super) fn is_cancellation(e: &ImportError) -> bool {
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

/// How many threads map rows: one per core (the writer and reader share them), at most four.
pub(super) fn workers() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).clamp(1, 4)
}

impl ReadSource<'_> {
    /// Reads the main file into chunks for the workers (or hands them the groups' rows, already read, or
    /// streams a sorted grouped file through its groups). Returns what reading counted.
    fn read(
        self,
        tx: mpsc::SyncSender<Chunk>,
        pool: mpsc::Receiver<Rows>,
        report: &(dyn Fn(u64) + Sync),
    ) -> Result<ReadInfo, ImportError> {
        match self {
            Self::Grouped(chunks) => {
                for chunk in chunks {
                    tx.send(Chunk { rows: chunk, group: None }).map_err(cancelled)?;
                }
                Ok(ReadInfo::default())
            }
            Self::Stream(stream) => read_groups(stream, &tx, report),
            Self::Csv(src) => read_csv(src, &tx, &pool, report),
            Self::Parquet(store, path) => {
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
                Ok(ReadInfo { lines: n, ..Default::default() })
            }
        }
    }
}

/// Streams a CSV file in chunks; the workers send the chunks back emptied, to be filled again.
pub(super) fn read_csv(
    mut src: CsvSource,
    tx: &mpsc::SyncSender<Chunk>,
    pool: &mpsc::Receiver<Rows>,
    report: &(dyn Fn(u64) + Sync),
) -> Result<ReadInfo, ImportError> {
    let (mut rows, mut sent) = (0u64, 0u64);
    loop {
        let mut chunk = pool.try_recv().unwrap_or_default();
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
    Ok(ReadInfo { sha256, bytes: Some(bytes), lines, blank, ..Default::default() })
}

/// Streams a grouped file sorted by its key: chunks of whole groups, each grouped and sent with its rows.
pub(super) fn read_groups(
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
        let g = group_rows(&mut fd, &st.group, st.filters, &st.cleaner, usize::MAX)?;
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

/// Maps chunks until the reader is done.
pub(super) fn work(
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
