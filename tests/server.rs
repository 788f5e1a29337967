//! The server against strangers and faults (issue 13): trickling and silent connections, a full connection
//! table, SIGTERM with a trickler and an upload in flight, a slow upload, the per-client limit, a damaged
//! database file, a read-only one, a full disk, and reads that say which batches their indicators include.
//! All on 127.0.0.1 with the real binary; every test stops by itself.

use crate::fixtures::{import_fixture, import_fixtures};
use crate::helpers::{Scratch, Server, Tmpfs, agent, p, repo, spawn_server};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn addr(srv: &Server) -> String {
    srv.base.trim_start_matches("http://").to_owned()
}

/// A whole request on a new connection, with a deadline: (status, headers and body as text).
fn raw_get(addr: &str, path: &str, extra: &str, timeout: Duration) -> std::io::Result<(u16, String)> {
    let mut c = TcpStream::connect(addr)?;
    c.set_read_timeout(Some(timeout))?;
    c.set_write_timeout(Some(timeout))?;
    write!(c, "GET {path} HTTP/1.1\r\nHost: x\r\n{extra}Connection: close\r\n\r\n")?;
    let mut out = Vec::new();
    c.read_to_end(&mut out)?;
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    Ok((status, text))
}

/// True once the server has closed `c` (a read sees the end, or an error).
fn closed(mut c: &TcpStream) -> bool {
    let mut b = [0u8; 64];
    c.set_nonblocking(true).unwrap();
    let r = c.read(&mut b);
    c.set_nonblocking(false).unwrap();
    match r {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
    }
}

/// `oversight serve` with `[api]` settings given as OVERSIGHT__API__* variables.
fn serve_with(s: &Scratch, api: &[(&str, &str)]) -> Server {
    let vars: Vec<(String, String)> =
        api.iter().map(|(k, v)| (format!("OVERSIGHT__API__{}", k.to_ascii_uppercase()), (*v).to_owned())).collect();
    let env: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    spawn_server(s, &["serve"], None, &env)
}

/// Uploads a fixture over HTTP with an analyst key: (status, Allow header, JSON body).
fn upload(srv: &Server, key: &str, dataset: &str, fixture: &str) -> (u16, Option<String>, Value) {
    let r = agent()
        .post(format!("{}/v1/imports/{dataset}?profile=canonical", srv.base))
        .header("Authorization", format!("Bearer {key}"))
        .header("Content-Type", "text/csv")
        .send(&std::fs::read(repo().join("fixtures").join(fixture)).unwrap()[..])
        .unwrap();
    let status = r.status().as_u16();
    let allow = r.headers().get("allow").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body = serde_json::from_str(&r.into_body().read_to_string().unwrap()).unwrap_or(Value::Null);
    (status, allow, body)
}

fn key(s: &Scratch, role: &str) -> String {
    s.ok(&["keys", "create", "--role", role, "--name", &format!("test-{role}")]).stdout().trim().to_owned()
}

#[test]
fn trickling_clients_cannot_stop_healthz_and_are_closed_within_the_header_timeout() {
    let s = Scratch::new();
    let srv = serve_with(&s, &[("max_connections", "200"), ("header_timeout_secs", "4")]);
    let a = addr(&srv);
    let opened = Instant::now();
    let mut tricklers: Vec<TcpStream> = (0..300)
        .map(|_| {
            let mut c = TcpStream::connect(&a).unwrap();
            c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").unwrap();
            c
        })
        .collect();
    eprintln!("300 tricklers connected in {} ms", opened.elapsed().as_millis());
    // For the next three seconds the tricklers add a header byte every 300 ms, and /healthz is asked on a
    // new connection in between: it must answer within a second every time.
    let mut worst = Duration::ZERO;
    while opened.elapsed() < Duration::from_secs(3) {
        for c in &mut tricklers {
            let _ = c.write_all(b"X");
        }
        let t = Instant::now();
        let (status, _) = raw_get(&a, "/healthz", "", Duration::from_secs(1)).expect("/healthz within 1 s");
        assert_eq!(status, 200);
        worst = worst.max(t.elapsed());
        std::thread::sleep(Duration::from_millis(300));
    }
    eprintln!("slowest /healthz among 300 tricklers: {} ms", worst.as_millis());
    assert!(worst < Duration::from_secs(1));
    // Keep trickling: by the header timeout (plus the watchdog's tick, and the time the server took to
    // accept the last of them) every one of them is closed.
    let deadline = opened + Duration::from_secs(4) + Duration::from_millis(2500);
    loop {
        for c in &mut tricklers {
            let _ = c.write_all(b"X");
        }
        std::thread::sleep(Duration::from_millis(200));
        let open = tricklers.iter().filter(|c| !closed(c)).count();
        if open == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{open} trickling connections still open after the header timeout");
    }
    eprintln!("all 300 tricklers closed {} ms after they connected", opened.elapsed().as_millis());
    let m = raw_get(&a, "/metrics", "", Duration::from_secs(2)).unwrap().1;
    assert!(m.contains("oversight_connections_closed_total{reason=\"header_timeout\"}"), "{m}");
    assert!(m.contains("oversight_connections_closed_total{reason=\"evicted\"}"), "{m}");
}

