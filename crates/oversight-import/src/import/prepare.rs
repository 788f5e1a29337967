//! Before any row is mapped: the joined files loaded and indexed, the main file opened (streamed, read
//! whole and grouped, streamed through its groups, or scanned from Parquet), the row filters compiled, and
//! the plans compiled against the headers.

use super::input::{ReadInfo, index_by, is_parquet, load_file};
use super::request::{READ_CHUNK, Run};
use crate::ImportError;
use crate::engine::{AttrPlan, Cleaner, FileData, PlanCtx, PlanError, Problem, TablePlan};
use crate::filter::RowFilter;
use crate::group::group_rows;
use crate::profile::{FieldSpec, FieldSpecFull, GroupToml};
use crate::reader::{CsvSource, Rows};
use chrono_tz::Tz;
use oversight_core::Table;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

/// Where the main file's rows come from.
pub(super) enum MainSource {
    /// A CSV file, streamed in chunks.
    Csv(CsvSource),
    /// A Parquet file, scanned by DuckDB.
    Parquet(PathBuf),
    /// A grouped file read whole: its records (one per group), in chunks.
    Grouped(Vec<Rows>),
    /// A grouped CSV file sorted by its key, streamed through its groups (see [`Inputs::stream_by`]).
    Stream(CsvSource),
}

/// The input opened: everything mapping and finishing need besides the plans.
pub(super) struct Inputs {
    /// Bytes read so far, all files.
    pub counter: Arc<AtomicU64>,
    pub main_parquet: bool,
    /// A `[group]` profile: the main file's rows are children of one record per group.
    pub grouped: bool,
    pub cleaner: Cleaner,
    /// The joined files, loaded whole and indexed; a grouped main file read whole comes first, as `group`.
    pub joined: Vec<FileData>,
    /// What reading each joined file counted.
    pub joined_info: Vec<ReadInfo>,
    /// Rows rejected before mapping: (file number, line, problem).
    pub early_rejects: Vec<(usize, u64, Problem)>,
    /// What reading the main file counted, where it was read here (a grouped file read whole).
    pub main_info: ReadInfo,
    /// A grouped file: its rows (with those rejected before mapping) and the rows the filters left out.
    pub grouped_counts: (i64, i64),
    /// The main file's columns.
    pub header: Vec<String>,
    /// Fields per row, where the workers check the rows' shapes (a CSV file streamed).
    pub width: Option<usize>,
    /// The profile's row filters on the main file's rows (none for a grouped file: see `group_filters`).
    pub filters: Vec<RowFilter>,
    /// The profile's row filters on a grouped file streamed through its groups.
    pub group_filters: Vec<RowFilter>,
    /// A grouped file streamed: the columns of its key.
    pub stream_by: Option<Vec<usize>>,
}

/// Opens the input: loads the joined files and opens the main file as `stream_groups` and the profile say.
pub(super) fn open(r: &Run<'_>, stream_groups: bool) -> Result<(Inputs, MainSource), ImportError> {
    let (profile, main_file) = (r.profile(), r.main_file());
    let src = &profile.toml.source;
    let mut inputs = Inputs {
        counter: Arc::new(AtomicU64::new(0)),
        main_parquet: is_parquet(profile, &main_file.path),
        grouped: profile.grouped(),
        cleaner: Cleaner::new(src.trim, &src.null_values),
        joined: Vec::new(),
        joined_info: Vec::new(),
        early_rejects: Vec::new(),
        main_info: ReadInfo::default(),
        grouped_counts: (0, 0),
        header: Vec::new(),
        width: None,
        filters: Vec::new(),
        group_filters: Vec::new(),
        stream_by: None,
    };
    // Joined files, loaded whole; rows of the wrong shape are rejected once the batch is open.
    for (k, (spec, (role, f))) in profile.toml.files.iter().zip(r.roles).enumerate().skip(1) {
        let (mut fd, info, bad) = load_file(r.store, profile, role, f, inputs.counter.clone())?;
        index_by(&mut fd, spec.key.as_deref().unwrap_or_default())?;
        inputs.early_rejects.extend(bad.into_iter().map(|(l, p)| (k, l, p)));
        inputs.joined.push(fd);
        inputs.joined_info.push(info);
    }
    // A grouped CSV file is streamed through its groups when it is sorted by the key (the reader finds
    // out); otherwise, or from Parquet, it is read whole and grouped first. Any other file is streamed.
    let main = match &profile.toml.group {
        Some(g) if stream_groups && !inputs.main_parquet => open_group_stream(r, &mut inputs, g)?,
        Some(g) => group_whole(r, &mut inputs, g)?,
        None if inputs.main_parquet => {
            inputs.header = r.store.parquet_columns(&main_file.path)?;
            MainSource::Parquet(main_file.path.clone())
        }
        None => {
            let s = CsvSource::open(&main_file.path, &main_file.name, &profile.csv, inputs.counter.clone(), true)?;
            (inputs.header, inputs.width) = (s.header.clone(), Some(s.width));
            MainSource::Csv(s)
        }
    };
    if !inputs.grouped {
        inputs.filters = RowFilter::compile(&profile.toml.filter, &inputs.header).map_err(|e| filter_error(r, e))?;
    }
    Ok((inputs, main))
}

