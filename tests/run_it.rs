//! Running Oversight as its users do: the README's commands, extracted from the README itself (so the test
//! fails when the README drifts), the example configuration, and scheduled imports from a folder.

use crate::helpers::{Scratch, Server, agent, p, repo, spawn_server};
use serde_json::Value;
use std::time::{Duration, Instant};

/// Starts `oversight ARGS --bind 127.0.0.1:0` in `cwd`.
fn start(s: &Scratch, args: &[&str], cwd: &std::path::Path) -> Server {
    spawn_server(s, args, Some(cwd), &[])
}

/// GET, returning status, the content-disposition header and the body.
fn get(url: &str) -> (u16, Option<String>, String) {
    let r = agent().get(url).call().expect("request");
    let status = r.status().as_u16();
    let cd = r.headers().get("content-disposition").and_then(|v| v.to_str().ok()).map(str::to_owned);
    (status, cd, r.into_body().with_config().limit(100 << 20).read_to_string().unwrap_or_default())
}

/// Status, content type and body.
fn get_typed(url: &str) -> (u16, String, String) {
    let r = agent().get(url).call().expect("request");
    let status = r.status().as_u16();
    let ct = r.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    (status, ct, r.into_body().with_config().limit(100 << 20).read_to_string().unwrap_or_default())
}