#[test]
fn silent_connections_and_slow_uploads_are_cut_off() {
    let s = Scratch::new();
    let analyst = key(&s, "analyst");
    let srv =
        serve_with(&s, &[("idle_timeout_secs", "2"), ("body_timeout_secs", "2"), ("min_upload_bytes_per_sec", "1000")]);
    let a = addr(&srv);
    // A connection that never says anything is closed after the idle timeout.
    let t = Instant::now();
    let mut silent = TcpStream::connect(&a).unwrap();
    silent.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut b = [0u8; 16];
    assert_eq!(silent.read(&mut b).unwrap_or(0), 0);
    assert!(t.elapsed() < Duration::from_secs(5), "silent connection closed after {:?}", t.elapsed());
    // An upload trickling a byte every 200 ms (5 bytes/s) gets 408 once the body timeout has passed.
    let mut up = TcpStream::connect(&a).unwrap();
    up.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    write!(
        up,
        "POST /v1/imports/stops?profile=canonical HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {analyst}\r\n\
         Content-Type: text/csv\r\nContent-Length: 100000\r\n\r\n"
    )
    .unwrap();
    let t = Instant::now();
    let reader = {
        let mut r = up.try_clone().unwrap();
        std::thread::spawn(move || {
            let mut out = Vec::new();
            let _ = r.read_to_end(&mut out);
            String::from_utf8_lossy(&out).into_owned()
        })
    };
    while !reader.is_finished() && t.elapsed() < Duration::from_secs(12) {
        if up.write_all(b"a").is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let resp = reader.join().unwrap();
    assert!(resp.starts_with("HTTP/1.1 408"), "{resp}");
    assert!(resp.contains("request_timeout") && resp.contains("min_upload_bytes_per_sec"), "{resp}");
    assert!(t.elapsed() < Duration::from_secs(6), "cut off after {:?}", t.elapsed());
}

#[test]
fn sigterm_with_a_trickling_client_exits_within_the_grace_period_and_an_upload_in_flight_lands_whole() {
    let s = Scratch::new();
    import_fixture(&s, "populations", &["populations.csv"]);
    let analyst = key(&s, "analyst");
    let mut srv = serve_with(&s, &[("shutdown_grace_secs", "20")]);
    let a = addr(&srv);
    let mut trickler = TcpStream::connect(&a).unwrap();
    trickler.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").unwrap();
    // The upload sends its headers and half its body, then SIGTERM arrives, then the rest.
    let body = std::fs::read(repo().join("fixtures/stops.csv")).unwrap();
    let mut up = TcpStream::connect(&a).unwrap();
    up.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        up,
        "POST /v1/imports/stops?profile=canonical&filename=stops.csv HTTP/1.1\r\nHost: x\r\n\
         Authorization: Bearer {analyst}\r\nContent-Type: text/csv\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    let half = body.len() / 2;
    up.write_all(&body[..half]).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let pid = srv.child.id().to_string();
    let term = Instant::now();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    std::thread::sleep(Duration::from_millis(300));
    let _ = trickler.write_all(b"X");
    up.write_all(&body[half..]).unwrap();
    let mut resp = String::new();
    let _ = up.read_to_string(&mut resp);
    assert!(resp.starts_with("HTTP/1.1 201"), "the upload in flight must finish: {resp}");
    let exit = srv.child.wait().unwrap();
    let took = term.elapsed();
    eprintln!("exited {} ms after SIGTERM", took.as_millis());
    assert!(exit.success(), "{exit:?}");
    assert!(took < Duration::from_secs(20), "took {took:?}, past the grace period");
    assert!(closed(&trickler));
    assert_eq!(s.store().count_rows(oversight_core::Table::Stops).unwrap(), 19001);
}

#[test]
fn public_reads_are_limited_per_client_address_and_keys_are_not() {
    let s = Scratch::new();
    import_fixtures(&s);
    s.ok(&["compute"]);
    let viewer = key(&s, "viewer");
    let srv = serve_with(&s, &[("public_concurrency_per_client", "2"), ("metrics_need_key", "true")]);
    let a = addr(&srv);
    // Sixteen Parquet extracts at once from one address (each takes a while to write), with and without a
    // key: without one, only two may be in flight; the rest are 429 with Retry-After.
    let burst = |auth: String| {
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(16));
        let threads: Vec<_> = (0..16)
            .map(|_| {
                let (a, auth, barrier) = (a.clone(), auth.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    let (st, text) = raw_get(&a, "/v1/extracts/stops?format=parquet", &auth, Duration::from_secs(30))
                        .expect("extract");
                    let head = text.split("\r\n\r\n").next().unwrap_or("").to_ascii_lowercase();
                    (st, head.contains("retry-after: 1"), text.contains("too_many_requests"))
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect::<Vec<_>>()
    };
    let public = burst(String::new());
    let limited = public.iter().filter(|r| r.0 == 429).count();
    eprintln!("without a key: {limited} of 16 answered 429");
    assert!(limited >= 1 && public.iter().filter(|r| r.0 == 200).count() >= 2, "{public:?}");
    assert!(public.iter().all(|r| r.0 == 200 || (r.0 == 429 && r.1 && r.2)), "{public:?}");
    let auth = format!("Authorization: Bearer {viewer}\r\n");
    let keyed = burst(auth.clone());
    assert!(keyed.iter().all(|r| r.0 == 200), "keys are not limited: {keyed:?}");
    // Health is never limited.
    assert_eq!(raw_get(&a, "/healthz", "", Duration::from_secs(5)).unwrap().0, 200);
    // /metrics needs a key when configured so, and counts the refusal.
    assert_eq!(raw_get(&a, "/metrics", "", Duration::from_secs(5)).unwrap().0, 401);
    let (st, m) = raw_get(&a, "/metrics", &auth, Duration::from_secs(5)).unwrap();
    assert_eq!(st, 200);
    assert!(m.contains(&format!("oversight_http_limited_total {limited}\n")), "{m}");
    // Once the burst is over, the address reads again.
    assert_eq!(raw_get(&a, "/v1/indicators", "", Duration::from_secs(5)).unwrap().0, 200);
}

/// Overwrites `len` bytes of `path` from `offset` with a pattern.
fn damage(path: &std::path::Path, offset: u64, len: usize) {
    use std::io::{Seek, SeekFrom};
    let mut f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    f.seek(SeekFrom::Start(offset)).unwrap();
    f.write_all(&vec![0x5a; len]).unwrap();
}

#[test]
fn a_damaged_database_file_is_not_ready_and_answers_503_with_a_stable_code() {
    let s = Scratch::new();
    import_fixture(&s, "stops", &["stops.csv"]);
    s.ok(&["compute"]);
    let copy = s.path("damaged.duckdb");
    std::fs::copy(s.db(), &copy).unwrap();
    let size = std::fs::metadata(&copy).unwrap().len();
    assert!(size > 4 << 20, "{size} bytes");
    damage(&copy, 1 << 20, 3 << 20);
    let srv = spawn_server(&s, &["--db", p(&copy), "serve"], None, &[]);
    assert_eq!(agent().get(format!("{}/healthz", srv.base)).call().unwrap().status().as_u16(), 200);
    let t = Instant::now();
    let body = loop {
        let r = agent().get(format!("{}/readyz", srv.base)).call().unwrap();
        let status = r.status().as_u16();
        let body = r.into_body().read_to_string().unwrap_or_default();
        if status == 503 {
            break body;
        }
        assert_eq!(status, 200, "{body}");
        assert!(t.elapsed() < Duration::from_secs(20), "/readyz still ready on a damaged file");
        std::thread::sleep(Duration::from_millis(200));
    };
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"]["code"], "database_corrupt", "{body}");
    assert!(v["error"]["message"].as_str().unwrap().contains("damaged"), "{body}");
    // A read of the damaged table is a 503 with the same code, not a bare 500.
    let r = agent().get(format!("{}/v1/datasets", srv.base)).call().unwrap();
    let status = r.status().as_u16();
    let text = r.into_body().read_to_string().unwrap_or_default();
    assert!(status == 503 && text.contains("database_corrupt") || status == 200, "{status} {text}");
}

#[test]
fn a_read_only_database_serves_reads_and_refuses_writes_saying_why() {
    let s = Scratch::new();
    import_fixture(&s, "stops", &["stops.csv"]);
    s.ok(&["compute"]);
    let analyst = key(&s, "analyst");
    let mut perms = std::fs::metadata(s.db()).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o444);
    std::fs::set_permissions(s.db(), perms).unwrap();
    // Read commands work; a write command is refused up front.
    assert!(s.ok(&["batches"]).stdout().contains("committed"));
    let r = s.run(&[
        "import",
        "--dataset",
        "detainers",
        "--profile",
        "canonical",
        p(&repo().join("fixtures/detainers.csv")),
    ]);
    assert_eq!(r.code(), Some(2), "{}", r.stderr());
    assert!(r.stderr().contains("read-only") && r.stderr().contains("0444"), "{}", r.stderr());
    let srv = spawn_server(&s, &["serve"], None, &[]);
    let a = addr(&srv);
    let (st, text) = raw_get(&a, "/readyz", "", Duration::from_secs(5)).unwrap();
    assert_eq!(st, 200, "{text}");
    assert!(text.contains("read-only"), "{text}");
    let (st, _) =
        raw_get(&a, "/v1/indicators/stops.count/series?jurisdiction=demo-city", "", Duration::from_secs(5)).unwrap();
    assert_eq!(st, 200);
    assert_eq!(raw_get(&a, "/v1/extracts/stops", "", Duration::from_secs(5)).unwrap().0, 200);
    let (status, allow, v) = upload(&srv, &analyst, "detainers", "detainers.csv");
    assert_eq!(status, 405);
    assert_eq!(allow.as_deref(), Some("GET, HEAD"));
    assert_eq!(v["error"]["code"], "read_only");
    assert!(v["error"]["message"].as_str().unwrap().contains("0444"), "{v}");
}

/// A small tmpfs, unmounted when dropped; None where this process may not mount one.
#[test]
fn a_full_disk_is_one_clear_message_and_a_507_and_the_batch_is_marked_failed() {
    let s = Scratch::new();
    import_fixture(&s, "stops", &["stops.csv"]);
    let analyst = key(&s, "analyst");
    let size = std::fs::metadata(s.db()).unwrap().len();
    // Room for the database and a little more: not for another megabyte of crime reports.
    let Some(fs) = Tmpfs::mount(s.path("small-disk"), size + (600 << 10)) else {
        // The store's unit test `a_full_disk_is_one_short_sentence` checks the message from DuckDB's text.
        eprintln!("skipped: this process may not mount a tmpfs (run as root to include it)");
        return;
    };
    let db = fs.0.join("db.duckdb");
    std::fs::copy(s.db(), &db).unwrap();
    let run = s
        .cmd()
        .env("OVERSIGHT_DB", &db)
        .args(["import", "--dataset", "crime-reports", "--profile", "canonical"])
        .arg(repo().join("fixtures/crime_reports.csv"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(5), "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one message, not {}: {stderr}", lines.len());
    assert!(lines[0].starts_with("error: the disk is full: could not write"), "{stderr}");
    assert!(lines[0].contains("No space left on device") && lines[0].contains("nothing of this write was kept"));
    let batches =
        s.cmd().env("OVERSIGHT_DB", &db).args(["batches", "--json"]).output().map(|o| o.stdout).unwrap_or_default();
    let b: Value = serde_json::from_slice(&batches).unwrap();
    assert!(b.as_array().unwrap().iter().any(|b| b["dataset"] == "crime-reports" && b["status"] == "failed"), "{b}");
    assert_eq!(oversight_store::Store::open(&db).unwrap().count_rows(oversight_core::Table::CrimeReports).unwrap(), 0);

    // Through the API: 507 with the error body.
    let srv = spawn_server(&s, &["--db", p(&db), "serve"], None, &[]);
    let (status, _, v) = upload(&srv, &analyst, "crime-reports", "crime_reports.csv");
    assert_eq!(status, 507);
    assert_eq!(v["error"]["code"], "insufficient_storage", "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("disk is full"), "{v}");
    drop(srv);
}

#[test]
fn responses_say_which_batches_their_indicators_include() {
    let s = Scratch::new();
    import_fixture(&s, "stops", &["stops.csv"]);
    s.ok(&["compute"]);
    // A batch that landed without a compute (the CLI imports; `compute` is a separate step).
    import_fixture(&s, "detainers", &["detainers.csv"]);
    let analyst = key(&s, "analyst");
    let srv = spawn_server(&s, &["serve"], None, &[]);
    let get = |path: &str| {
        let r = agent().get(format!("{}{path}", srv.base)).call().unwrap();
        let h = |n: &str| r.headers().get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let (run, batches) = (h("x-oversight-indicator-run"), h("x-oversight-indicator-batches"));
        let body: Value = serde_json::from_str(&r.into_body().read_to_string().unwrap()).unwrap();
        (run, batches, body)
    };
    let dataset =
        |body: &Value, name: &str| body.as_array().unwrap().iter().find(|d| d["dataset"] == name).cloned().unwrap();
    let (run, batches, ds) = get("/v1/datasets");
    assert_eq!((run.as_str(), batches.as_str()), ("1", "1"));
    assert_eq!(dataset(&ds, "stops")["batches_in_indicators"], 1);
    let det = dataset(&ds, "detainers");
    assert_eq!((det["batches"].as_i64(), det["batches_in_indicators"].as_i64()), (Some(1), Some(0)), "{det}");
    let (srun, sbatches, _) = get("/v1/indicators/stops.count/series?jurisdiction=demo-city");
    assert_eq!((srun, sbatches), (run, batches));
    // An import over HTTP computes before it answers: afterwards both agree that every batch is in.
    assert_eq!(upload(&srv, &analyst, "crime-reports", "crime_reports.csv").0, 201);
    let (run, batches, ds) = get("/v1/datasets");
    assert_eq!((run.as_str(), batches.as_str()), ("2", "1-3"));
    for d in ds.as_array().unwrap() {
        assert_eq!(d["batches"], d["batches_in_indicators"], "{d}");
    }
    let (srun, sbatches, _) = get("/v1/indicators/stops.count/series?jurisdiction=demo-city");
    assert_eq!((srun, sbatches), (run.clone(), batches.clone()));
    // Disparity tables say it too.
    let (drun, dbatches, _) = get("/v1/disparities/stops?jurisdiction=demo-city");
    assert_eq!((drun, dbatches), (run, batches));
}

#[test]
fn a_panic_inside_an_import_worker_is_an_internal_error_not_the_users_and_nothing_lands() {
    let s = Scratch::new();
    let stops = repo().join("fixtures/stops.csv");
    let fault = ("OVERSIGHT_FAULT", "import-worker-panic");
    // The command line: exit 1 (internal), not 2 (usage) or 3 (refused).
    let out = s
        .cmd()
        .env(fault.0, fault.1)
        .args(["import", "--dataset", "stops", "--profile", "canonical", p(&stops)])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("panicked"), "{stderr}");
    // Over HTTP: a 500 with the common error body, saying nothing of the internals.
    let analyst = key(&s, "analyst");
    let srv = spawn_server(&s, &["serve"], None, &[fault]);
    let (status, _, body) = upload(&srv, &analyst, "stops", "stops.csv");
    assert_eq!(status, 500, "{body}");
    assert_eq!(body["error"]["code"], "internal", "{body}");
    assert_eq!(body["error"]["message"], "internal error; the server log has the details");
    drop(srv);
    // Nothing landed either time.
    let batches = s.ok(&["batches", "--json"]).stdout();
    let batches: Value = serde_json::from_str(&batches).unwrap();
    assert!(
        batches.as_array().unwrap().iter().all(|b| b["status"] != "committed"),
        "a batch landed despite the panic: {batches}"
    );
    // Without the fault the same upload lands.
    let srv = spawn_server(&s, &["serve"], None, &[]);
    assert_eq!(upload(&srv, &analyst, "stops", "stops.csv").0, 201);
}
