//! Running it for real: operators' commands while the server runs (they go through its API and print what
//! they print without it), keys given out and taken back live, and a log a collector can read.

use crate::fixtures::import_fixture;
use crate::helpers::{Run, Scratch, Server, agent, p, spawn_server, spawn_server_logging};
use serde_json::Value;

/// `oversight ARGS` with extra environment (the client's key, a server).
fn run_env(s: &Scratch, env: &[(&str, &str)], args: &[&str]) -> Run {
    Run(s.cmd().envs(env.iter().copied()).args(args).output().expect("run oversight"))
}

fn key(s: &Scratch, role: &str) -> String {
    s.ok(&["keys", "create", "--role", role, "--name", &format!("test-{role}")]).stdout().trim().to_owned()
}

fn post_json(srv: &Server, path: &str, key: &str, body: &Value) -> (u16, String) {
    let r = agent()
        .post(format!("{}{path}", srv.base))
        .header("Authorization", format!("Bearer {key}"))
        .header("Content-Type", "application/json")
        .send(body.to_string())
        .expect("request");
    (r.status().as_u16(), r.into_body().read_to_string().unwrap_or_default())
}

/// Stops with two bad rows (a date that is no date, a race that is no code), so a batch has rejects.
fn stops_with_rejects(s: &Scratch) -> std::path::PathBuf {
    let text = std::fs::read_to_string(crate::helpers::repo().join("fixtures/stops.csv")).unwrap();
    let mut lines: Vec<String> = text.lines().take(400).map(str::to_owned).collect();
    lines[10] = lines[10].replacen("2016-01-0", "2016-13-0", 1);
    lines[20] = lines[20].replacen(",white,", ",purple,", 1);
    s.write("stops-with-rejects.csv", lines.join("\n") + "\n")
}

/// The read commands whose output must not depend on where they ran.
const READS: &[&[&str]] = &[
    &["batches"],
    &["batches", "--json"],
    &["rejects", "1"],
    &["rejects", "1", "--csv"],
    &["events", "list"],
    &["events", "list", "--jurisdiction", "demo-city", "--json"],
    &["jurisdictions", "list"],
    &["quality"],
    &["quality", "--jurisdiction", "demo-city"],
    &["series", "--indicator", "stops.count", "--jurisdiction", "demo-city", "--grain", "year"],
    &["series", "--indicator", "stops.search_rate", "--jurisdiction", "demo-city", "--grain", "year", "--csv"],
];

