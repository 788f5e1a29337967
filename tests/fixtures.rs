//! The committed fixtures are the generator's output, and every one imports cleanly with the canonical
//! profile.

use crate::helpers::{Scratch, p, repo};
use oversight_core::Table;

#[test]
fn the_committed_fixtures_are_exactly_what_the_generator_writes_for_their_seed() {
    let s = Scratch::new();
    let out = s.path("fixtures");
    s.ok(&["fixtures", "--out", p(&out)]);
    let committed = repo().join("fixtures");
    let mut names: Vec<String> =
        std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    let mut committed_names: Vec<String> =
        std::fs::read_dir(&committed).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    committed_names.sort();
    assert_eq!(names, committed_names, "regenerate with: cargo run -- fixtures --out fixtures");
    for n in names {
        let a = std::fs::read(out.join(&n)).unwrap();
        let b = std::fs::read(committed.join(&n)).unwrap();
        assert!(
            a == b,
            "fixtures/{n} differs from the generator's output; regenerate with: cargo run -- fixtures --out fixtures"
        );
    }
}

/// Imports every fixture into the scratch database.
/// Imports committed fixture files into one dataset with the canonical profile (one batch).
pub(crate) fn import_fixture(s: &Scratch, dataset: &str, files: &[&str]) {
    let paths: Vec<String> = files.iter().map(|f| p(&repo().join("fixtures").join(f)).to_owned()).collect();
    let mut args = vec!["import", "--dataset", dataset, "--profile", "canonical"];
    args.extend(paths.iter().map(String::as_str));
    s.ok(&args);
}

/// Imports every committed fixture, one batch per dataset.
pub(crate) fn import_fixtures(s: &Scratch) {
    for (dataset, file) in [
        ("populations", "populations.csv"),
        ("policy-events", "policy_events.csv"),
        ("stops", "stops.csv"),
        ("crime-reports", "crime_reports.csv"),
        ("detainers", "detainers.csv"),
    ] {
        import_fixture(s, dataset, &[file]);
    }
    import_fixture(s, "complaints", &["complaints.csv", "allegations.csv"]);
}

#[test]
fn every_fixture_imports_with_the_canonical_profile_and_nothing_is_rejected() {
    let s = Scratch::new();
    import_fixtures(&s);
    let store = s.store();
    for b in store.list_batches(None, 20).unwrap() {
        assert_eq!(
            b.rows_rejected,
            0,
            "batch {} ({}) rejected rows: {:?}",
            b.id,
            b.file_names(),
            store.rejects(b.id, None, 5).unwrap()
        );
        assert!(b.rows_accepted > 0);
    }
    for t in Table::ALL {
        assert!(store.count_rows(*t).unwrap() > 0, "{t} is empty");
    }
    let city = store.jurisdiction("demo-city").unwrap().unwrap();
    assert_eq!(city.name, "Demo City (synthetic)");
    assert_eq!(city.timezone.as_deref(), Some("America/Chicago"));
    assert_eq!((city.lat, city.lng), (Some(41.88), Some(-87.63)));
    // The planted search disparity shows in the raw counts.
    let rate = |race: &str| -> f64 {
        let v = store
            .inspect(
                "SELECT avg(search_conducted::INT) FROM stops WHERE jurisdiction_id = 'demo-city' AND subject_race = ?",
                &[race],
            )
            .unwrap();
        v[0][0].clone().unwrap().parse().unwrap()
    };
    let ratio = rate("black") / rate("white");
    assert!((1.6..2.4).contains(&ratio), "black/white search rate ratio {ratio}");
}
