//! `oversight serve` and `oversight keys`.

use crate::config::Settings;
use crate::support::{open, refuse};
use anyhow::{Context, Result};
use oversight_api::AppState;
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
    let mut apply = oversight_service::Apply::new(&store, Some(&settings.metrics));
    for (dataset, files) in sets {
        let ds: oversight_core::Dataset = dataset.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
        let req = oversight_import::ImportRequest::new(
            oversight_import::resolve_profile("canonical", Some(ds))?,
            files.iter().map(|f| oversight_import::InputFile::new(dir.join(f))).collect(),
            "demo",
        );
        apply.import(&req, &|_| {})?;
    }
    let points = apply.finish()?.map(|c| c.report.points_written).unwrap_or(0);
    tracing::info!(
        "demo database {} built from {} in {:.1} s: {} indicator points",
        db.display(),
        dir.display(),
        started.elapsed().as_secs_f64(),
        points
    );
    if dir != Path::new("fixtures") {
        let _ = std::fs::remove_dir_all(&dir);
    }
    drop(store);
    serve(&db, settings, bind)
}

pub(crate) fn serve(db: &Path, settings: &Settings, bind: Option<String>) -> Result<ExitCode> {
    crate::return_freed_memory_promptly();
    let addr = bind.or_else(|| settings.api.bind.clone()).unwrap_or_else(|| "127.0.0.1:8080".into());
    let read_only = crate::support::READ_ONLY.load(std::sync::atomic::Ordering::Relaxed);
    // A replica may serve a backup directory as it is: restored (every file checked against its manifest)
    // into a file of its own that lives as long as the server.
    let snapshot = snapshot_file(db, read_only)?;
    let db = snapshot.as_ref().map_or(db, |(_, f)| f.as_path());
    let store = crate::support::open_limited(db, Some(settings.api.database_memory.clone()))?;
    let state = match AppState::new(
        store,
        oversight_api::ApiConfig { import: settings.import.clone(), ..settings.api.clone() },
        settings.metrics.clone(),
        settings.analysis.clone(),
        settings.schedule.clone(),
    ) {
        Ok(s) => s,
        Err(e) => return refuse(format!("configuration: {e}")),
    };
    if let Some(sink) = crate::logging::access_sink() {
        state.set_access_sink(sink);
    }
    // SIGHUP and POST /v1/schedules/reload read the configuration again, from where it came.
    let explicit = settings.explicit.clone();
    state.set_schedule_source(Box::new(move || {
        crate::config::load(explicit.as_deref()).map(|s| s.schedule).map_err(|e| format!("{e:#}"))
    }));
    // DuckDB reads, writes and file I/O run on the blocking pool: a few threads per core keep every core
    // busy, and bound what the pool's threads (each with its own allocator caches and, for reads, a DuckDB
    // connection) hold under any number of concurrent requests.
    let blocking = std::thread::available_parallelism().map_or(4, |n| n.get() * 4).max(8);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(blocking)
        .build()
        .context("starting the runtime")?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&addr).await.with_context(|| format!("binding {addr}"))?;
        let local = listener.local_addr()?;
        // A read-only replica leaves no note: commands that find the file busy must not send writes to it, and
        // several replicas may serve one file.
        let note = if read_only { ServerNote(None) } else { ServerNote::write(db, local) };
        // The first line is machine-readable: tests and scripts read the port from it (--bind 127.0.0.1:0).
        println!("listening on http://{local}");
        tracing::info!("listening on http://{local}; docs at http://{local}/docs; database {}", db.display());
        let served = oversight_api::serve(listener, state, shutdown_signal()).await.context("serving");
        drop(note);
        served?;
        tracing::info!("shut down cleanly");
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// With `--read-only` and a backup directory for the database: the backup restored into a temporary file.
fn snapshot_file(db: &Path, read_only: bool) -> Result<Option<(tempfile::TempDir, std::path::PathBuf)>> {
    if !db.join(oversight_store::MANIFEST).is_file() {
        return Ok(None);
    }
    if !read_only {
        return refuse(format!(
            "{} is a backup: serve it with --read-only, or `oversight restore` it into a database file first",
            db.display()
        ));
    }
    let dir = tempfile::Builder::new().prefix("oversight-replica-").tempdir()?;
    let file = dir.path().join("snapshot.duckdb");
    let started = std::time::Instant::now();
    oversight_store::restore(db, &file)?;
    tracing::info!("restored the backup {} in {:.1} s to serve it", db.display(), started.elapsed().as_secs_f64());
    Ok(Some((dir, file)))
}

/// The note beside the database that says where the server holding it answers (`<db>.server`): commands
/// that cannot open the file while the server runs send their work there. Removed when the server stops.
struct ServerNote(Option<std::path::PathBuf>);