#[test]
fn operators_commands_work_while_the_server_runs_and_print_the_same() {
    let s = Scratch::new();
    let bad = stops_with_rejects(&s);
    s.ok(&["import", "--dataset", "stops", "--profile", "canonical", p(&bad)]);
    import_fixture(&s, "policy-events", &["policy_events.csv"]);
    s.ok(&["compute"]);
    let admin = key(&s, "admin");
    let viewer = key(&s, "viewer");
    let set = ["jurisdictions", "set", "demo-city", "--timezone", "America/Chicago", "--lat", "41.88"];
    let add = ["events", "add", "--jurisdiction", "demo-city", "--date", "2017-07-01", "--kind", "sanctuary_policy"];
    let add: Vec<&str> = add.iter().copied().chain(["--title", "Welcoming city ordinance"]).collect();

    // Without a server: the file.
    let set_local = s.ok(&set).stdout();
    let add_local = s.ok(&add).stdout();
    let local: Vec<String> = READS.iter().map(|a| s.ok(a).stdout()).collect();
    assert!(local[2].contains("purple") && local[2].contains("date"), "the rejects: {}", local[2]);
    assert!(local[9].lines().count() >= 3, "a series: {}", local[9]);

    let srv = spawn_server(&s, &["serve"], None, &[]);
    let note = std::fs::read_to_string(format!("{}.server", s.db().display())).expect("the server's note");
    assert!(note.contains(&srv.base), "{note}");
    // With the server holding the file: the same commands find it and go through its API.
    let with = [("OVERSIGHT_KEY", admin.as_str())];
    for (args, want) in READS.iter().zip(&local) {
        let r = run_env(&s, &with, args);
        assert!(r.0.status.success(), "{args:?} through the server: {}", r.stderr());
        assert_eq!(&r.stdout(), want, "{args:?} prints differently through the server");
    }
    let r = run_env(&s, &with, &set);
    assert_eq!(r.stdout(), set_local, "jurisdictions set: {}", r.stderr());
    let r = run_env(&s, &with, &add);
    assert!(r.0.status.success(), "{}", r.stderr());
    let id = |out: &str| out.split_whitespace().nth(2).unwrap_or_default().to_owned();
    assert_eq!(r.stdout().replacen(&id(&r.stdout()), "N", 1), add_local.replacen(&id(&add_local), "N", 1));
    let removed = run_env(&s, &with, &["events", "remove", &id(&r.stdout())]);
    assert!(removed.stdout().contains("removed"), "{}", removed.stderr());
    let r = run_env(&s, &with, &["compute", "--full"]);
    assert!(r.stdout().starts_with("metric run"), "{} {}", r.stdout(), r.stderr());

    // A key made while the server runs works at once, on a write.
    let made = run_env(&s, &with, &["keys", "create", "--role", "analyst", "--name", "late-analyst"]);
    assert!(made.0.status.success(), "{}", made.stderr());
    let late = made.stdout().trim().to_owned();
    let ev = serde_json::json!({"jurisdiction_id": "demo-city", "effective_date": "2018-01-01", "kind": "training", "title": "Training"});
    assert_eq!(post_json(&srv, "/v1/policy-events", &late, &ev).0, 201);
    let list = run_env(&s, &with, &["keys", "list"]).stdout();
    assert!(list.contains("late-analyst") && !list.contains(&late), "{list}");
    // Revoked through the server, it stops working at once.
    let late_id =
        list.lines().find(|l| l.contains("late-analyst")).unwrap().split_whitespace().next().unwrap().to_owned();
    assert!(run_env(&s, &with, &["keys", "revoke", &late_id]).0.status.success());
    assert_eq!(post_json(&srv, "/v1/policy-events", &late, &ev).0, 401);

    // The server's refusals, with exit 2: a role too low, no key, a wrong key.
    let r = run_env(&s, &[("OVERSIGHT_KEY", &viewer)], &add);
    assert_eq!(r.code(), Some(2), "{}", r.stderr());
    assert!(r.stderr().contains("403") && r.stderr().contains("analyst"), "{}", r.stderr());
    let r = s.run(&add);
    assert_eq!(r.code(), Some(2), "{}", r.stderr());
    assert!(r.stderr().contains("401") && r.stderr().contains("OVERSIGHT_KEY"), "{}", r.stderr());
    let r = run_env(&s, &[("OVERSIGHT_KEY", "ovs_not_a_key")], &["rejects", "1"]);
    assert_eq!(r.code(), Some(2), "{}", r.stderr());
    // OVERSIGHT_SERVER names a server that is not there: unavailable (3), said plainly.
    let r = run_env(&s, &[("OVERSIGHT_SERVER", "http://127.0.0.1:9"), ("OVERSIGHT_KEY", &admin)], &["batches"]);
    assert_eq!(r.code(), Some(3), "{}", r.stderr());
    assert!(r.stderr().contains("cannot reach the server"), "{}", r.stderr());
    // Stopped, the server takes its note away, and commands open the file again.
    let mut srv = srv;
    let pid = srv.child.id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    assert!(srv.child.wait().unwrap().success());
    assert!(!std::path::Path::new(&format!("{}.server", s.db().display())).exists(), "the note outlives the server");
    assert_eq!(s.ok(READS[0]).stdout(), local[0]);
}

