//! Command implementations: thin wiring over the library crates.

use crate::cli::{BenchCmd, Cli, Command, ImportArgs, JurisdictionSet, JurisdictionsCmd, ProfilesCmd};
use crate::output::{table, thousands};
use crate::support::{Refusal, open, open_writable, refuse};
use anyhow::{Context, Result};
use oversight_core::{Dataset, ErrorCode};
use oversight_import::{ImportError, ImportOutcome, ImportReport, ImportRequest, InputFile, Progress, resolve_profile};
use oversight_metrics::published::PublishedPoint;
use oversight_store::{Jurisdiction, JurisdictionPatch, Store, StoreError};
use std::path::Path;
use std::process::ExitCode;

/// Exit codes (documented in `oversight --help` and the README).
const EXIT_INTERNAL: u8 = 1;
const EXIT_REFUSED: u8 = 2;
const EXIT_LOCKED: u8 = 3;
/// The import landed, but more of its rows were rejected than `[import] max_reject_share` allows.
const EXIT_TOO_MANY_REJECTS: u8 = 4;
const EXIT_STORAGE: u8 = 5;

pub(crate) fn run(cli: Cli) -> ExitCode {
    init_logging();
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            let code = exit_code(&e);
            eprintln!("error: {e:#}");
            ExitCode::from(code)
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("OVERSIGHT_LOG").unwrap_or_else(|_| "warn".into());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

fn exit_code(e: &anyhow::Error) -> u8 {
    if let Some(ImportError::TooManyRejects { .. }) = e.downcast_ref::<ImportError>() {
        return EXIT_TOO_MANY_REJECTS;
    }
    let code = if let Some(i) = e.downcast_ref::<ImportError>() {
        i.code()
    } else if let Some(s) = e.downcast_ref::<StoreError>() {
        s.code()
    } else if let Some(m) = e.downcast_ref::<oversight_metrics::MetricsError>() {
        m.code()
    } else if e.downcast_ref::<Refusal>().is_some() {
        ErrorCode::InvalidParameter
    } else {
        ErrorCode::Internal
    };
    match code {
        ErrorCode::Internal => EXIT_INTERNAL,
        ErrorCode::Unavailable => EXIT_LOCKED,
        ErrorCode::InsufficientStorage | ErrorCode::DatabaseCorrupt => EXIT_STORAGE,
        _ => EXIT_REFUSED,
    }
}

fn dispatch(cli: Cli) -> Result<ExitCode> {
    let settings = crate::config::load(cli.config.as_deref())?;
    let db = cli.db.clone().or_else(|| settings.db.clone()).unwrap_or_else(|| "oversight.duckdb".into());
    let db = db.as_path();
    match cli.command {
        Command::Serve { bind } => crate::serve::serve(db, &settings, bind),
        Command::Demo { bind } => crate::serve::demo(cli.db.as_deref(), &settings, bind),
        Command::Keys(cmd) => crate::serve::keys(&open(db)?, cmd),
        Command::Openapi => {
            print!("{}", oversight_api::openapi_json());
            Ok(ExitCode::SUCCESS)
        }
        Command::Import(args) => import(db, &settings.import, args),
        Command::Batches { limit, json } => batches(db, limit, json),
        Command::Rejects { batch, csv, limit } => rejects(db, batch, csv, limit),
        Command::Profiles { show, action: None } => profiles(show),
        Command::Profiles {
            action: Some(ProfilesCmd::Check { profile, files, jurisdiction, dataset, top, json }),
            ..
        } => crate::check::check(&profile, &files, jurisdiction, dataset.as_deref(), top, json),
        Command::Fixtures { out, seed } => {
            let written = oversight_import::fixtures::generate(&out, seed)
                .with_context(|| format!("writing {}", out.display()))?;
            for w in written {
                println!("{w}");
            }
            println!("fixtures written to {} (seed {seed}); see {}/README.md", out.display(), out.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Jurisdictions(cmd) => jurisdictions(db, cmd),
        Command::Bench(cmd) => bench(db, cmd),
        Command::Compute { indicator, jurisdiction, since, full, json } => {
            let req = oversight_metrics::ComputeRequest { indicator, jurisdiction, since, full };
            compute(db, &settings.metrics, &req, json)
        }
        Command::Indicators { json } => indicators(json),
        Command::Series(args) => series(db, &args),
        Command::Quality { jurisdiction } => quality(db, jurisdiction.as_deref()),
        Command::Events(cmd) => crate::analyze::events(&open(db)?, cmd),
        Command::Analyze(cmd) => crate::analyze::analyze(&open(db)?, &settings.analysis, cmd),
        Command::Export(args) => crate::export::export(db, &args),
        Command::Table(args) => crate::export::table(db, &settings.metrics, &args),
    }
}

fn import(db: &Path, cfg: &oversight_import::ImportConfig, args: ImportArgs) -> Result<ExitCode> {
    let dataset: Dataset = match args.dataset.parse() {
        Ok(d) => d,
        Err(e) => return refuse(format!("--dataset: {e}")),
    };
    let profile = resolve_profile(&args.profile, Some(dataset))?;
    if let Some(server) = &args.server {
        return crate::serve::upload(server, &args, dataset, !profile.toml.files.is_empty());
    }
    let inputs: Vec<Vec<InputFile>> = if let Some(dir) = &args.dir {
        if !profile.toml.files.is_empty() {
            return refuse(format!(
                "--dir imports one file per batch, but profile {} reads several files together",
                profile.name
            ));
        }
        let files = oversight_import::files_in(dir, |_| true)
            .with_context(|| format!("reading directory {}", dir.display()))?;
        files.into_iter().map(|p| vec![InputFile::new(p)]).collect()
    } else if args.files.is_empty() {
        return refuse("no file to import: give FILE... or --dir DIR");
    } else if profile.toml.files.is_empty() {
        args.files.iter().map(|p| vec![InputFile::new(p)]).collect()
    } else {
        vec![args.files.iter().map(InputFile::new).collect()]
    };
    let store = open_writable(db)?;
    // Indicators are recomputed by `oversight compute`, not after each import from the command line.
    let mut apply = oversight_service::Apply::new(&store, None);
    let mut worst = 0u8;
    let mut imported = 0;
    let mut skipped = 0;
    for files in inputs {
        let names = files.iter().map(|f| f.name.as_str()).collect::<Vec<_>>().join(" + ");
        let req = ImportRequest {
            jurisdiction: args.jurisdiction.clone(),
            replace: args.replace,
            max_reject_share: cfg.max_reject_share,
            strict: args.strict,
            ..ImportRequest::new(profile.clone(), files, "cli")
        };
        let bar = progress_bar(&req);
        let cb = |p: Progress| {
            if let Some(b) = &bar {
                b.set_length(p.bytes_total);
                b.set_position(p.bytes_read);
                b.set_message(format!("{} rows", thousands(p.rows_read as i64)));
            }
        };
        let res = apply.import(&req, &cb);
        if let Some(b) = &bar {
            b.finish_and_clear();
        }
        match res {
            Ok(ImportOutcome::Imported(report)) => {
                imported += 1;
                print_report(&store, &report, &names, args.rejects.as_deref())?;
                if report.over_reject_share {
                    eprintln!(
                        "error: {names}: {:.1}% of the rows were rejected, above the limit of {:.1}% ([import] \
                         max_reject_share): the batch landed, but check the rejects (--strict lands nothing then)",
                        100.0 * report.reject_share,
                        100.0 * cfg.max_reject_share
                    );
                    worst = worst.max(EXIT_TOO_MANY_REJECTS);
                }
            }
            Ok(ImportOutcome::AlreadyImported(b)) => {
                skipped += 1;
                println!(
                    "{names}: already imported as batch {} on {} with profile {} (sha256 {}…); nothing changed. \
                     Use --replace to import it again.",
                    b.id,
                    b.started_at.format("%Y-%m-%d %H:%M"),
                    b.profile,
                    &b.sha256[..12]
                );
            }
            Err(e) => {
                let e = anyhow::Error::from(e);
                let code = exit_code(&e);
                if args.dir.is_none() {
                    return Err(e);
                }
                // In folder mode one bad file does not stop the others.
                eprintln!("error: {names}: {e:#}");
                worst = worst.max(code);
            }
        }
    }
    if args.dir.is_some() {
        println!("{imported} imported, {skipped} already imported");
    }
    Ok(if worst == 0 { ExitCode::SUCCESS } else { ExitCode::from(worst) })
}

fn progress_bar(req: &ImportRequest) -> Option<indicatif::ProgressBar> {
    let total: u64 = req.files.iter().filter_map(|f| std::fs::metadata(&f.path).ok()).map(|m| m.len()).sum();
    if total < 8 << 20 {
        return None;
    }
    let bar = indicatif::ProgressBar::with_draw_target(Some(total), indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg} ({eta})") {
        bar.set_style(style);
    }
    Some(bar)
}

fn print_report(store: &Store, r: &ImportReport, names: &str, rejects_csv: Option<&Path>) -> Result<()> {
    let b = &r.batch;
    println!("{names}: imported as batch {} ({} with profile {})", b.id, b.dataset, b.profile);
    if let Some(d) = &b.details {
        println!("  lines read     {:>12}", thousands(d.lines_read));
        if d.blank_lines > 0 {
            println!("  blank lines    {:>12}  (skipped)", thousands(d.blank_lines));
        }
        if d.rows_filtered > 0 {
            println!("  filtered out   {:>12}  (the profile's [[filter]])", thousands(d.rows_filtered));
        }
    }
    println!("  rows read      {:>12}", thousands(b.rows_read));
    println!("  accepted       {:>12}", thousands(b.rows_accepted));
    println!("  rejected       {:>12}", thousands(b.rows_rejected));
    if let Some(d) = &b.details {
        for (rule, n) in &d.rules {
            println!("  rule {rule}: {} rows kept (cleared or flagged, as the profile says)", thousands(*n));
        }
        if d.records_superseded > 0 {
            println!(
                "  superseded     {:>12}  records of earlier batches with the same keys",
                thousands(d.records_superseded)
            );
        }
    }
    for w in &r.warnings {
        println!("  note: {w}");
    }
    if r.tables.len() > 1 {
        for t in &r.tables {
            println!(
                "    {:<14} {} read, {} accepted, {} rejected",
                t.table,
                thousands(t.read),
                thousands(t.accepted),
                thousands(t.rejected)
            );
        }
    }
    if let (Some(a), Some(z)) = (b.date_min, b.date_max) {
        println!("  dates          {a} .. {z}");
    }
    if let Some(old) = b.replaces {
        println!("  replaced batch {old} (its rows are gone; it is marked superseded)");
    }
    if !r.jurisdictions_created.is_empty() {
        let shown: Vec<&str> = r.jurisdictions_created.iter().take(5).map(String::as_str).collect();
        let more = r.jurisdictions_created.len().saturating_sub(5);
        println!(
            "  new jurisdictions {}{}",
            shown.join(", "),
            if more > 0 { format!(" and {more} more") } else { String::new() }
        );
    }
    if !r.top_reasons.is_empty() {
        println!("  top reject reasons:");
        for (reason, n) in &r.top_reasons {
            println!("    {:>8}  {reason}", thousands(*n));
        }
    }
    if b.rows_rejected > 0 {
        match rejects_csv {
            Some(p) => {
                let n = write_rejects_csv(
                    store,
                    b.id,
                    usize::MAX,
                    std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
                )?;
                println!("  {} rejects written to {}", thousands(n as i64), p.display());
            }
            None => println!("  see them with: oversight rejects {}", b.id),
        }
    }
    Ok(())
}

fn write_rejects_csv(store: &Store, batch: i64, limit: usize, out: impl std::io::Write) -> Result<usize> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(["batch", "file", "line", "column", "value", "reason"])?;
    let mut after = None;
    let mut n = 0;
    while n < limit {
        let page = store.rejects(batch, after, 10_000.min(limit - n))?;
        if page.is_empty() {
            break;
        }
        for r in &page {
            w.write_record([
                r.batch_id.to_string(),
                r.file.clone(),
                r.line.to_string(),
                r.column.clone().unwrap_or_default(),
                r.value.clone().unwrap_or_default(),
                r.reason.clone(),
            ])?;
        }
        n += page.len();
        after = page.last().map(|r| r.seq);
    }
    w.flush()?;
    Ok(n)
}

fn batches(db: &Path, limit: usize, json: bool) -> Result<ExitCode> {
    let store = open(db)?;
    let list = store.list_batches(None, limit)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|b| {
            vec![
                b.id.to_string(),
                b.status.to_string(),
                b.dataset.clone(),
                b.profile.clone(),
                thousands(b.rows_read),
                thousands(b.rows_accepted),
                thousands(b.rows_rejected),
                b.started_at.format("%Y-%m-%d %H:%M").to_string(),
                b.file_names(),
            ]
        })
        .collect();
    table(&["batch", "status", "dataset", "profile", "read", "accepted", "rejected", "started", "files"], &rows);
    Ok(ExitCode::SUCCESS)
}

