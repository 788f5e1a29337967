//! The Parquet lake: export → import gives the same tables; a lake that differs from its manifest is refused;
//! a populated database takes only the batches it lacks; a public lake holds public columns only.

use crate::fixtures::import_fixtures;
use crate::helpers::Scratch;
use serde_json::Value;

fn digests(s: &Scratch, db: &str) -> String {
    s.ok(&["--db", db, "bench", "table-digests"]).stdout()
}

fn manifest(dir: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap()
}

#[test]
fn a_full_lake_round_trips_refuses_tampering_and_merges_only_missing_batches() {
    let s = Scratch::new();
    import_fixtures(&s);
    s.ok(&["compute"]);
    let full = s.path("lake-full");
    let public = s.path("lake-public");
    s.ok(&["lake", "export", "--to", full.to_str().unwrap(), "--full"]);
    s.ok(&["lake", "export", "--to", public.to_str().unwrap()]);

    // Hive-partitioned, with a manifest that lists every file with its sha256 and every batch.
    let m = manifest(&full);
    assert_eq!(m["full"], true);
    assert_eq!(m["batches"].as_array().unwrap().len(), 6);
    let names: Vec<&str> = m["files"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert!(
        names.iter().any(|n| n.starts_with("records/dataset=stops/jurisdiction=demo-city/year=2016/")),
        "{names:?}"
    );
    assert!(names.iter().any(|n| n.starts_with("cube/jurisdiction=demo-city/year=2020/")), "{names:?}");
    assert!(names.iter().any(|n| n.starts_with("metric_points/jurisdiction=demo-town/year=")), "{names:?}");
    assert!(m["files"].as_array().unwrap().iter().all(|f| f["sha256"].as_str().unwrap().len() == 64));

    // Into an empty database: the same tables, row for row.
    let source = digests(&s, s.db().to_str().unwrap());
    let copy = s.path("copy.duckdb");
    let out = s.ok(&["--db", copy.to_str().unwrap(), "lake", "import", full.to_str().unwrap()]);
    assert!(out.stdout().contains("6 batches loaded, 0 already here"), "{}", out.stdout());
    assert_eq!(digests(&s, copy.to_str().unwrap()), source);
    // Again: every batch is already there; nothing changes.
    let again = s.ok(&["--db", copy.to_str().unwrap(), "lake", "import", full.to_str().unwrap()]);
    assert!(again.stdout().contains("0 batches loaded, 6 already here and skipped"), "{}", again.stdout());
    assert_eq!(digests(&s, copy.to_str().unwrap()), source);
    // The copy goes on as a database of its own: its next batch id follows the lake's.
    let next = import_fixture_into(&s, copy.to_str().unwrap());
    assert!(next.contains("batch 7"), "{next}");

    // A changed file, an added file: refused, naming the file; nothing lands.
    let tampered = s.path("lake-tampered");
    copy_dir(&full, &tampered);
    let victim = names.iter().find(|n| n.starts_with("records/dataset=stops/")).unwrap();
    let mut bytes = std::fs::read(tampered.join(victim)).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    std::fs::write(tampered.join(victim), bytes).unwrap();
    let fresh = s.path("fresh.duckdb");
    let r = s.run(&["--db", fresh.to_str().unwrap(), "lake", "import", tampered.to_str().unwrap()]);
    assert!(
        !r.0.status.success() && r.stderr().contains(victim) && r.stderr().contains("changed or damaged"),
        "{}",
        r.stderr()
    );
    let added = s.path("lake-added");
    copy_dir(&full, &added);
    std::fs::write(added.join("records/extra.parquet"), b"PAR1").unwrap();
    let r = s.run(&["--db", fresh.to_str().unwrap(), "lake", "import", added.to_str().unwrap()]);
    assert!(!r.0.status.success() && r.stderr().contains("records/extra.parquet"), "{}", r.stderr());

    // A public lake: no bookkeeping with raw values, and it cannot be imported.
    let pm = manifest(&public);
    assert_eq!(pm["full"], false);
    let pnames: Vec<&str> = pm["files"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert!(!pnames.iter().any(|n| n.contains("import_rejects") || n.contains("import_batch")), "{pnames:?}");
    let r = s.run(&["--db", fresh.to_str().unwrap(), "lake", "import", public.to_str().unwrap()]);
    assert!(r.stderr().contains("public lake"), "{}", r.stderr());

    // Into a database that has the stops already: the other batches land, the stops are skipped, and the
    // indicators computed from the merged records are the source's.
    let merged = s.path("merged.duckdb");
    let m_db = merged.to_str().unwrap();
    for (dataset, file) in [("populations", "populations.csv"), ("stops", "stops.csv")] {
        s.ok(&[
            "--db",
            m_db,
            "import",
            "--dataset",
            dataset,
            "--profile",
            "canonical",
            crate::helpers::repo().join("fixtures").join(file).to_str().unwrap(),
        ]);
    }
    let out = s.ok(&["--db", m_db, "lake", "import", full.to_str().unwrap()]);
    assert!(out.stdout().contains("4 batches loaded, 2 already here and skipped"), "{}", out.stdout());
    assert!(out.stdout().contains("indicators recomputed"), "{}", out.stdout());
    let counts = |d: &str| -> Vec<String> {
        digests(&s, d)
            .lines()
            .filter(|l| !l.starts_with("metric_") && !l.starts_with("quality"))
            .map(|l| l.split('\t').take(2).collect::<Vec<_>>().join(" "))
            .collect()
    };
    assert_eq!(counts(m_db), counts(s.db().to_str().unwrap()), "the merged database holds the source's rows");
    for (ind, group) in
        [("stops.search_rate", "race:black"), ("crime_reports.count", "race:hispanic"), ("detainers.count", "all")]
    {
        let q = |d: &str| {
            s.ok(&[
                "--db",
                d,
                "series",
                "--indicator",
                ind,
                "--jurisdiction",
                "demo-city",
                "--grain",
                "year",
                "--group",
                group,
                "--csv",
            ])
            .stdout()
        };
        assert_eq!(q(m_db), q(s.db().to_str().unwrap()), "{ind} {group}");
    }
}

pub(crate) fn import_fixture_into(s: &Scratch, db: &str) -> String {
    // The fixture's first stop, a year after the fixtures end (a new input, so a new batch).
    let fixture = std::fs::read_to_string(crate::helpers::repo().join("fixtures/stops.csv")).unwrap();
    let mut lines = fixture.lines();
    let (header, first) = (lines.next().unwrap(), lines.next().unwrap());
    let date = first.split(',').nth(header.split(',').position(|c| c == "date").unwrap()).unwrap().to_owned();
    let row = first.replacen(&date, "2021-06-05", 1).replacen("demo-city-1,", "demo-city-after-the-lake,", 1);
    let file = s.write("more.csv", format!("{header}\n{row}\n"));
    s.ok(&["--db", db, "import", "--dataset", "stops", "--profile", "canonical", file.to_str().unwrap()]).stdout()
}

pub(crate) fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}

#[test]
fn a_merge_that_would_count_a_record_twice_is_refused_and_nothing_lands() {
    let s = Scratch::new();
    import_fixtures(&s);
    let full = s.path("lake");
    s.ok(&["lake", "export", "--full", "--to", full.to_str().unwrap()]);
    // Another database holds the fixtures' first stop, from a file of its own: the lake's stops batch is new to
    // it, and would bring the same stop (the same stop_id in the same jurisdiction) a second time.
    let fixture = std::fs::read_to_string(crate::helpers::repo().join("fixtures/stops.csv")).unwrap();
    let mut lines = fixture.lines();
    let (header, first) = (lines.next().unwrap(), lines.next().unwrap());
    let id_col = header.split(',').position(|c| c == "stop_id").unwrap();
    let stop_id = first.split(',').nth(id_col).unwrap().to_owned();
    let file = s.write("first-stop.csv", format!("{header}\n{first}\n"));
    let other = s.path("other.duckdb");
    let o = other.to_str().unwrap();
    s.ok(&["--db", o, "import", "--dataset", "stops", "--profile", "canonical", file.to_str().unwrap()]);
    let before = digests(&s, o);
    let r = s.run(&["--db", o, "lake", "import", full.to_str().unwrap()]);
    assert_ne!(r.code(), Some(0));
    assert!(r.stderr().contains("repeat record keys"), "{}", r.stderr());
    assert!(r.stderr().contains(&format!("{stop_id} (demo-city)")), "{}", r.stderr());
    assert_eq!(digests(&s, o), before, "nothing was imported");
}