#[test]
fn every_log_line_in_json_mode_is_json_and_carries_the_request_id_the_response_shows() {
    let s = Scratch::new();
    import_fixture(&s, "policy-events", &["policy_events.csv"]);
    let analyst = key(&s, "analyst");
    let log = s.path("server.log");
    let file = std::fs::File::create(&log).unwrap();
    let srv = spawn_server_logging(
        &s,
        &["serve"],
        None,
        &[("OVERSIGHT__LOG__FORMAT", "json"), ("OVERSIGHT_LOG", "info")],
        file.into(),
    );
    let mut ids = Vec::new();
    for path in ["/v1/indicators", "/v1/jurisdictions", "/v1/no-such-thing", "/readyz"] {
        let r = agent().get(format!("{}{path}", srv.base)).call().unwrap();
        ids.push((path, r.headers().get("x-request-id").expect("x-request-id").to_str().unwrap().to_owned()));
    }
    // An id the client (or its proxy) sends is kept; a write logs the key's name, never the key.
    let r = agent()
        .post(format!("{}/v1/policy-events", srv.base))
        .header("X-Request-Id", "proxy-4711")
        .header("Authorization", format!("Bearer {analyst}"))
        .header("Content-Type", "application/json")
        .send(r#"{"jurisdiction_id":"demo-city","effective_date":"2019-01-01","kind":"training","title":"T"}"#)
        .unwrap();
    assert_eq!(r.headers().get("x-request-id").unwrap(), "proxy-4711");
    ids.push(("/v1/policy-events", "proxy-4711".to_owned()));
    let upload = s.ok(&[
        "import",
        "--dataset",
        "stops",
        "--profile",
        "canonical",
        "--key",
        &analyst,
        p(&stops_with_rejects(&s)),
    ]);
    assert!(upload.stdout().contains("imported as batch"), "{}", upload.stdout());
    // Stopped as a service manager stops it (SIGTERM), so the log's buffer is written out; a kill would lose
    // its last tenth of a second (the import's line, under load).
    let mut srv = srv;
    let pid = srv.child.id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    assert!(srv.child.wait().unwrap().success());
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<Value> =
        text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect();
    for (path, id) in &ids {
        let line = lines
            .iter()
            .find(|l| l["target"] == "oversight::access" && l["path"] == *path)
            .unwrap_or_else(|| panic!("no access line for {path}:\n{text}"));
        assert_eq!(line["request_id"], id.as_str(), "{line}");
        assert!(line["status"].is_u64() && line["duration_ms"].is_number() && line["method"].is_string(), "{line}");
        assert!(line["timestamp"].as_str().unwrap().ends_with('Z'), "UTC, with its offset: {line}");
    }
    let post = lines.iter().find(|l| l["path"] == "/v1/policy-events").unwrap();
    assert_eq!(post["key"], "test-analyst");
    assert!(!text.contains(&analyst), "a key reached the log");
    // The import: its batch, counts and duration, inside the request's span (so with its id).
    let import =
        lines.iter().find(|l| l["batch"].is_u64() && l["rows_rejected"] == 2).unwrap_or_else(|| panic!("{text}"));
    assert!(import["duration_s"].is_number(), "{import}");
    assert!(import["span"]["request_id"].is_string(), "{import}");
}

/// An order-independent digest of the tables a backup must bring back whole: (table, rows, md5 of the rows).
fn digest(db: &std::path::Path) -> Vec<String> {
    let store = oversight_store::Store::open(db).unwrap();
    let tables = [
        "stops",
        "detainers",
        "crime_reports",
        "complaints",
        "allegations",
        "policy_events",
        "populations",
        "import_batches",
        "metric_points",
        "metric_runs",
    ];
    tables
        .iter()
        .map(|t| {
            let sql = format!(
                "SELECT count(*)::VARCHAR || ' ' || coalesce(md5(string_agg(h, '' ORDER BY h)), '-') \
                 FROM (SELECT md5(CAST(x AS VARCHAR)) AS h FROM {t} x)"
            );
            let v = store.inspect(&sql, &[]).unwrap().remove(0).remove(0).unwrap_or_default();
            format!("{t} {v}")
        })
        .collect()
}

#[test]
fn a_backup_taken_under_read_load_and_an_upload_restores_to_one_moment_and_a_tampered_one_is_refused() {
    let s = Scratch::new();
    crate::fixtures::import_fixtures(&s);
    s.ok(&["compute"]);
    let admin = key(&s, "admin");
    let analyst = key(&s, "analyst");
    let before = digest(&s.db());
    // Another town's stops: new records, a new batch, and the recompute after it.
    let text = std::fs::read_to_string(crate::helpers::repo().join("fixtures/stops.csv")).unwrap();
    let other = text.replace("demo-", "other-");

    let srv = spawn_server(&s, &["serve"], None, &[]);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let base = srv.base.clone();
    // Two clients reading series (cached and not), disparity tables and dataset summaries without pause.
    let load: Vec<_> = (0..2)
        .map(|_| {
            let (stop2, base2) = (stop.clone(), base.clone());
            std::thread::spawn(move || {
                let (mut ok, mut bad, started) = (0u64, Vec::new(), std::time::Instant::now());
                let paths = [
                    "/v1/indicators/stops.search_rate/series?jurisdiction=demo-city&grain=month",
                    "/v1/indicators/stops.count/series?jurisdiction=demo-city&grain=year",
                    "/v1/indicators/stops.arrest_rate/series?jurisdiction=demo-city&grain=quarter",
                    "/v1/disparities/stops?jurisdiction=demo-city",
                    "/v1/datasets",
                ];
                while !stop2.load(std::sync::atomic::Ordering::SeqCst) {
                    let path = paths[(ok as usize) % paths.len()];
                    let r = agent().get(format!("{base2}{path}")).call().unwrap();
                    if r.status() == 200 { ok += 1 } else { bad.push((path, r.status().as_u16())) }
                }
                (ok, bad, started.elapsed())
            })
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let upload = {
        let (base, analyst) = (base.clone(), analyst.clone());
        std::thread::spawn(move || {
            let r = agent()
                .post(format!("{base}/v1/imports/stops?profile=canonical&filename=other-town.csv"))
                .header("Authorization", format!("Bearer {analyst}"))
                .header("Content-Type", "text/csv")
                .send(other)
                .unwrap();
            r.status().as_u16()
        })
    };
    let dir = s.path("snapshot");
    let b = run_env(&s, &[("OVERSIGHT_KEY", admin.as_str())], &["backup", "--to", p(&dir)]);
    assert!(b.0.status.success(), "backup through the server: {}", b.stderr());
    assert!(b.stdout().contains("backup written to"), "{}", b.stdout());
    assert_eq!(upload.join().unwrap(), 201);
    std::thread::sleep(std::time::Duration::from_millis(300));
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let (mut ok, mut rate) = (0, 0.0);
    for l in load {
        let (n, bad, took) = l.join().unwrap();
        assert!(bad.is_empty(), "reads failed during the backup: {bad:?}");
        ok += n;
        rate += n as f64 / took.as_secs_f64();
    }
    assert!(rate >= 100.0, "the read load was {rate:.0} requests/s, under the 100 the test needs");
    eprintln!("read load during the backup: {rate:.0} requests/s, {ok} requests");
    let mut srv = srv;
    assert!(
        std::process::Command::new("kill").args(["-TERM", &srv.child.id().to_string()]).status().unwrap().success()
    );
    srv.child.wait().unwrap();
    let after = digest(&s.db());
    assert_ne!(before, after, "the upload landed");

    // The snapshot is one moment: everything before the upload, or everything after it.
    let restored = s.path("restored.duckdb");
    let r = s.ok(&["--db", p(&restored), "restore", p(&dir)]);
    assert!(r.stdout().contains("every file matched its sha256"), "{}", r.stdout());
    let got = digest(&restored);
    assert!(got == before || got == after, "the restored database is neither before nor after the upload:\n{got:#?}");
    eprintln!("the snapshot holds the database {} the upload", if got == before { "before" } else { "after" });
    let manifest: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    assert!(manifest["tables"]["metric_points"].as_i64().unwrap() > 0 && manifest["schema_version"].as_i64() > Some(0));

    // Restore refuses a database that exists, and a snapshot with one file changed, naming it.
    let again = s.run(&["--db", p(&restored), "restore", p(&dir)]);
    assert_eq!(again.code(), Some(2), "{}", again.stderr());
    let tampered = s.path("tampered");
    std::fs::create_dir(&tampered).unwrap();
    for e in std::fs::read_dir(&dir).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), tampered.join(e.file_name())).unwrap();
    }
    let victim = tampered.join("stops.parquet");
    let mut bytes = std::fs::read(&victim).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    std::fs::write(&victim, bytes).unwrap();
    let t = s.run(&["--db", p(&s.path("t.duckdb")), "restore", p(&tampered)]);
    assert_eq!(t.code(), Some(2), "{}", t.stderr());
    assert!(t.stderr().contains("stops.parquet") && t.stderr().contains("sha256"), "{}", t.stderr());
    assert!(!s.path("t.duckdb").exists(), "a refused restore left a database behind");
    // And one without its manifest (what a failed backup would leave, if it left anything).
    std::fs::remove_file(tampered.join("manifest.json")).unwrap();
    let t = s.run(&["--db", p(&s.path("t.duckdb")), "restore", p(&tampered)]);
    assert!(t.code() == Some(2) && t.stderr().contains("manifest"), "{}", t.stderr());
}

