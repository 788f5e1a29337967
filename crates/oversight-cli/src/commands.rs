//! Command implementations: thin wiring over the library crates.

use crate::cli::{BenchCmd, Cli, Command, EventsCmd, ImportArgs, JurisdictionsCmd, KeysCmd, ProfilesCmd};
use crate::output::{table, thousands};
use crate::remote::Target;
use crate::support::{Refusal, open, refuse};
use anyhow::{Context, Result};
use oversight_core::{Dataset, ErrorCode};
use oversight_import::{ImportError, ImportOutcome, ImportReport, ImportRequest, InputFile, Progress, resolve_profile};
use oversight_store::{Store, StoreError};
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
    // The log's writer thread flushes what is left when its guard is dropped, at the end of the command.
    let mut _log_guard = None;
    let started = crate::config::load(cli.config.as_deref()).and_then(|settings| {
        let serving = matches!(cli.command, Command::Serve { .. } | Command::Demo { .. });
        _log_guard = Some(crate::logging::init(&settings.log, serving)?);
        let _ = crate::support::MEMORY_LIMIT.set(settings.database.memory.clone());
        Ok(settings)
    });
    crate::support::READ_ONLY.store(cli.read_only, std::sync::atomic::Ordering::Relaxed);
    match started.and_then(|settings| dispatch(cli, settings)) {
        Ok(code) => code,
        Err(e) => {
            let code = exit_code(&e);
            eprintln!("error: {e:#}");
            ExitCode::from(code)
        }
    }
}

fn exit_code(e: &anyhow::Error) -> u8 {
    // A command sent through a server: its refusal is the user's (2), a server that does not answer or is
    // busy is unavailable (3), as a locked file is.
    if let Some(r) = e.downcast_ref::<crate::remote::RemoteError>() {
        return match r.status {
            503 => EXIT_LOCKED,
            507 => EXIT_STORAGE,
            400..=499 => EXIT_REFUSED,
            _ => EXIT_INTERNAL,
        };
    }
    if e.downcast_ref::<crate::remote::Unreachable>().is_some() {
        return EXIT_LOCKED;
    }
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

fn dispatch(cli: Cli, settings: crate::config::Settings) -> Result<ExitCode> {
    let db = cli.db.clone().or_else(|| settings.db.clone()).unwrap_or_else(|| "oversight.duckdb".into());
    let db = db.as_path();
    let client = &settings.client;
    match cli.command {
        Command::Serve { bind, writer } => {
            let mut settings = settings;
            if writer.is_some() {
                settings.api.writer_url = writer;
            }
            crate::serve::serve(db, &settings, bind)
        }
        Command::Demo { bind } => crate::serve::demo(cli.db.as_deref(), &settings, bind),
        Command::Keys(cmd) => {
            let writes = !matches!(cmd, KeysCmd::List);
            crate::operate::keys(&Target::open(db, &settings.client, writes)?, cmd)
        }
        Command::Openapi => {
            print!("{}", oversight_api::openapi_json());
            Ok(ExitCode::SUCCESS)
        }
        Command::Import(args) => import(db, &settings, args),
        Command::Batches { limit, json } => crate::operate::batches(&Target::open(db, client, false)?, limit, json),
        Command::Rejects { batch, csv, limit } => {
            crate::operate::rejects(&Target::open(db, client, false)?, batch, csv, limit)
        }
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
        Command::Jurisdictions(cmd) => {
            let writes = matches!(cmd, JurisdictionsCmd::Set(_));
            crate::operate::jurisdictions(&Target::open(db, client, writes)?, cmd)
        }
        Command::Bench(cmd) => bench(db, cmd),
        Command::Compute { indicator, jurisdiction, since, full, cube, json } => {
            let req = oversight_metrics::ComputeRequest { indicator, jurisdiction, since, full, cube };
            crate::operate::compute(&Target::open(db, client, true)?, &settings.metrics, &req, json)
        }
        Command::Indicators { json } => indicators(json),
        Command::Series(args) => crate::operate::series(&Target::open(db, client, false)?, &args),
        Command::Quality { jurisdiction } => {
            crate::operate::quality(&Target::open(db, client, false)?, jurisdiction.as_deref())
        }
        Command::Events(cmd) => {
            let writes = !matches!(cmd, EventsCmd::List { .. });
            crate::operate::events(&Target::open(db, client, writes)?, cmd)
        }
        Command::Analyze(cmd) => {
            crate::analyze::analyze(&open(db)?, &settings.analysis, settings.metrics.suppression_threshold, cmd)
        }
        Command::Backup { to } => crate::operate::backup(&Target::open(db, client, false)?, &to),
        Command::Restore { dir } => crate::operate::restore(&dir, db),
        Command::Export(args) => crate::export::export(db, &args),
        Command::Lake(cmd) => crate::export::lake(db, &settings, cmd),
        Command::Table(args) => crate::export::table(db, &settings.metrics, &args),
    }
}

fn import(db: &Path, settings: &crate::config::Settings, mut args: ImportArgs) -> Result<ExitCode> {
    let cfg = &settings.import;
    let dataset: Dataset = match args.dataset.parse() {
        Ok(d) => d,
        Err(e) => return refuse(format!("--dataset: {e}")),
    };
    let profile = resolve_profile(&args.profile, Some(dataset))?;
    if args.key.is_none() {
        args.key = settings.client.key.clone();
    }
    // --server, `[client] server`, or the server that holds the file: the upload goes through it.
    // Otherwise the file, opened once, here.
    let store = match (&args.server, &settings.client.server) {
        (Some(s), _) | (None, Some(s)) => Err(s.clone()),
        (None, None) => match Target::open(db, &settings.client, true)? {
            Target::Remote(r) => Err(r.base),
            Target::Local(store) => Ok(store),
        },
    };
    let store = match store {
        Ok(store) => store,
        Err(server) => return crate::serve::upload(&server, &args, dataset, !profile.toml.files.is_empty()),
    };
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
                let rows = store.rejects(b.id, None, i64::MAX as usize)?;
                let file = std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?;
                let n = crate::operate::write_rejects_csv(&rows, file)?;
                println!("  {} rejects written to {}", thousands(n as i64), p.display());
            }
            None => println!("  see them with: oversight rejects {}", b.id),
        }
    }
    Ok(())
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

fn bench(db: &Path, cmd: BenchCmd) -> Result<ExitCode> {
    match cmd {
        BenchCmd::GenStops { rows, out, seed, start, days } => {
            let bytes = oversight_import::bench::write_opp_stops(&out, rows, seed, start, days)?;
            println!("{} rows, {} bytes written to {}", thousands(rows as i64), thousands(bytes as i64), out.display());
        }
        BenchCmd::GenCrime { rows, out, seed, start, days, jurisdictions } => {
            let bytes = oversight_import::bench::write_crime_reports_in(&out, rows, seed, start, days, jurisdictions)?;
            println!("{} rows, {} bytes written to {}", thousands(rows as i64), thousands(bytes as i64), out.display());
        }
        BenchCmd::GenCanonicalStops { rows, out, seed, start, days, jurisdictions } => {
            let bytes = oversight_import::bench::write_canonical_stops(&out, rows, seed, start, days, jurisdictions)?;
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
        BenchCmd::TableDigests => {
            for (table, (rows, digest)) in open(db)?.table_digests()? {
                println!("{table}\t{rows}\t{digest}");
            }
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
