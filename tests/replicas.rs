//! Read-only replicas: several `serve --read-only` on one file (or copies of a snapshot) answer reads alike
//! while other processes read it too, and refuse writes naming the writer.

use crate::fixtures::import_fixtures;
use crate::helpers::{Scratch, Server, agent, spawn_server};

fn get(srv: &Server, path: &str) -> (u16, String) {
    let mut r = agent().get(format!("{}{path}", srv.base)).call().expect("request");
    (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
}

#[test]
fn read_only_servers_share_one_file_answer_alike_and_refuse_writes_naming_the_writer() {
    let s = Scratch::new();
    import_fixtures(&s);
    s.ok(&["compute"]);
    let analyst = s.ok(&["keys", "create", "--role", "analyst", "--name", "t"]).stdout().trim().to_owned();
    let writer = "http://writer.internal:8080";
    let a = spawn_server(&s, &["--read-only", "serve", "--writer", writer], None, &[]);
    let b = spawn_server(&s, &["--read-only", "serve", "--writer", writer], None, &[]);
    let note = format!("{}.server", s.db().display());
    assert!(!std::path::Path::new(&note).exists(), "a replica wrote {note}: commands would send writes to it");

    // A third process reads the file while both serve it.
    let third = s.ok(&[
        "--read-only",
        "series",
        "--indicator",
        "stops.search_rate",
        "--jurisdiction",
        "demo-city",
        "--grain",
        "year",
        "--group",
        "race:black",
        "--csv",
    ]);
    let path = "/v1/indicators/stops.search_rate/series.csv?jurisdiction=demo-city&grain=year&group=race:black";
    let (sa, body_a) = get(&a, path);
    let (sb, body_b) = get(&b, path);
    assert_eq!((sa, sb), (200, 200), "{body_a} {body_b}");
    assert_eq!(body_a, body_b, "two replicas of one file answer alike");
    assert_eq!(body_a.lines().count(), 6, "{body_a}");
    // The command's values are the servers' (the same numbers, whatever the layout).
    for line in body_a.lines().skip(1) {
        let value = line.split(',').nth(4).unwrap();
        assert!(third.stdout().contains(value), "{value} not in the command's output:\n{}", third.stdout());
    }
    // Pages and charts are reads too.
    assert_eq!(get(&b, "/jurisdictions/demo-city").0, 200);

    // A write: 405, naming the writer.
    let mut r = agent()
        .post(format!("{}/v1/policy-events", a.base))
        .header("Authorization", format!("Bearer {analyst}"))
        .header("Content-Type", "application/json")
        .send(r#"{"jurisdiction_id":"demo-city","effective_date":"2019-01-01","kind":"training","title":"T"}"#)
        .unwrap();
    let body = r.body_mut().read_to_string().unwrap();
    assert_eq!(r.status().as_u16(), 405, "{body}");
    assert!(body.contains("read_only") && body.contains(writer), "{body}");
    let r = agent()
        .post(format!("{}/v1/imports/stops?profile=canonical", b.base))
        .header("Authorization", format!("Bearer {analyst}"))
        .header("Content-Type", "text/csv")
        .send("a,b\n1,2\n")
        .unwrap();
    assert_eq!(r.status().as_u16(), 405);
    // A command that writes refuses while the replicas hold the file.
    let refused = s.run(&["--read-only", "compute"]);
    assert!(!refused.0.status.success(), "a write under --read-only succeeded");
    assert_eq!(get(&a, "/readyz").0, 200);
    drop((a, b));

    // A published backup, served as it is by a replica: the same answer as the file it was taken from.
    let backup = s.path("snapshot");
    s.ok(&["backup", "--to", backup.to_str().unwrap()]);
    let c = spawn_server(&s, &["--read-only", "--db", backup.to_str().unwrap(), "serve"], None, &[]);
    assert_eq!(get(&c, path), (200, body_a));
    let refused = s.run(&["--db", backup.to_str().unwrap(), "serve", "--bind", "127.0.0.1:0"]);
    assert!(refused.stderr().contains("serve it with --read-only"), "{}", refused.stderr());
}