#[test]
fn a_backup_to_a_full_or_read_only_directory_fails_cleanly_and_leaves_nothing_restore_would_take() {
    let s = Scratch::new();
    import_fixture(&s, "stops", &["stops.csv"]);
    let Some(small) = crate::helpers::Tmpfs::mount(s.path("small"), 64 << 10) else {
        // As the full-disk import test: the store's unit tests cover the messages without a mount.
        eprintln!("skipped: this process may not mount a tmpfs (run as root to include it)");
        return;
    };
    let full = small.0.join("snap");
    let r = s.run(&["backup", "--to", p(&full)]);
    assert_ne!(r.code(), Some(0), "{}", r.stdout());
    assert!(r.stderr().contains("disk is full") || r.stderr().contains("No space"), "{}", r.stderr());
    let left: Vec<_> = std::fs::read_dir(&small.0).unwrap().collect();
    assert!(left.is_empty(), "a failed backup left {left:?}");
    let ro = crate::helpers::Tmpfs::mount_with(s.path("ro"), "size=1m,ro").unwrap();
    let r = s.run(&["backup", "--to", p(&ro.0.join("snap"))]);
    assert_ne!(r.code(), Some(0), "{}", r.stdout());
    assert!(r.stderr().contains("Read-only") || r.stderr().contains("read-only"), "{}", r.stderr());
    assert!(!ro.0.join("snap").exists());
    // The database is as it was: a backup elsewhere works.
    assert!(s.ok(&["backup", "--to", p(&s.path("fine"))]).stdout().contains("tables"));
}
