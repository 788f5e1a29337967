//! The operator's commands — keys, policy events, jurisdictions, batches, rejects, series, quality notes and
//! compute — on a [`Target`]: the database file, or the running server that holds it. Each reads the same
//! data types from either and prints them with the same code.

use crate::cli::{EventsCmd, JurisdictionSet, JurisdictionsCmd, KeysCmd, SeriesArgs};
use crate::output::{table, thousands};
use crate::remote::{Target, enc, query};
use crate::support::{Refusal, refuse};
use anyhow::Result;
use oversight_api::Role;
use oversight_core::{CodeList, PolicyKind};
use oversight_metrics::published::PublishedPoint;
use oversight_store::{
    ApiKey, BatchRecord, Jurisdiction, JurisdictionPatch, NewPolicyEvent, PointRow, PolicyEvent, QualityNote,
    RejectRecord,
};
use serde_json::{Value, json};
use std::process::ExitCode;

/// Refuses a jurisdiction nobody imported or set, as every command that takes one does.
fn known_jurisdiction(t: &Target, id: &str) -> Result<()> {
    let known = match t {
        Target::Local(s) => s.jurisdiction(id)?.is_some(),
        Target::Remote(r) => r.has_jurisdiction(id)?,
    };
    if known {
        return Ok(());
    }
    refuse(format!("--jurisdiction {id:?}: no such jurisdiction (see `oversight jurisdictions list`)"))
}

