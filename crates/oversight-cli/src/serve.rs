//! `oversight serve` and `oversight keys`.

use crate::cli::KeysCmd;
use crate::commands::{open, refuse};
use crate::config::Settings;
use crate::output::table;
use anyhow::{Context, Result};
use oversight_api::{AppState, Role};
use oversight_store::Store;
use std::path::Path;
use std::process::ExitCode;

/// `oversight demo`: a fresh database from the fixtures (every dataset, the policy events, every indicator),
/// then `serve` on it.
pub(crate) fn demo(db: Option<&Path>, settings: &Settings, bind: Option<String>) -> Result<ExitCode> {
    let db = db.map(Path::to_path_buf).unwrap_or_else(|| "oversight-demo.duckdb".into());
    for p in [db.clone(), db.with_extension("duckdb.wal")] {
        if p.exists() {
            std::fs::remove_file(&p).with_context(|| format!("removing the old demo database {}", p.display()))?;
        }
    }
    // The committed fixtures when run from the repository; otherwise the same files, generated.
    let generated;
    let dir = if Path::new("fixtures/stops.csv").is_file() {
        std::path::PathBuf::from("fixtures")
    } else {
        generated = std::env::temp_dir().join(format!("oversight-demo-fixtures-{}", std::process::id()));
        oversight_import::fixtures::generate(&generated, oversight_import::fixtures::COMMITTED_SEED)?;
        generated.clone()
    };
    let started = std::time::Instant::now();
    let store = open(&db)?;
    let sets: [(&str, &[&str]); 6] = [
        ("populations", &["populations.csv"]),
        ("policy-events", &["policy_events.csv"]),
        ("stops", &["stops.csv"]),
        ("crime-reports", &["crime_reports.csv"]),
        ("detainers", &["detainers.csv"]),
        ("complaints", &["complaints.csv", "allegations.csv"]),
    ];
    for (dataset, files) in sets {
        let ds: oversight_core::Dataset = dataset.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
        let req = oversight_import::ImportRequest {
            profile: oversight_import::resolve_profile("canonical", Some(ds))?,
            files: files.iter().map(|f| oversight_import::InputFile::new(dir.join(f))).collect(),
            jurisdiction: None,
            replace: false,
            origin: "demo".into(),
        };
        oversight_import::import(&store, &req, &|_| {})?;
    }
    let report = oversight_metrics::compute(
        &store,
        &settings.metrics,
        &oversight_metrics::ComputeRequest { full: true, ..Default::default() },
    )?;
    eprintln!(
        "demo database {} built from {} in {:.1} s: {} indicator points",
        db.display(),
        dir.display(),
        started.elapsed().as_secs_f64(),
        report.points_written
    );
    if dir != Path::new("fixtures") {
        let _ = std::fs::remove_dir_all(&dir);
    }
    drop(store);
    serve(&db, settings, bind)
}

pub(crate) fn serve(db: &Path, settings: &Settings, bind: Option<String>) -> Result<ExitCode> {
    let addr = bind.or_else(|| settings.api.bind.clone()).unwrap_or_else(|| "127.0.0.1:8080".into());
    let store = open(db)?;
    let state = match AppState::new(
        store,
        settings.api.clone(),
        settings.metrics.clone(),
        settings.analysis.clone(),
        settings.schedule.clone(),
    ) {
        Ok(s) => s,
        Err(e) => return refuse(format!("configuration: {e}")),
    };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the runtime")?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&addr).await.with_context(|| format!("binding {addr}"))?;
        let local = listener.local_addr()?;
        // The first line is machine-readable: tests and scripts read the port from it (--bind 127.0.0.1:0).
        println!("listening on http://{local}");
        eprintln!("docs at http://{local}/docs; database {}", db.display());
        oversight_api::serve(listener, state, shutdown_signal()).await.context("serving")?;
        eprintln!("shut down cleanly");
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

pub(crate) fn keys(store: &Store, cmd: KeysCmd) -> Result<ExitCode> {
    match cmd {
        KeysCmd::Create { role, name } => {
            let Some(role) = Role::parse(&role) else {
                return refuse(format!("--role {role:?}: expected viewer, analyst or admin"));
            };
            let (key, row) = oversight_api::create_key(store, &name, role)?;
            eprintln!("key {} ({}, {}) created; it is shown once, store it now:", row.id, row.name, row.role);
            println!("{key}");
        }
        KeysCmd::List => {
            let rows: Vec<Vec<String>> = store
                .api_keys()?
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
            store.revoke_api_key(id)?;
            println!("key {id} revoked");
        }
    }
    Ok(ExitCode::SUCCESS)
}
