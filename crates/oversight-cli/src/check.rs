//! `oversight profiles check PROFILE FILE…`: prints what a dry run of the profile found.

use crate::output::thousands;
use crate::support::refuse;
use anyhow::Result;
use oversight_core::Dataset;
use oversight_import::{CheckReport, InputFile, resolve_profile};
use std::path::PathBuf;
use std::process::ExitCode;

pub(crate) fn check(
    profile: &str,
    files: &[PathBuf],
    jurisdiction: Option<String>,
    dataset: Option<&str>,
    top: usize,
    json: bool,
) -> Result<ExitCode> {
    let dataset: Option<Dataset> = match dataset.map(str::parse).transpose() {
        Ok(d) => d,
        Err(e) => return refuse(format!("--dataset: {e}")),
    };
    let profile = resolve_profile(profile, dataset)?;
    let files = files.iter().map(InputFile::new).collect();
    let r = oversight_import::check(&profile, files, jurisdiction, top.max(1))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        print(&r);
    }
    Ok(ExitCode::SUCCESS)
}

fn print(r: &CheckReport) {
    let b = &r.batch;
    println!("profile {} ({}) on {}: a dry run, nothing was written", r.profile, r.dataset, b.file_names());
    if let Some(d) = &b.details {
        println!(
            "  {} lines: {} blank, {} filtered out by the profile",
            thousands(d.lines_read),
            thousands(d.blank_lines),
            thousands(d.rows_filtered)
        );
        for (rule, n) in &d.rules {
            println!("  rule {rule}: {} rows kept (cleared or flagged)", thousands(*n));
        }
    }
    for t in &r.tables {
        println!(
            "  {:<12} {} read, {} would land, {} rejected",
            t.table,
            thousands(t.read),
            thousands(t.accepted),
            thousands(t.rejected)
        );
    }
    println!("  repeated or already-held record keys: {} rows", thousands(r.repeated_keys));
    for w in &r.warnings {
        println!("  note: {w}");
    }
    println!("\nfields (source -> stored value, records):");
    for f in &r.fields {
        println!(
            "  {}.{} <- {}: {} distinct, {} empty",
            f.table,
            f.field,
            f.source,
            thousands(f.distinct),
            thousands(f.nulls)
        );
        for (raw, stored, n) in &f.values {
            let stored = stored.as_deref().unwrap_or("(empty)");
            match raw {
                Some(raw) if raw != stored => println!("      {raw:?} -> {stored}: {}", thousands(*n)),
                _ => println!("      {stored}: {}", thousands(*n)),
            }
        }
    }
    println!("\nunmapped values (rows rejected until the map has them):");
    if r.unmapped.is_empty() {
        println!("  none");
    }
    for u in &r.unmapped {
        println!("  {}: {:?} on {} rows", u.column, u.value, thousands(u.rows));
    }
    println!("\nrejected rows by reason (dates and times that fail or are ambiguous, shapes, keys, rules):");
    if r.problems.is_empty() {
        println!("  none");
    }
    for p in &r.problems {
        println!("  {} x {}: {}", thousands(p.rows), p.column.as_deref().unwrap_or("-"), p.kind);
        for (line, value, reason) in &p.examples {
            println!("      line {line}: {:?} ({reason})", value.as_deref().unwrap_or(""));
        }
    }
    println!("\nfirst mapped records:");
    for rec in &r.sample {
        let shown: Vec<String> = rec.iter().filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}"))).collect();
        println!("  {}", shown.join(" | "));
    }
}