fn post(url: &str, key: Option<&str>) -> (u16, String) {
    let mut req = agent().post(url);
    if let Some(k) = key {
        req = req.header("Authorization", format!("Bearer {k}"));
    }
    let r = req.send_empty().expect("request");
    (r.status().as_u16(), r.into_body().read_to_string().unwrap_or_default())
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// The fenced blocks (language, text) of a README section (from its `## ` heading to the next).
fn section_blocks(readme: &str, heading: &str) -> Vec<(String, String)> {
    let start = readme.find(&format!("\n## {heading}")).unwrap_or_else(|| panic!("README has no section {heading:?}"));
    let rest = &readme[start + 4..];
    let end = rest.find("\n## ").unwrap_or(rest.len());
    let mut blocks = Vec::new();
    let mut lines = rest[..end].lines();
    while let Some(l) = lines.next() {
        if let Some(lang) = l.strip_prefix("```") {
            let mut text = String::new();
            for l in lines.by_ref() {
                if l.starts_with("```") {
                    break;
                }
                text.push_str(l);
                text.push('\n');
            }
            blocks.push((lang.to_owned(), text));
        }
    }
    blocks
}

fn readme() -> String {
    std::fs::read_to_string(repo().join("README.md")).expect("README.md")
}

/// The URLs of the `curl` lines of a block.
fn curl_urls(block: &str) -> Vec<String> {
    block
        .lines()
        .filter(|l| l.trim_start().starts_with("curl "))
        .map(|l| {
            let q = l.find('\'').expect("curl URL in single quotes");
            let rest = &l[q + 1..];
            rest[..rest.find('\'').unwrap()].to_owned()
        })
        .collect()
}

#[test]
fn the_readme_quickstart_brings_up_the_demo_and_its_commands_answer_as_written() {
    let text = readme();
    let blocks = section_blocks(&text, "Two commands");
    assert_eq!(blocks[0].1.trim(), "cargo run -- demo", "the README's first command");
    assert_eq!(blocks[1].1.trim(), "cargo test --workspace", "the README's second command");
    let ci = std::fs::read_to_string(repo().join(".ci/run")).unwrap();
    assert!(ci.contains("\ncargo test --workspace\n"), ".ci/run must call the README's test command");

    // `cargo run -- demo` is the binary's `demo`, from the repository root.
    let s = Scratch::new();
    let t = Instant::now();
    let srv = start(&s, &["demo"], &repo());
    eprintln!("demo up in {:.1} s", t.elapsed().as_secs_f64());
    let (status, _, docs) = get(&format!("{}/docs/", srv.base));
    assert_eq!(status, 200);
    assert!(docs.contains("swagger"));

    // Every indicator is populated.
    let (_, _, cat) = get(&format!("{}/v1/indicators", srv.base));
    let mut empty = Vec::new();
    for ind in json(&cat).as_array().unwrap() {
        let id = ind["id"].as_str().unwrap();
        // Indicators documented as all-time only have points at grain `all`.
        let grain = if ind["definition"].as_str().unwrap().contains("(all time only)") { "all" } else { "year" };
        let (st, _, body) =
            get(&format!("{}/v1/indicators/{id}/series?jurisdiction=demo-city&grain={grain}", srv.base));
        assert_eq!(st, 200, "{id}: {body}");
        if json(&body).as_array().unwrap().is_empty() {
            empty.push(id.to_owned());
        }
    }
    assert!(empty.is_empty(), "indicators without points in the demo: {empty:?}");

    // The committee member's commands, as written (host and port swapped for the test server's).
    let committee = section_blocks(&text, "For a committee member");
    // The section starts with the pages: each answers, and the impact it quotes in words is the page's.
    let section = &text[text.find("\n## For a committee member").unwrap()..];
    let section = &section[..section[4..].find("\n## ").unwrap() + 4];
    let first_block = section.find("```").unwrap();
    for page in ["/", "/jurisdictions/demo-city", "/compare?indicator=stops.search_rate&grain=year&period=2019-01-01"] {
        assert!(section[..first_block].contains(&format!("**`{page}`**")), "the section starts with {page}");
        let (st, ct, body) = get_typed(&format!("{}{page}", srv.base));
        assert_eq!((st, ct.starts_with("text/html")), (200, true), "{page}: {body}");
        if page.starts_with("/jurisdictions") {
            let quoted = section.split("impact in words (\"").nth(1).unwrap().split("\")").next().unwrap();
            let quoted = quoted.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(body.contains(&quoted.replace('&', "&amp;")), "the page does not say {quoted:?}");
        }
    }
    let urls = curl_urls(&committee[0].1);
    assert_eq!(urls.len(), 4);
    for u in &urls {
        let (st, _, body) = get(&u.replace("http://127.0.0.1:8080", &srv.base));
        assert_eq!(st, 200, "{u}: {body}");
        json(&body);
    }
    // The charts for a dashboard's <img> tags.
    let html_block = &committee.iter().find(|(lang, _)| lang == "html").expect("an html block").1;
    for src in html_block.split("src=\"").skip(1).map(|r| &r[..r.find('"').unwrap()]) {
        let (st, ct, body) = get_typed(&src.replace("http://127.0.0.1:8080", &srv.base).replace("&amp;", "&"));
        assert_eq!((st, ct.as_str()), (200, "image/svg+xml"), "{src}: {body}");
        assert!(body.contains("<title>") && !body.contains("No data:"), "{src}");
    }
    let (_, _, its) = get(&urls[2].replace("http://127.0.0.1:8080", &srv.base));
    let ratio = json(&its)["level_change"]["ratio"].as_f64().unwrap();
    assert!(
        text.contains(&format!(
            "`level_change.ratio` is the change in Hispanic victims' monthly reports at the event ({ratio:.2}"
        )),
        "the README quotes the ratio {ratio:.2}"
    );

    // The journalist's download.
    let journalist = section_blocks(&text, "For a journalist");
    let url = &curl_urls(&journalist[0].1)[0];
    let (st, cd, body) = get(&url.replace("http://127.0.0.1:8080", &srv.base));
    assert_eq!(st, 200);
    let name = cd.unwrap();
    assert!(
        name.contains("oversight-stops-demo-city-2019-01-01-to-2019-12-31.csv")
            && text.contains("saves `oversight-stops-demo-city-2019-01-01-to-2019-12-31.csv`"),
        "{name}"
    );
    assert!(body.lines().count() > 1000 && body.lines().skip(1).all(|l| l.contains(",2019-")), "one row per 2019 stop");
}

#[test]
fn the_readme_analyst_profile_imports_as_described() {
    let text = readme();
    let blocks = section_blocks(&text, "For an analyst");
    let csv = &blocks.iter().find(|b| b.0 == "csv").unwrap().1;
    let toml = &blocks.iter().find(|b| b.0 == "toml").unwrap().1;
    let s = Scratch::new();
    s.write("riverton_stops.csv", csv);
    s.write("riverton.toml", toml);
    let commands = &blocks.iter().find(|b| b.0 == "sh").unwrap().1;
    let mut outputs = Vec::new();
    for line in commands.lines().filter(|l| l.starts_with("oversight ")) {
        let args: Vec<&str> = line.split_whitespace().skip(1).collect();
        let out = s.cmd().args(&args).current_dir(s.dir.path()).output().expect("run");
        // The import exits 4, as the README says: one row in four rejected is over the reject share.
        let want = if line.starts_with("oversight import") { 4 } else { 0 };
        assert_eq!(out.status.code(), Some(want), "{line}: {}", String::from_utf8_lossy(&out.stderr));
        outputs.push(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    assert!(
        outputs[0].contains("accepted                  3") && outputs[0].contains("rejected                  1"),
        "{}",
        outputs[0]
    );
    let rejects = std::fs::read_to_string(s.path("rejects.csv")).unwrap();
    assert!(rejects.contains("riverton_stops.csv,5,Stop Time,13:00"), "{rejects}");
    let again = s.ok(&[
        "import",
        "--dataset",
        "stops",
        "--profile",
        p(&s.path("riverton.toml")),
        p(&s.path("riverton_stops.csv")),
    ]);
    assert!(again.stdout().contains("already imported"), "{}", again.stdout());

    // The schedule shown in the README is valid configuration.
    let sched = &blocks.iter().filter(|b| b.0 == "toml").nth(1).unwrap().1;
    let cfg = s.write("oversight.toml", sched.replace("/srv/oversight/riverton.toml", p(&s.path("riverton.toml"))));
    let srv = start(&s, &["--config", p(&cfg), "serve"], s.dir.path());
    let (_, _, body) = get(&format!("{}/v1/schedules", srv.base));
    let v = json(&body);
    assert_eq!(v[0]["name"], "riverton-nightly");
    assert!(v[0]["next_run"].is_string());
}

#[test]
fn the_example_configuration_loads_and_serves() {
    let s = Scratch::new();
    let example = repo().join("oversight.example.toml");
    let srv = start(&s, &["--config", p(&example), "serve"], s.dir.path());
    let (_, _, body) = get(&format!("{}/v1/schedules", srv.base));
    let v = json(&body);
    assert_eq!(v[0]["name"], "nightly-hartford-stops");
    assert_eq!(v[0]["timezone"], "America/New_York");
    drop(srv);
    // A typo is an error naming the key, not a silently ignored setting.
    let bad = s.write("bad.toml", "[api]\npublic_read = false\n");
    let r = s.run(&["--config", p(&bad), "serve", "--bind", "127.0.0.1:0"]);
    assert_ne!(r.code(), Some(0));
    assert!(r.stderr().contains("public_read"), "{}", r.stderr());
    // An environment variable overrides the file: reads now need a key.
    let srv = spawn_server(&s, &["--config", p(&example), "serve"], None, &[("OVERSIGHT__API__PUBLIC_READS", "false")]);
    assert_eq!(get(&format!("{}/v1/indicators", srv.base)).0, 401);
}

/// Polls `/v1/schedules` until `done` holds for the schedule's last run (or 20 s pass).
fn wait_for(srv: &Server, done: impl Fn(&Value) -> bool) -> Value {
    let t = Instant::now();
    loop {
        let (_, _, body) = get(&format!("{}/v1/schedules", srv.base));
        let v = json(&body)[0].clone();
        if v["running"] == false && done(&v["last_run"]) {
            return v;
        }
        assert!(t.elapsed() < Duration::from_secs(20), "schedule never reached the expected state: {v}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_schedule_imports_files_dropped_into_a_folder_once_and_reports_a_bad_one_without_stopping() {
    let s = Scratch::new();
    let drop_dir = s.path("drop");
    std::fs::create_dir(&drop_dir).unwrap();
    let stops = std::fs::read_to_string(repo().join("fixtures/stops.csv")).unwrap();
    let mut lines = stops.lines();
    let header = lines.next().unwrap();
    let body: Vec<&str> = lines.collect();
    let part = |a: usize, b: usize| format!("{header}\n{}\n", body[a..b].join("\n"));
    let cfg = s.write(
        "oversight.toml",
        format!(
            "[[schedule]]\nname = \"drop\"\ncron = \"* * * * * *\"\ndataset = \"stops\"\nprofile = \"canonical\"\nsource = \"{}\"\n",
            p(&drop_dir)
        ),
    );
    let analyst = s.ok(&["keys", "create", "--role", "analyst", "--name", "t"]).stdout().trim().to_owned();
    let srv = start(&s, &["--config", p(&cfg), "serve"], s.dir.path());

    // A file dropped in is imported within a tick, and the indicators are recomputed.
    std::fs::write(drop_dir.join("stops-a.csv"), part(0, 500)).unwrap();
    let v = wait_for(&srv, |r| r["files_imported"] == 1 || r["files_skipped"] == 1);
    assert_eq!(v["last_run"]["outcome"], "ok", "{v}");
    let (_, _, series) =
        get(&format!("{}/v1/indicators/stops.count/series?jurisdiction=demo-city&grain=all&group=all", srv.base));
    assert_eq!(json(&series)[0]["numerator"], 500.0, "{series}");

    // The same file again, under another name: nothing is imported.
    std::fs::write(drop_dir.join("stops-a-copy.csv"), part(0, 500)).unwrap();
    let v = wait_for(&srv, |r| r["files_skipped"] == 2);
    assert_eq!(v["last_run"]["files_imported"], 0);
    let (_, _, imports) = get(&format!("{}/v1/imports", srv.base));
    assert_eq!(json(&imports)["items"].as_array().unwrap().len(), 1, "one batch only");

    // A malformed file is refused and reported; a good file dropped after it still lands.
    std::fs::write(drop_dir.join("stops-b-broken.csv"), "this is not,a stops file\n1,2\n").unwrap();
    let v = wait_for(&srv, |r| r["files_failed"] == 1);
    assert_eq!(v["last_run"]["outcome"], "partial");
    assert!(v["last_run"]["error"].as_str().unwrap().contains("stops-b-broken.csv"), "{v}");
    std::fs::write(drop_dir.join("stops-c.csv"), part(500, 800)).unwrap();
    // Later runs: a, its copy and c are known, the broken file is reported again each time.
    let v = wait_for(&srv, |r| r["files_skipped"] == 3 && r["files_failed"] == 1);
    assert_eq!(v["last_run"]["outcome"], "partial");
    let (_, _, series) =
        get(&format!("{}/v1/indicators/stops.count/series?jurisdiction=demo-city&grain=all&group=all", srv.base));
    assert_eq!(json(&series)[0]["numerator"], 800.0, "{series}");

    // Run now by hand: analyst only; unknown schedules are 404.
    assert_eq!(post(&format!("{}/v1/schedules/drop/run", srv.base), None).0, 401);
    assert_eq!(post(&format!("{}/v1/schedules/nope/run", srv.base), Some(&analyst)).0, 404);
    let (st, body) = post(&format!("{}/v1/schedules/drop/run", srv.base), Some(&analyst));
    assert!(st == 200 || st == 409, "{st} {body}");
}

#[test]
fn a_run_missed_while_the_server_was_down_runs_once_at_start_up() {
    let s = Scratch::new();
    let drop_dir = s.path("drop");
    std::fs::create_dir(&drop_dir).unwrap();
    std::fs::copy(repo().join("fixtures/populations.csv"), drop_dir.join("populations.csv")).unwrap();
    // Yearly at midnight on 1 January: never due while the test runs.
    let cfg = s.write(
        "oversight.toml",
        format!(
            "[[schedule]]\nname = \"yearly\"\ncron = \"0 0 1 1 *\"\ndataset = \"populations\"\nprofile = \"canonical\"\nsource = \"{}\"\n",
            p(&drop_dir)
        ),
    );
    {
        // A run recorded two years ago: the 1 January since then was missed.
        let store = s.store();
        let old = chrono::NaiveDate::from_ymd_opt(2024, 6, 1).unwrap().and_hms_opt(0, 0, 0).unwrap();
        let id = store.start_schedule_run("yearly", "cron", old).unwrap();
        let mut run = store.last_schedule_run("yearly").unwrap().unwrap();
        assert_eq!(run.id, id);
        run.finished_at = Some(old);
        run.outcome = "ok".into();
        store.finish_schedule_run(&run).unwrap();
    }
    let srv = start(&s, &["--config", p(&cfg), "serve"], s.dir.path());
    let v = wait_for(&srv, |r| r["trigger"] == "catch-up");
    assert_eq!(v["last_run"]["files_imported"], 1, "{v}");
}

#[test]
fn a_schedule_can_fetch_its_file_from_a_url() {
    // A one-file web server: the populations fixture with an ETag; 304 to a request that has it already.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let body = std::fs::read(repo().join("fixtures/populations.csv")).unwrap();
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let sent2 = sent.clone();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let n = stream.read(&mut buf).unwrap_or(0);
            let request = String::from_utf8_lossy(&buf[..n]).to_ascii_lowercase();
            if request.contains("if-none-match: \"v1\"") {
                let _ = write!(stream, "HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\nConnection: close\r\n\r\n");
                continue;
            }
            sent2.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nETag: \"v1\"\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(&body);
        }
    });
    let s = Scratch::new();
    let cfg = s.write(
        "oversight.toml",
        format!(
            "[[schedule]]\nname = \"census\"\ncron = \"0 0 1 1 *\"\ndataset = \"populations\"\nprofile = \"canonical\"\nsource = \"http://127.0.0.1:{port}/data/populations.csv\"\n"
        ),
    );
    let analyst = s.ok(&["keys", "create", "--role", "analyst", "--name", "t"]).stdout().trim().to_owned();
    let srv = start(&s, &["--config", p(&cfg), "serve"], s.dir.path());
    let (st, body) = post(&format!("{}/v1/schedules/census/run", srv.base), Some(&analyst));
    assert_eq!(st, 200, "{body}");
    let run = json(&body);
    assert_eq!(run["files_imported"], 1, "{run}");
    assert_eq!(run["outcome"], "ok");
    // Asked again with its ETag: 304, nothing downloaded, nothing new.
    let (_, body) = post(&format!("{}/v1/schedules/census/run", srv.base), Some(&analyst));
    assert_eq!(json(&body)["files_skipped"], 1, "{body}");
    assert_eq!(json(&body)["outcome"], "ok", "{body}");
    assert_eq!(sent.load(std::sync::atomic::Ordering::SeqCst), 1, "an unchanged file was downloaded again");
    // Runs are stamped in UTC, and say so.
    let started = json(&body)["started_at"].as_str().unwrap().to_owned();
    let t = chrono::DateTime::parse_from_rfc3339(&started).unwrap_or_else(|e| panic!("{started}: {e}"));
    assert!(
        t.offset().local_minus_utc() == 0 && (chrono::Utc::now() - t.to_utc()).num_seconds().abs() < 60,
        "{started}"
    );
    let (_, _, imports) = get(&format!("{}/v1/imports", srv.base));
    assert_eq!(json(&imports)["items"][0]["files"][0]["name"], "populations.csv");
}

#[test]
fn a_download_that_never_answers_times_out_while_another_clients_write_completes() {
    // A web server that accepts the connection, reads the request and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    let s = Scratch::new();
    let cfg = s.write(
        "oversight.toml",
        format!(
            "[[schedule]]\nname = \"stalled\"\ncron = \"0 0 1 1 *\"\ndataset = \"populations\"\nprofile = \"canonical\"\n\
             source = \"http://127.0.0.1:{port}/populations.csv\"\ndownload_timeout_secs = 3\ndownload_retries = 1\ncatch_up = false\n"
        ),
    );
    s.ok(&["jurisdictions", "set", "demo-city", "--name", "Demo City"]);
    let analyst = s.ok(&["keys", "create", "--role", "analyst", "--name", "t"]).stdout().trim().to_owned();
    let srv = start(&s, &["--config", p(&cfg), "serve"], s.dir.path());
    let started = std::time::Instant::now();
    let run = {
        let (url, key) = (format!("{}/v1/schedules/stalled/run", srv.base), analyst.clone());
        std::thread::spawn(move || post(&url, Some(&key)))
    };
    std::thread::sleep(Duration::from_millis(500));
    // Meanwhile another analyst adds a policy event: it does not wait for the download.
    let t = std::time::Instant::now();
    let r = agent()
        .post(format!("{}/v1/policy-events", srv.base))
        .header("Authorization", format!("Bearer {analyst}"))
        .header("Content-Type", "application/json")
        .send(r#"{"jurisdiction_id": "demo-city", "effective_date": "2021-07-01", "kind": "sanctuary_policy", "title": "Ordinance"}"#)
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    assert!(t.elapsed() < Duration::from_secs(2), "the write waited {:?} for the download", t.elapsed());
    // The run fails on the timeout, saying so, instead of hanging.
    let (st, body) = run.join().unwrap();
    assert_eq!(st, 200, "{body}");
    let v = json(&body);
    assert_eq!(v["outcome"], "failed", "{v}");
    assert!(v["error"].as_str().unwrap().contains("download failed"), "{v}");
    assert!(v["error"].as_str().unwrap().contains("after 2 attempts"), "{v}");
    // Two attempts of 3 s each and a second between them: within the configured time, not hanging.
    let took = started.elapsed();
    assert!(took >= Duration::from_secs(6) && took < Duration::from_secs(10), "the run took {took:?}");
}

#[test]
fn sighup_puts_a_new_schedule_in_force_and_a_bad_configuration_keeps_the_running_ones() {
    let s = Scratch::new();
    let drop_dir = s.path("drop");
    std::fs::create_dir(&drop_dir).unwrap();
    std::fs::copy(repo().join("fixtures/populations.csv"), drop_dir.join("populations.csv")).unwrap();
    let yearly = "[[schedule]]\nname = \"yearly\"\ncron = \"0 0 1 1 *\"\ndataset = \"populations\"\nprofile = \"canonical\"\nsource = \"/nowhere\"\ncatch_up = false\n";
    let cfg = s.write("oversight.toml", yearly);
    let admin = s.ok(&["keys", "create", "--role", "admin", "--name", "ops"]).stdout().trim().to_owned();
    let srv = start(&s, &["--config", p(&cfg), "serve"], s.dir.path());
    let names = |srv: &Server| -> Vec<String> {
        let (_, _, body) = get(&format!("{}/v1/schedules", srv.base));
        json(&body).as_array().unwrap().iter().map(|v| v["name"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(names(&srv), ["yearly"]);
    // A new schedule, every second, over the drop folder: SIGHUP puts it in force, and it runs.
    let every_second = format!(
        "{yearly}[[schedule]]\nname = \"drop\"\ncron = \"* * * * * *\"\ndataset = \"populations\"\nprofile = \"canonical\"\nsource = \"{}\"\n",
        p(&drop_dir)
    );
    std::fs::write(&cfg, &every_second).unwrap();
    assert!(std::process::Command::new("kill").args(["-HUP", &srv.child.id().to_string()]).status().unwrap().success());
    let t = Instant::now();
    loop {
        let (_, _, body) = get(&format!("{}/v1/schedules", srv.base));
        let v = json(&body);
        let drop = v.as_array().unwrap().iter().find(|s| s["name"] == "drop").cloned();
        if let Some(d) = drop.filter(|d| d["last_run"]["files_imported"] == 1) {
            assert_eq!(d["last_run"]["outcome"], "ok", "{d}");
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(20), "the new schedule never ran: {v}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // A configuration with a bad cron expression is refused, saying why, and the running schedules stay.
    std::fs::write(&cfg, every_second.replace("* * * * * *", "every minute")).unwrap();
    let (st, body) = post(&format!("{}/v1/schedules/reload", srv.base), Some(&admin));
    assert_eq!(st, 400, "{body}");
    assert!(body.contains("cron") && body.contains("kept"), "{body}");
    assert_eq!(names(&srv), ["yearly", "drop"]);
    // A good one by the endpoint: the drop schedule removed.
    std::fs::write(&cfg, yearly).unwrap();
    let (st, body) = post(&format!("{}/v1/schedules/reload", srv.base), Some(&admin));
    assert_eq!((st, json(&body)["schedules"].clone()), (200, serde_json::json!(["yearly"])), "{body}");
    assert_eq!(names(&srv), ["yearly"]);
}