pub(crate) fn keys(t: &Target, cmd: KeysCmd) -> Result<ExitCode> {
    match cmd {
        KeysCmd::Create { role, name } => {
            let Some(role) = Role::parse(&role) else {
                return refuse(format!("--role {role:?}: expected viewer, analyst or admin"));
            };
            let (key, row) = match t {
                Target::Local(s) => oversight_api::create_key(s, &name, role)?,
                Target::Remote(r) => {
                    let v: Value = r.send("POST", "/v1/keys", Some(&json!({"name": name, "role": role.as_str()})))?;
                    let key = v["key"].as_str().unwrap_or_default().to_owned();
                    (key, serde_json::from_value::<ApiKey>(v)?)
                }
            };
            eprintln!("key {} ({}, {}) created; it is shown once, store it now:", row.id, row.name, row.role);
            println!("{key}");
        }
        KeysCmd::List => {
            let keys: Vec<ApiKey> = match t {
                Target::Local(s) => s.api_keys()?,
                Target::Remote(r) => r.get("/v1/keys")?,
            };
            let rows: Vec<Vec<String>> = keys
                .into_iter()
                .map(|k| {
                    vec![
                        k.id.to_string(),
                        k.name,
                        k.role,
                        format!("{}…", k.prefix),
                        k.created_at.format("%Y-%m-%d %H:%M").to_string(),
                        k.last_used_at.map(|t| t.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_default(),
                        k.revoked_at.map(|t| format!("revoked {}", t.format("%Y-%m-%d %H:%M"))).unwrap_or_default(),
                    ]
                })
                .collect();
            table(&["id", "name", "role", "key", "created", "last used", ""], &rows);
        }
        KeysCmd::Revoke { id } => {
            match t {
                Target::Local(s) => s.revoke_api_key(id)?,
                Target::Remote(r) => {
                    r.send::<Value>("DELETE", &format!("/v1/keys/{id}"), None)?;
                }
            }
            println!("key {id} revoked");
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn events(t: &Target, cmd: EventsCmd) -> Result<ExitCode> {
    match cmd {
        EventsCmd::List { jurisdiction, json } => {
            if let Some(j) = &jurisdiction {
                known_jurisdiction(t, j)?;
            }
            let all: Vec<PolicyEvent> = match t {
                Target::Local(s) => {
                    let mut all = Vec::new();
                    let mut after = None;
                    loop {
                        let page = s.policy_events(jurisdiction.as_deref(), after, 1000)?;
                        after = page.last().map(|e| e.id);
                        let done = page.len() < 1000;
                        all.extend(page);
                        if done {
                            break all;
                        }
                    }
                }
                Target::Remote(r) => {
                    r.all("/v1/policy-events", &query(&[("jurisdiction", jurisdiction.clone())]), usize::MAX)?
                }
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&all)?);
                return Ok(ExitCode::SUCCESS);
            }
            let rows: Vec<Vec<String>> = all
                .iter()
                .map(|e| {
                    vec![
                        e.id.to_string(),
                        e.jurisdiction_id.clone(),
                        e.effective_date.to_string(),
                        e.kind.clone(),
                        e.title.clone(),
                        e.batch_id.map_or_else(|| "by hand".to_owned(), |b| format!("batch {b}")),
                    ]
                })
                .collect();
            table(&["id", "jurisdiction", "date", "kind", "title", "from"], &rows);
        }
        EventsCmd::Add { jurisdiction, date, kind, title, source, agency } => {
            let Ok(kind) = kind.parse::<PolicyKind>() else {
                return refuse(format!("--kind {kind:?}: expected one of {}", PolicyKind::all_strs().join(", ")));
            };
            let new = NewPolicyEvent {
                jurisdiction_id: jurisdiction,
                effective_date: date,
                kind: kind.as_str().to_owned(),
                title,
                source,
                agency,
            };
            let e: PolicyEvent = match t {
                Target::Local(s) => s.add_policy_event(&new)?,
                Target::Remote(r) => r.send("POST", "/v1/policy-events", Some(&serde_json::to_value(&new)?))?,
            };
            println!(
                "policy event {} added: {} {} {} — {}",
                e.id, e.jurisdiction_id, e.effective_date, e.kind, e.title
            );
        }
        EventsCmd::Remove { id } => {
            let e: PolicyEvent = match t {
                Target::Local(s) => s.remove_policy_event(id)?,
                Target::Remote(r) => r.send("DELETE", &format!("/v1/policy-events/{id}"), None)?,
            };
            println!("policy event {} removed ({} {} {})", e.id, e.jurisdiction_id, e.effective_date, e.title);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn jurisdictions(t: &Target, cmd: JurisdictionsCmd) -> Result<ExitCode> {
    match cmd {
        JurisdictionsCmd::List { json } => {
            let all: Vec<Jurisdiction> = match t {
                Target::Local(s) => {
                    let mut all = Vec::new();
                    let mut after: Option<String> = None;
                    loop {
                        let page = s.list_jurisdictions(after.as_deref(), 1000)?;
                        if page.is_empty() {
                            break all;
                        }
                        after = page.last().map(|j| j.id.clone());
                        all.extend(page);
                    }
                }
                Target::Remote(r) => r.all("/v1/jurisdictions", "", usize::MAX)?,
            };
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
            let j: Jurisdiction = match t {
                Target::Local(s) => s.set_jurisdiction(&id, &patch)?,
                Target::Remote(r) => r.send(
                    "PATCH",
                    &format!("/v1/jurisdictions/{}?create=true", enc(&id)),
                    Some(&serde_json::to_value(&patch)?),
                )?,
            };
            println!("{}", serde_json::to_string_pretty(&j)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn batches(t: &Target, limit: usize, json: bool) -> Result<ExitCode> {
    let list: Vec<BatchRecord> = match t {
        Target::Local(s) => s.list_batches(None, limit)?,
        Target::Remote(r) => r.all("/v1/imports", "", limit)?,
    };
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

/// A batch's rejects, at most `limit`, in order.
fn reject_rows(t: &Target, batch: i64, limit: usize) -> Result<Vec<RejectRecord>> {
    match t {
        Target::Local(s) => {
            s.batch(batch)?;
            let mut out: Vec<RejectRecord> = Vec::new();
            while out.len() < limit {
                let page = s.rejects(batch, out.last().map(|r| r.seq), 10_000.min(limit - out.len()))?;
                if page.is_empty() {
                    break;
                }
                out.extend(page);
            }
            Ok(out)
        }
        Target::Remote(r) => r.all(&format!("/v1/imports/{batch}/rejects"), "", limit),
    }
}

/// Rejects as CSV: batch, file, line, column, value, reason.
pub(crate) fn write_rejects_csv(rows: &[RejectRecord], out: impl std::io::Write) -> Result<usize> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(["batch", "file", "line", "column", "value", "reason"])?;
    for r in rows {
        w.write_record([
            r.batch_id.to_string(),
            r.file.clone(),
            r.line.to_string(),
            r.column.clone().unwrap_or_default(),
            r.value.clone().unwrap_or_default(),
            r.reason.clone(),
        ])?;
    }
    w.flush()?;
    Ok(rows.len())
}

pub(crate) fn rejects(t: &Target, batch: i64, as_csv: bool, limit: usize) -> Result<ExitCode> {
    let list = reject_rows(t, batch, limit)?;
    if as_csv {
        write_rejects_csv(&list, std::io::stdout().lock())?;
        return Ok(ExitCode::SUCCESS);
    }
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

pub(crate) fn compute(
    t: &Target,
    cfg: &oversight_metrics::MetricsConfig,
    req: &oversight_metrics::ComputeRequest,
    json: bool,
) -> Result<ExitCode> {
    let started = std::time::Instant::now();
    let report: oversight_metrics::ComputeReport = match t {
        Target::Local(s) => oversight_metrics::compute(s, cfg, req)?,
        Target::Remote(_) if req.cube.is_some() => anyhow::bail!(
            "--cube loads a directory into the database file, which a running server holds: stop the server \
             (or run it on the writer's file while no server has it)"
        ),
        Target::Remote(r) => {
            let q = query(&[
                ("indicator", req.indicator.clone()),
                ("jurisdiction", req.jurisdiction.clone()),
                ("since", req.since.map(|d| d.to_string())),
                ("full", req.full.then(|| "true".to_owned())),
            ]);
            r.send("POST", &format!("/v1/compute?{q}"), None)?
        }
    };
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
                started.elapsed().as_secs_f64(),
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

pub(crate) fn quality(t: &Target, jurisdiction: Option<&str>) -> Result<ExitCode> {
    if let Some(j) = jurisdiction {
        known_jurisdiction(t, j)?;
    }
    let notes: Vec<QualityNote> = match t {
        Target::Local(s) => s.quality_notes(jurisdiction)?,
        Target::Remote(r) => {
            r.get(&format!("/v1/quality?{}", query(&[("jurisdiction", jurisdiction.map(str::to_owned))])))?
        }
    };
    for n in notes {
        println!("{} ({}): {}", n.jurisdiction_id, n.dataset, n.message);
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn series(t: &Target, a: &SeriesArgs) -> Result<ExitCode> {
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
    known_jurisdiction(t, jurisdiction)?;
    let rows: Vec<PointRow> = match t {
        Target::Local(s) => {
            let lo = a.from.unwrap_or(chrono::NaiveDate::MIN);
            let hi = a.to.unwrap_or(chrono::NaiveDate::MAX);
            s.points(indicator, jurisdiction, grain.as_str(), group, lo, hi)?
        }
        Target::Remote(r) => {
            let q = query(&[
                ("jurisdiction", Some(jurisdiction.to_owned())),
                ("grain", Some(grain.as_str().to_owned())),
                ("group", group.map(str::to_owned)),
                ("from", a.from.map(|d| d.to_string())),
                ("to", a.to.map(|d| d.to_string())),
            ]);
            let path = format!("/v1/indicators/{}/series?{q}", enc(indicator));
            if a.csv {
                print!("{}", r.get_csv(&path)?);
                return Ok(ExitCode::SUCCESS);
            }
            r.get(&path)?
        }
    };
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

/// Prints what a snapshot holds.
fn describe(m: &oversight_store::BackupManifest) -> String {
    let rows: i64 = m.tables.values().sum();
    let bytes: u64 = m.files.iter().map(|f| f.bytes).sum();
    format!(
        "{} tables, {} rows, {} files, {} bytes (schema version {}, taken {})",
        m.tables.len(),
        thousands(rows),
        m.files.len(),
        thousands(bytes as i64),
        m.schema_version,
        m.created_at.format("%Y-%m-%d %H:%M:%S UTC")
    )
}

pub(crate) fn backup(t: &Target, to: &std::path::Path) -> Result<ExitCode> {
    let m: oversight_store::BackupManifest = match t {
        Target::Local(s) => s.backup(to)?,
        Target::Remote(r) => {
            // The server writes the snapshot: the directory is the server's, named absolutely.
            let abs = std::path::absolute(to)?;
            let body = json!({"to": abs.to_string_lossy()});
            r.send("POST", "/v1/admin/backup", Some(&body))?
        }
    };
    println!("backup written to {}: {}", to.display(), describe(&m));
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn restore(dir: &std::path::Path, db: &std::path::Path) -> Result<ExitCode> {
    let m = oversight_store::restore(dir, db)?;
    println!(
        "restored {} into {}: {}; every file matched its sha256 in the manifest and every table its row count",
        dir.display(),
        db.display(),
        describe(&m)
    );
    Ok(ExitCode::SUCCESS)
}