impl ServerNote {
    fn write(db: &Path, local: std::net::SocketAddr) -> Self {
        let mut addr = local;
        if addr.ip().is_unspecified() {
            addr.set_ip(if addr.is_ipv4() { [127, 0, 0, 1].into() } else { std::net::Ipv6Addr::LOCALHOST.into() });
        }
        let path = crate::remote::note_path(db);
        let note = serde_json::json!({"url": format!("http://{addr}"), "pid": std::process::id()});
        match std::fs::write(&path, format!("{note}\n")) {
            Ok(()) => Self(Some(path)),
            Err(e) => {
                tracing::warn!("could not write {} ({e}): commands cannot find this server by itself", path.display());
                Self(None)
            }
        }
    }
}

impl Drop for ServerNote {
    fn drop(&mut self) {
        if let Some(p) = &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
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

/// `oversight import --server URL`: the same import through a running server's API.
pub(crate) fn upload(
    server: &str,
    args: &crate::cli::ImportArgs,
    dataset: oversight_core::Dataset,
    multi_file: bool,
) -> Result<ExitCode> {
    let Some(key) = &args.key else {
        return refuse(format!(
            "importing through the server at {server} needs an API key with role analyst or higher: --key, \
             OVERSIGHT_KEY or `key` in [client] of oversight.toml"
        ));
    };
    if args.rejects.is_some() {
        return refuse("--rejects is not available with --server: read them at GET /v1/imports/{batch}/rejects");
    }
    let mut files: Vec<std::path::PathBuf> = args.files.clone();
    if let Some(dir) = &args.dir {
        files = oversight_import::files_in(dir, |_| true)
            .with_context(|| format!("reading directory {}", dir.display()))?;
    }
    if files.is_empty() {
        return refuse("no file to import: give FILE... or --dir DIR");
    }
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let base = server.trim_end_matches('/');
    let mut query = format!("profile={}", crate::remote::enc(&args.profile));
    if let Some(j) = &args.jurisdiction {
        query.push_str(&format!("&jurisdiction={}", crate::remote::enc(j)));
    }
    if args.replace {
        query.push_str("&replace=true");
    }
    // One request per file, or one multipart request with all of them for a multi-file profile.
    let groups: Vec<Vec<std::path::PathBuf>> =
        if multi_file { vec![files] } else { files.into_iter().map(|f| vec![f]).collect() };
    let mut worst = 0u8;
    for group in groups {
        let names = group.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(" + ");
        let req = agent
            .post(format!("{base}/v1/imports/{}?{query}", dataset.as_str()))
            .header("Authorization", format!("Bearer {key}"));
        let resp = if group.len() == 1 {
            let name = group[0].file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let file = std::fs::File::open(&group[0]).with_context(|| format!("opening {}", group[0].display()))?;
            agent
                .post(format!("{base}/v1/imports/{}?{query}&filename={}", dataset.as_str(), crate::remote::enc(&name)))
                .header("Authorization", format!("Bearer {key}"))
                .header("Content-Type", "text/csv")
                .send(ureq::SendBody::from_reader(&mut std::io::BufReader::new(file)))
        } else {
            let boundary = "oversight-upload-boundary-7f3a";
            let mut body = Vec::new();
            for f in &group {
                let name = f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                body.extend_from_slice(
                    format!(
                        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
                         Content-Type: application/octet-stream\r\n\r\n"
                    )
                    .as_bytes(),
                );
                body.extend(std::fs::read(f).with_context(|| format!("reading {}", f.display()))?);
                body.extend_from_slice(b"\r\n");
            }
            body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
            req.header("Content-Type", format!("multipart/form-data; boundary={boundary}")).send(&body[..])
        };
        let resp = resp.with_context(|| format!("uploading to {base}"))?;
        let status = resp.status().as_u16();
        let text = resp.into_body().read_to_string().unwrap_or_default();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
        match status {
            201 => println!(
                "{names}: imported as batch {} ({} accepted, {} rejected)",
                v["batch"]["id"], v["batch"]["rows_accepted"], v["batch"]["rows_rejected"]
            ),
            200 => println!("{names}: already imported as batch {}; nothing changed", v["batch"]["id"]),
            _ => {
                eprintln!("error: {names}: {} ({status})", v["error"]["message"].as_str().unwrap_or(&text));
                worst = worst.max(if (400..500).contains(&status) { 2 } else { 1 });
                if args.dir.is_none() {
                    return Ok(ExitCode::from(worst));
                }
            }
        }
    }
    Ok(if worst == 0 { ExitCode::SUCCESS } else { ExitCode::from(worst) })
}