/// A grouped CSV file to stream through its groups: its filters and the columns of its key.
fn open_group_stream(r: &Run<'_>, inputs: &mut Inputs, g: &GroupToml) -> Result<MainSource, ImportError> {
    let (profile, f) = (r.profile(), r.main_file());
    let s = CsvSource::open(&f.path, &f.name, &profile.csv, inputs.counter.clone(), true)?;
    inputs.group_filters = RowFilter::compile(&profile.toml.filter, &s.header).map_err(|e| filter_error(r, e))?;
    let by =
        g.by.to_vec()
            .iter()
            .map(|c| {
                s.header.iter().position(|h| h == c).ok_or_else(|| {
                    ImportError::refused(&f.name, None, Some(c), format!("the group column {c:?} is missing"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
    inputs.header = s.header.clone();
    inputs.stream_by = Some(by);
    Ok(MainSource::Stream(s))
}

/// A grouped file read whole and grouped: its records go to the workers, its rows become the `group` file
/// they join.
fn group_whole(r: &Run<'_>, inputs: &mut Inputs, g: &GroupToml) -> Result<MainSource, ImportError> {
    let (profile, (role, f)) = (r.profile(), &r.roles[0]);
    let (mut fd, info, bad) = load_file(r.store, profile, role, f, inputs.counter.clone())?;
    let filters = RowFilter::compile(&profile.toml.filter, &fd.header).map_err(|e| filter_error(r, e))?;
    let grouped = group_rows(&mut fd, g, &filters, &inputs.cleaner, READ_CHUNK)?;
    let early = &mut inputs.early_rejects;
    early.extend(bad.into_iter().map(|(l, p)| (0, l, p)));
    inputs.grouped_counts = (grouped.rows + early.len() as i64, grouped.filtered);
    early.extend(grouped.rejects.into_iter().map(|(l, p)| (0, l, p)));
    inputs.main_info = info;
    inputs.header = fd.header.clone();
    fd.role = "group".to_owned();
    inputs.joined.insert(0, fd);
    Ok(MainSource::Grouped(grouped.parents))
}

/// The main table's plans, one set per mapping thread, and what the threads need to join and key rows.
pub(super) struct MainPlans {
    /// One set per thread: each compiles its own, since cloned plans would share their mapped text and
    /// every row would then count references to it from two cores at once. A set has one plan per output
    /// row of a record (`[[expand]]` gives several).
    pub per_worker: Vec<Vec<TablePlan>>,
    /// The jurisdiction attributes rows carry.
    pub attrs: AttrPlan,
    /// For each joined file, the main-file column it joins on (a grouped file's rows carry their group key
    /// as an extra last field).
    pub join_cols: Vec<usize>,
    /// The main-file column child rows link to.
    pub key_col: Option<usize>,
}

/// A child table's plan (allegations, charges), compiled against its own file.
pub(super) struct ChildPlan {
    pub plan: TablePlan,
    /// Its file among [`Inputs::joined`].
    pub file: usize,
    /// Its file number in the rejects (0: the main file).
    pub file_no: usize,
}

/// Compiles the plans against the headers: the main table's (once per thread) and each child table's.
pub(super) fn compile(
    r: &Run<'_>,
    inputs: &Inputs,
    jurisdiction_id: Option<&str>,
    workers: usize,
) -> Result<(MainPlans, Vec<ChildPlan>), ImportError> {
    let profile = r.profile();
    let (main_role, main_file) = &r.roles[0];
    let hash_key = r.store.hash_key()?;
    let local_tz = local_tz(r, jurisdiction_id)?;
    let joined = if inputs.grouped {
        vec![("group", inputs.header.as_slice())]
    } else {
        inputs.joined.iter().map(|f| (f.role.as_str(), f.header.as_slice())).collect()
    };
    let cx = PlanCtx {
        profile,
        header: &inputs.header,
        role: main_role,
        joined,
        cli_jurisdiction: r.req.jurisdiction.as_deref(),
        local_tz,
        hash_key: &hash_key,
        typed_source: inputs.main_parquet,
        group: inputs.grouped.then_some(1),
    };
    let main_table = profile.dataset.main_table();
    let compile_set = || -> Result<Vec<TablePlan>, ImportError> {
        let plan =
            |specs: &[&_]| TablePlan::compile(&cx, main_table, specs).map_err(|e| plan_error(&main_file.name, e));
        let fields = &profile.toml.fields;
        if profile.toml.expand.is_empty() {
            Ok(vec![plan(&[fields])?])
        } else {
            profile.toml.expand.iter().map(|e| plan(&[fields, e])).collect()
        }
    };
    let per_worker = (0..workers).map(|_| compile_set()).collect::<Result<Vec<_>, _>>()?;
    let attrs = AttrPlan::compile(&cx).map_err(|e| plan_error(&main_file.name, e))?;
    let join_cols = join_columns(r, inputs)?;
    // The main key children link to.
    let key_col = if profile.toml.children.is_empty() { None } else { join_cols.first().copied() };
    let children = child_plans(r, inputs, local_tz, &hash_key)?;
    Ok((MainPlans { per_worker, attrs, join_cols, key_col }, children))
}

/// The local time zone: the jurisdiction's own, else the profile's.
fn local_tz(r: &Run<'_>, jurisdiction_id: Option<&str>) -> Result<Option<Tz>, ImportError> {
    let from_db = match jurisdiction_id {
        Some(j) => r.store.jurisdiction(j)?.and_then(|j| j.timezone),
        None => None,
    };
    Ok(from_db.or_else(|| r.profile().toml.jurisdiction.timezone.clone()).and_then(|z| z.parse().ok()))
}

/// For each joined file, the main-file column it joins on.
fn join_columns(r: &Run<'_>, inputs: &Inputs) -> Result<Vec<usize>, ImportError> {
    if inputs.grouped {
        return Ok(vec![inputs.header.len()]);
    }
    r.profile()
        .toml
        .files
        .iter()
        .skip(1)
        .map(|s| {
            let on = s.on.as_deref().or(s.key.as_deref()).unwrap_or_default();
            inputs.header.iter().position(|h| h == on).ok_or_else(|| {
                let why = format!("required column {on:?} (the join key) is missing");
                ImportError::refused(&r.main_file().name, None, Some(on), why)
            })
        })
        .collect()
}

/// The child tables' plans, compiled against their own files (a grouped file's children are its own rows).
fn child_plans(
    r: &Run<'_>,
    inputs: &Inputs,
    local_tz: Option<Tz>,
    hash_key: &str,
) -> Result<Vec<ChildPlan>, ImportError> {
    let profile = r.profile();
    let mut plans = Vec::new();
    for (name, child) in &profile.toml.children {
        let table = *Table::ALL.iter().find(|t| t.name() == name).ok_or_else(|| {
            ImportError::Internal(format!("the profile names child table {name}, which does not exist"))
        })?;
        let file = if inputs.grouped {
            0
        } else {
            inputs
                .joined
                .iter()
                .position(|f| f.role == child.file)
                .ok_or_else(|| ImportError::Internal(format!("no input file has the role {}", child.file)))?
        };
        let (header, role, display, typed_source) = if inputs.grouped {
            let (role, f) = &r.roles[0];
            (inputs.header.as_slice(), role.as_str(), f.name.as_str(), inputs.main_parquet)
        } else {
            let fd = &inputs.joined[file];
            let parquet = is_parquet(profile, &r.roles[file + 1].1.path);
            (fd.header.as_slice(), fd.role.as_str(), fd.display.as_str(), parquet)
        };
        let cx = PlanCtx {
            profile,
            header,
            role,
            joined: Vec::new(),
            cli_jurisdiction: None,
            local_tz,
            hash_key,
            typed_source,
            group: None,
        };
        // Children take their jurisdiction from their parent row (set once the row is matched).
        let mut fields = child.fields.clone();
        let placeholder = FieldSpecFull { value: Some(toml::Value::String("pending".into())), ..Default::default() };
        fields.insert("jurisdiction_id".into(), FieldSpec::Full(Box::new(placeholder)));
        let plan = TablePlan::compile(&cx, table, &[&fields]).map_err(|e| plan_error(display, e))?;
        plans.push(ChildPlan { plan, file, file_no: if inputs.grouped { 0 } else { file + 1 } });
    }
    Ok(plans)
}

fn plan_error(display: &str, e: PlanError) -> ImportError {
    ImportError::refused(display, None, e.column.as_deref(), e.message)
}

fn filter_error(r: &Run<'_>, (column, message): (String, String)) -> ImportError {
    ImportError::refused(&r.main_file().name, None, Some(&column), message)
}