fn rejects(db: &Path, batch: i64, as_csv: bool, limit: usize) -> Result<ExitCode> {
    let store = open(db)?;
    if as_csv {
        write_rejects_csv(&store, batch, limit, std::io::stdout().lock())?;
        return Ok(ExitCode::SUCCESS);
    }
    let list = store.rejects(batch, None, limit)?;
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|r| {
            vec![
                r.file.clone(),
                r.line.to_string(),
                r.column.clone().unwrap_or_default(),
                r.value.clone().unwrap_or_default(),
                r.reason.clone(),
            ]
        })
        .collect();
    table(&["file", "line", "column", "value", "reason"], &rows);
    Ok(ExitCode::SUCCESS)
}

fn profiles(show: Option<String>) -> Result<ExitCode> {
    if let Some(name) = show {
        match oversight_import::shipped::profile_text(&name) {
            Some(t) => print!("{t}"),
            None => return refuse(format!("no shipped profile named {name:?} (see `oversight profiles`)")),
        }
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = oversight_import::shipped_profiles()
        .into_iter()
        .map(|p| vec![p.name.clone(), p.dataset.to_string(), p.title().to_owned()])
        .collect();
    table(&["profile", "dataset", "reads"], &rows);
    println!("\nPrint one with `oversight profiles --show NAME`; pass your own with --profile path/to/profile.toml.");
    Ok(ExitCode::SUCCESS)
}

fn jurisdictions(db: &Path, cmd: JurisdictionsCmd) -> Result<ExitCode> {
    let store = open(db)?;
    match cmd {
        JurisdictionsCmd::List { json } => {
            let mut all = Vec::new();
            let mut after: Option<String> = None;
            loop {
                let page = store.list_jurisdictions(after.as_deref(), 1000)?;
                if page.is_empty() {
                    break;
                }
                after = page.last().map(|j| j.id.clone());
                all.extend(page);
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&all)?);
            } else {
                let rows: Vec<Vec<String>> = all
                    .iter()
                    .map(|j| {
                        vec![
                            j.id.clone(),
                            j.name.clone(),
                            j.kind.clone(),
                            j.timezone.clone().unwrap_or_default(),
                            j.lat.zip(j.lng).map(|(a, b)| format!("{a:.4}, {b:.4}")).unwrap_or_default(),
                            j.population_benchmark_id.clone().unwrap_or_default(),
                        ]
                    })
                    .collect();
                table(&["id", "name", "kind", "time zone", "centroid", "benchmark"], &rows);
            }
        }
        JurisdictionsCmd::Set(set) => {
            let JurisdictionSet { id, name, kind, parent, state, fips, lat, lng, timezone, benchmark } = *set;
            oversight_core::JurisdictionId::new(id.as_str()).map_err(|e| Refusal(e.to_string()))?;
            let patch = JurisdictionPatch {
                name,
                kind,
                parent_id: parent,
                state,
                fips,
                lat,
                lng,
                timezone,
                population_benchmark_id: benchmark,
            };
            if let Err((field, msg)) = patch.check() {
                return refuse(format!("--{field} {msg}"));
            }
            if store.jurisdiction(&id)?.is_none() {
                store.ensure_jurisdiction(&Jurisdiction {
                    id: id.clone(),
                    name: id.clone(),
                    kind: "other".into(),
                    ..Default::default()
                })?;
            }
            let j = store.update_jurisdiction(&id, &patch)?;
            println!("{}", serde_json::to_string_pretty(&j)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn bench(db: &Path, cmd: BenchCmd) -> Result<ExitCode> {
    match cmd {
        BenchCmd::GenStops { rows, out, seed, start, days } => {
            let bytes = oversight_import::bench::write_opp_stops(&out, rows, seed, start, days)?;
            println!("{} rows, {} bytes written to {}", thousands(rows as i64), thousands(bytes as i64), out.display());
        }
        BenchCmd::GenCrime { rows, out, seed, start, days } => {
            let bytes = oversight_import::bench::write_crime_reports(&out, rows, seed, start, days)?;
            println!("{} rows, {} bytes written to {}", thousands(rows as i64), thousands(bytes as i64), out.display());
        }
        BenchCmd::ExportParquet { table, out } => {
            let t = *oversight_core::Table::ALL
                .iter()
                .find(|t| t.name() == table)
                .ok_or_else(|| Refusal(format!("no table {table}")))?;
            let n = open(db)?.export_parquet(t, &out)?;
            println!("{n} rows written to {}", out.display());
        }
        BenchCmd::DuckdbCopy { file } => {
            let (rows, secs) = oversight_store::bench::copy_into_opp_shaped_table(&open(db)?, &file)?;
            println!("{{\"peer\": \"duckdb-copy\", \"rows\": {rows}, \"seconds\": {secs:.3}}}");
        }
        BenchCmd::DuckdbCopyStops { file } => {
            let (rows, secs) = oversight_store::bench::copy_into_stops(&open(db)?, &file)?;
            println!("{{\"peer\": \"duckdb-copy-stops\", \"rows\": {rows}, \"seconds\": {secs:.3}}}");
        }
        BenchCmd::DuckdbInsert { file } => {
            let (rows, secs) = oversight_store::bench::insert_into_stops(&open(db)?, &file)?;
            println!("{{\"peer\": \"duckdb-insert\", \"rows\": {rows}, \"seconds\": {secs:.3}}}");
        }
        BenchCmd::DuckdbReinsert => {
            let (rows, secs, cpu) = oversight_store::bench::reinsert_stops(&open(db)?)?;
            println!(
                "{{\"peer\": \"duckdb-reinsert\", \"rows\": {rows}, \"seconds\": {secs:.3}, \"cpu_seconds\": {cpu:.2}}}"
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn compute(
    db: &Path,
    cfg: &oversight_metrics::MetricsConfig,
    req: &oversight_metrics::ComputeRequest,
    json: bool,
) -> Result<ExitCode> {
    let store = open_writable(db)?;
    let t = std::time::Instant::now();
    let report = oversight_metrics::compute(&store, cfg, req)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    match &report.run {
        None => println!("{}", report.message),
        Some(run) => {
            println!(
                "metric run {}: {} points written, {} replaced, in {:.3} s ({})",
                run.id,
                thousands(run.points_written),
                thousands(run.points_deleted),
                t.elapsed().as_secs_f64(),
                run.parameters.get("mode").and_then(|m| m.as_str()).unwrap_or("")
            );
            for w in &report.work {
                let range = if w.from.format("%Y").to_string() == "1900" {
                    "all dates".to_owned()
                } else {
                    format!("from {}", w.from)
                };
                println!("  {:<14} {:<28} {range}", w.dataset, w.jurisdiction);
            }
            for n in &report.notes {
                println!("  note ({} {}): {}", n.dataset, n.jurisdiction_id, n.message);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn indicators(json: bool) -> Result<ExitCode> {
    if json {
        println!("{}", serde_json::to_string_pretty(oversight_metrics::CATALOG)?);
        return Ok(ExitCode::SUCCESS);
    }
    for i in oversight_metrics::CATALOG {
        println!("{}  —  {}", i.id, i.title);
        println!("    {}", i.definition);
        println!("    formula: {}", i.formula);
        println!(
            "    unit: {}; interval: {}; groups: {}",
            i.unit,
            i.ci_method.unwrap_or("none"),
            std::iter::once("all").chain(i.groups.iter().copied()).collect::<Vec<_>>().join(", ")
        );
        for c in i.caveats {
            println!("    caveat: {c}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn series(db: &Path, a: &crate::cli::SeriesArgs) -> Result<ExitCode> {
    let (indicator, jurisdiction, group) = (a.indicator.as_str(), a.jurisdiction.as_str(), a.group.as_deref());
    let Some(ind) = oversight_metrics::indicator(indicator) else {
        return refuse(format!("--indicator {indicator:?}: no such indicator (see `oversight indicators`)"));
    };
    let Ok(grain) = a.grain.parse::<oversight_core::Grain>() else {
        return refuse(format!("--grain {:?}: expected week, month, quarter, year or all", a.grain));
    };
    // The same checks as the API's: a group the indicator has no breakdown by, or a jurisdiction nobody
    // imported, is an error, not an empty table.
    if let Some(g) = group
        && let Err(why) = ind.check_group(g)
    {
        return refuse(format!("--group {why}"));
    }
    let store = open(db)?;
    if store.jurisdiction(jurisdiction)?.is_none() {
        return refuse(format!(
            "--jurisdiction {jurisdiction:?}: no such jurisdiction (see `oversight jurisdictions list`)"
        ));
    }
    let lo = a.from.unwrap_or(chrono::NaiveDate::MIN);
    let hi = a.to.unwrap_or(chrono::NaiveDate::MAX);
    let rows = store.points(indicator, jurisdiction, grain.as_str(), group, lo, hi)?;
    let points: Vec<PublishedPoint<'_>> = rows.iter().map(|p| PublishedPoint::new(p, grain)).collect();
    if a.csv {
        oversight_metrics::published::write_series_csv(std::io::stdout().lock(), &points)?;
        return Ok(ExitCode::SUCCESS);
    }
    let f = |v: Option<f64>| {
        v.map(|x| format!("{x:.6}").trim_end_matches('0').trim_end_matches('.').to_owned()).unwrap_or_default()
    };
    let rows: Vec<Vec<String>> = points
        .iter()
        .map(|p| {
            vec![
                p.period.clone(),
                p.group.to_owned(),
                f(p.numerator),
                f(p.denominator),
                f(p.value),
                f(p.ci_low),
                f(p.ci_high),
                if p.suppressed {
                    format!("suppressed ({})", p.suppression_reason.unwrap_or_default())
                } else {
                    String::new()
                },
                if p.low_reliability { "low reliability".into() } else { String::new() },
                p.note.unwrap_or_default().to_owned(),
            ]
        })
        .collect();
    let header = [
        "period",
        "group",
        "numerator",
        "denominator",
        "value",
        "ci_low",
        "ci_high",
        "suppressed",
        "reliability",
        "note",
    ];
    table(&header, &rows);
    Ok(ExitCode::SUCCESS)
}

fn quality(db: &Path, jurisdiction: Option<&str>) -> Result<ExitCode> {
    let store = open(db)?;
    if let Some(j) = jurisdiction
        && store.jurisdiction(j)?.is_none()
    {
        return refuse(format!("--jurisdiction {j:?}: no such jurisdiction (see `oversight jurisdictions list`)"));
    }
    for n in store.quality_notes(jurisdiction)? {
        println!("{} ({}): {}", n.jurisdiction_id, n.dataset, n.message);
    }
    Ok(ExitCode::SUCCESS)
}
