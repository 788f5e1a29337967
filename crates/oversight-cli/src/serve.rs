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

pub(crate) fn serve(db: &Path, settings: &Settings, bind: Option<String>) -> Result<ExitCode> {
    let addr = bind.or_else(|| settings.api.bind.clone()).unwrap_or_else(|| "127.0.0.1:8080".into());
    let store = open(db)?;
    let state = AppState::new(store, settings.api.clone(), settings.metrics.clone(), settings.analysis.clone());
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
