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
    drop(srv);
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
