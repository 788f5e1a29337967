//! The daily cube on Spark (`contrib/spark`): its SQL is the code's own cube definition, PySpark in local mode
//! builds the cube from the fixtures' lake, and the indicators `oversight compute --cube` computes from it
//! equal those of a normal `oversight compute`, value for value. A cube that is not what its manifest says,
//! or was built by another definition or from other batches, is refused.

use crate::fixtures::import_fixtures;
use crate::helpers::{Scratch, p, repo};
use crate::lake::{copy_dir, import_fixture_into};
use serde_json::Value;
use std::collections::BTreeMap;
use std::process::Command;

#[test]
fn the_committed_spark_sql_is_the_codes_cube_definition() {
    let s = Scratch::new();
    let generated = s.ok(&["lake", "cube-sql"]).stdout();
    let committed = std::fs::read_to_string(repo().join("contrib/spark/cube.sql")).unwrap();
    assert!(
        generated == committed,
        "contrib/spark/cube.sql is not this build's cube definition; regenerate it with \
         `cargo run -q -- lake cube-sql > contrib/spark/cube.sql`"
    );
    for measure in ["'stops', m_stops", "'found_known', m_found_known", "'sustained', m_sustained", "'count', m_count"]
    {
        assert!(generated.contains(measure), "{measure}");
    }
}

/// Whether `python3` can import pyspark and a Java runtime is there; under CI a missing one fails.
fn spark_available() -> bool {
    let ok = Command::new("python3").args(["-c", "import pyspark"]).output().is_ok_and(|o| o.status.success())
        && Command::new("java").arg("-version").output().is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("CI=true but pyspark or java is missing: .ci/run installs them before the tests");
        }
        eprintln!("skipped: the Spark cube test needs `pip install pyspark` and a Java runtime (OpenJDK 17)");
    }
    ok
}

fn spark_job(lake: &std::path::Path, out: &std::path::Path) -> std::process::Output {
    Command::new("python3")
        .arg(repo().join("contrib/spark/oversight_cube.py"))
        .args(["--lake", p(lake), "--out", p(out)])
        .output()
        .unwrap()
}

/// The per-table digests (`oversight bench table-digests`) of a database.
fn digests(s: &Scratch, db: &std::path::Path) -> BTreeMap<String, String> {
    let out = s.ok(&["--db", p(db), "bench", "table-digests"]).stdout();
    out.lines().filter_map(|l| l.split_once('\t')).map(|(table, rest)| (table.to_owned(), rest.to_owned())).collect()
}

#[test]
fn spark_builds_the_cube_and_the_indicators_from_it_equal_oversights_own() {
    let s = Scratch::new();
    import_fixtures(&s);
    let lake = s.path("lake");
    s.ok(&["lake", "export", "--full", "--to", p(&lake)]);
    let public = s.path("lake-public");
    s.ok(&["lake", "export", "--to", p(&public)]);
    // A: Oversight's own cube and indicators.
    s.ok(&["compute"]);
    let own = digests(&s, &s.db());
    if !spark_available() {
        return;
    }

    // A public lake lacks what the allegations' cube joins on: refused before Spark starts.
    let refused = spark_job(&public, &s.path("cube-public"));
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("public lake"), "{refused:?}");

    let cube = s.path("cube");
    let out = spark_job(&lake, &cube);
    assert!(out.status.success(), "the Spark job failed: {}", String::from_utf8_lossy(&out.stderr));
    let m: Value = serde_json::from_str(&std::fs::read_to_string(cube.join("cube.json")).unwrap()).unwrap();
    assert_eq!(m["format"], "oversight-cube/1");
    assert!(m["built_by"].as_str().unwrap().starts_with("spark "), "{m}");
    assert_eq!(m["batches"].as_array().unwrap().len(), 6);
    let files = m["files"].as_array().unwrap();
    assert!(files.iter().any(|f| f["name"].as_str().unwrap().starts_with("cube/jurisdiction=demo-city/year=2016/")));
    assert!(files.iter().any(|f| f["name"].as_str().unwrap().starts_with("cube/jurisdiction=demo-town/")));

    // B: the same records from the lake, the indicators from Spark's cube (which replaces the cube whole).
    let b = s.path("b.duckdb");
    s.ok(&["--db", p(&b), "lake", "import", p(&lake)]);
    let run = s.ok(&["--db", p(&b), "compute", "--cube", p(&cube)]).stdout();
    assert!(run.contains("(cube)"), "{run}");
    let theirs = digests(&s, &b);
    assert_eq!(own["metric_cube"], theirs["metric_cube"], "Spark's cube differs from Oversight's");
    assert_eq!(
        own["metric_cube"].split('\t').next().unwrap(),
        m["rows"].to_string(),
        "the manifest's rows are the cube's"
    );
    assert_eq!(own["metric_points (values)"], theirs["metric_points (values)"]);
    assert_eq!(own["quality_notes (values)"], theirs["quality_notes (values)"]);
    // The same series, read back through the CLI.
    let series = |db: &std::path::Path| {
        s.ok(&["--db", p(db), "series", "--indicator", "stops.search_rate", "--jurisdiction", "demo-city", "--csv"])
            .stdout()
    };
    assert_eq!(series(&s.db()), series(&b));

    // A manifest naming another definition; a missing file; another database's batches: refused, nothing
    // written.
    let refuse = |dir: &std::path::Path, db: &std::path::Path, says: &str| {
        let r = s.run(&["--db", p(db), "compute", "--cube", p(dir)]);
        assert_ne!(r.code(), Some(0));
        assert!(r.stderr().contains(says), "{}", r.stderr());
    };
    let other = s.path("cube-other-definition");
    copy_dir(&cube, &other);
    let text = std::fs::read_to_string(other.join("cube.json")).unwrap();
    let sha = m["definition_sha256"].as_str().unwrap();
    std::fs::write(other.join("cube.json"), text.replace(sha, &"0".repeat(64))).unwrap();
    refuse(&other, &b, "different cube definition");
    let missing = s.path("cube-missing-file");
    copy_dir(&cube, &missing);
    std::fs::remove_file(missing.join(files[0]["name"].as_str().unwrap())).unwrap();
    refuse(&missing, &b, "in the manifest but not in the cube directory");
    import_fixture_into(&s, p(&b));
    refuse(&cube, &b, "was built from import batches");
}
