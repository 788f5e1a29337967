//! Every shipped profile on its real file from `../shared/data`, with exact counts and every reject explained.

use crate::helpers::{Scratch, p, shared_data};
use oversight_core::Table;
use oversight_store::BatchStatus;

fn n(store: &oversight_store::Store, sql: &str) -> i64 {
    store.inspect_one(sql, &[]).unwrap().unwrap().parse().unwrap()
}

#[test]
fn hartford_opp_stops_land_18435_of_18439_rows_and_reject_the_4_without_a_date() {
    let Some(data) = shared_data() else { return };
    let s = Scratch::new();
    let file = data.join("opp_hartford_ct/ct_hartford_2020_04_01.csv");
    let out =
        s.ok(&["import", "--dataset", "stops", "--profile", "opp", "--jurisdiction", "ct-hartford", p(&file)]).stdout();
    assert!(out.contains("18,439"), "{out}");
    let store = s.store();
    let b = store.list_batches(None, 1).unwrap().remove(0);
    assert_eq!((b.rows_read, b.rows_accepted, b.rows_rejected), (18_439, 18_435, 4));
    assert_eq!(b.sha256, "1fbdb7db".to_owned() + &b.sha256[8..], "the batch is identified by the file's own sha256");
    assert!(b.sha256.starts_with("1fbdb7db") && b.sha256.ends_with("2860"));
    let rejects = store.rejects(b.id, None, 100).unwrap();
    let lines: Vec<i64> = rejects.iter().map(|r| r.line).collect();
    assert_eq!(
        lines,
        vec![6061, 10880, 14216, 14559],
        "the 4 rows whose date is NA (raw_row_number 6070, 10942, 14308, 14652)"
    );
    assert!(rejects.iter().all(|r| r.column.as_deref() == Some("date") && r.reason == "required value is missing"));
    assert_eq!(store.count_rows(Table::Stops).unwrap(), 18_435);
    assert_eq!(n(&store, "SELECT count(*) FROM stops WHERE search_conducted"), 5_188);
    assert_eq!(n(&store, "SELECT count(*) FROM stops WHERE contraband_found"), 81);
    assert_eq!(n(&store, "SELECT count(*) FROM stops WHERE subject_race = 'hispanic'"), 5_073);
    assert_eq!(store.inspect_one("SELECT min(date) FROM stops", &[]).unwrap().unwrap(), "2013-10-13");
    assert_eq!(store.inspect_one("SELECT max(date) FROM stops", &[]).unwrap().unwrap(), "2016-09-29");
    // Officer ids are hashed again with this database's key: no stored value is a raw OPP hash.
    assert_eq!(n(&store, "SELECT count(*) FROM stops WHERE officer_id_hash = '9623b482ee'"), 0);
    assert_eq!(store.jurisdiction("ct-hartford").unwrap().unwrap().name, "ct-hartford");
}

#[test]
fn minneapolis_stops_convert_utc_to_local_time_so_2017_ends_on_december_31() {
    let Some(data) = shared_data() else { return };
    let s = Scratch::new();
    let file = data.join("minneapolis_stops_2017/MplsStops.csv");
    s.ok(&["import", "--dataset", "stops", "--profile", "mpls-stops", p(&file)]);
    let store = s.store();
    let b = store.list_batches(None, 1).unwrap().remove(0);
    assert_eq!((b.rows_read, b.rows_accepted, b.rows_rejected), (51_920, 51_920, 0));
    // 2017-01-01T06:00:42Z is local midnight; 2018-01-01T05:52:35Z is 23:52:35 on New Year's Eve.
    assert_eq!(
        store.inspect_one("SELECT min(date::VARCHAR || ' ' || time::VARCHAR) FROM stops", &[]).unwrap().unwrap(),
        "2017-01-01 00:00:42"
    );
    assert_eq!(
        store.inspect_one("SELECT max(date::VARCHAR || ' ' || time::VARCHAR) FROM stops", &[]).unwrap().unwrap(),
        "2017-12-31 23:52:35"
    );
    assert_eq!(n(&store, "SELECT count(*) FROM stops WHERE subject_race IS NULL"), 8_221);
    assert_eq!(n(&store, "SELECT count(*) FROM stops WHERE subject_race = 'unknown'"), 9_219);
    assert_eq!(n(&store, "SELECT count(*) FROM stops WHERE subject_race = 'black'"), 15_220 + 2_188);
    assert_eq!(n(&store, "SELECT count(*) FROM stops WHERE subject_race_detail = 'east african'"), 2_188);
    assert_eq!(
        n(&store, "SELECT count(*) FROM stops WHERE search_conducted"),
        n(&store, "SELECT count(*) FROM stops WHERE search_person OR search_vehicle")
    );
    let j = store.jurisdiction("mn-minneapolis").unwrap().unwrap();
    assert_eq!((j.name.as_str(), j.timezone.as_deref()), ("Minneapolis, MN", Some("America/Chicago")));
}

#[test]
fn nypd_shooting_victims_land_as_crime_reports_with_hispanic_taking_precedence() {
    let Some(data) = shared_data() else { return };
    let s = Scratch::new();
    let file = data.join("nypd_shooting_incidents_2006_2018/NYPD_Shooting_Incident_Data__Historic_.csv");
    s.ok(&["import", "--dataset", "crime-reports", "--profile", "nypd-shootings", p(&file)]);
    let store = s.store();
    let b = store.list_batches(None, 1).unwrap().remove(0);
    assert_eq!((b.rows_read, b.rows_accepted, b.rows_rejected), (20_659, 20_659, 0));
    assert_eq!(n(&store, "SELECT count(*) FROM crime_reports WHERE victim_race = 'hispanic'"), 2_942 + 2_010);
    assert_eq!(n(&store, "SELECT count(DISTINCT incident_key) FROM crime_reports"), 16_255);
    assert_eq!(n(&store, "SELECT count(*) FROM crime_reports WHERE fatal"), 3_944);
    assert_eq!(n(&store, "SELECT count(*) FROM crime_reports WHERE victim_age_group IS NULL"), 54);
    assert_eq!(
        store
            .inspect_one(
                "SELECT raw_victim_race FROM crime_reports WHERE victim_race = 'hispanic' ORDER BY source_row LIMIT 1",
                &[]
            )
            .unwrap()
            .unwrap(),
        "BLACK HISPANIC"
    );
}

#[test]
fn chicago_complaints_join_three_files_and_reject_the_23_closed_before_received_with_their_17_allegations() {
    let Some(data) = shared_data() else { return };
    let s = Scratch::new();
    let dir = data.join("chicago_cpd_complaints_2000_2016");
    let f = |n: &str| dir.join(n);
    let (c, cl, a) = (
        f("complaints-complaints_2000-2016_2016-11.csv"),
        f("complaints-complainants_2000-2016_2016-11.csv"),
        f("complaints-accused_2000-2016_2016-11.csv"),
    );
    // Files may be given in any order: the profile tells them apart by name.
    let out =
        s.ok(&["import", "--dataset", "complaints", "--profile", "cpdp-complaints", p(&a), p(&c), p(&cl)]).stdout();
    assert!(out.contains("allegations"), "{out}");
    let store = s.store();
    let b = store.list_batches(None, 1).unwrap().remove(0);
    assert_eq!((b.rows_read, b.rows_accepted, b.rows_rejected), (109_339 + 125_581, 109_316 + 125_564, 23 + 17));
    assert_eq!(store.count_rows(Table::Complaints).unwrap(), 109_316);
    assert_eq!(store.count_rows(Table::Allegations).unwrap(), 125_564);
    let rejects = store.rejects(b.id, None, 100).unwrap();
    let closed: Vec<_> = rejects.iter().filter(|r| r.column.as_deref() == Some("closed_date")).collect();
    assert_eq!(closed.len(), 23);
    assert!(closed.iter().all(|r| r.reason.starts_with("closed before it was received")));
    let orphans: Vec<_> = rejects.iter().filter(|r| r.file.contains("accused")).collect();
    assert_eq!(orphans.len(), 17);
    assert!(orphans.iter().all(|r| r.reason == "no accepted record of the main file has this key"));
    // NAF is a finding (no affidavit), not a missing value.
    assert_eq!(n(&store, "SELECT count(*) FROM allegations WHERE finding = 'no_affidavit'"), 32_704);
    assert_eq!(
        n(&store, "SELECT count(*) FROM allegations WHERE raw_finding = 'NAF'"),
        n(&store, "SELECT count(*) FROM allegations WHERE finding = 'no_affidavit'")
    );
    // Complainants: first one's race, and how many the complaint lists.
    assert_eq!(n(&store, "SELECT max(complainant_count) FROM complaints"), 5);
    assert_eq!(n(&store, "SELECT count(*) FROM complaints WHERE complainant_count > 0"), 47_042);
    assert_eq!(
        n(&store, "SELECT count(*) FROM complaints WHERE complainant_race IS NOT NULL AND complainant_count = 0"),
        0
    );
    assert_eq!(n(&store, "SELECT count(*) FROM complaints WHERE closed_date IS NULL"), 1_949);
    // Officer ids are keyed hashes, never the raw UID.
    assert_eq!(n(&store, "SELECT count(*) FROM allegations WHERE officer_key IN ('15646', '15646.0')"), 0);
    assert_eq!(n(&store, "SELECT count(DISTINCT length(officer_key)) FROM allegations"), 1);
    assert_eq!(
        store.inspect_one("SELECT district FROM complaints WHERE complaint_id = '106213'", &[]).unwrap().unwrap(),
        "1631"
    );
}

#[test]
fn travis_detainer_bookings_reproduce_every_monthly_total_of_the_statesman_table() {
    let Some(data) = shared_data() else { return };
    let s = Scratch::new();
    let dir = data.join("ice_detainers_travis_county_tx");
    s.ok(&[
        "import",
        "--dataset",
        "detainers",
        "--profile",
        "travis-detainers",
        p(&dir.join("travis_detainer_bookings.csv")),
        p(&dir.join("travis_detainer_charges.csv")),
    ]);
    let store = s.store();
    let b = store.list_batches(None, 1).unwrap().remove(0);
    assert_eq!((b.rows_read, b.rows_accepted, b.rows_rejected), (9_533, 9_533, 0));
    let monthly: std::collections::HashMap<String, i64> = store
        .inspect("SELECT strftime(received_date, '%Y-%m') AS m, count(*) FROM detainers GROUP BY m", &[])
        .unwrap()
        .into_iter()
        .map(|r| (r[0].clone().unwrap(), r[1].clone().unwrap().parse().unwrap()))
        .collect();
    let mut table = csv::Reader::from_path(dir.join("statesman_summary_table.csv")).unwrap();
    let mut checked = 0;
    for rec in table.records() {
        let rec = rec.unwrap();
        let (month, total): (&str, i64) = (&rec[0], rec[1].parse().unwrap());
        assert_eq!(monthly.get(month).copied().unwrap_or(0), total, "month {month}");
        checked += 1;
    }
    assert_eq!(checked, 112);
    // RELEASED TO ICE on any charge is a hand-over.
    assert!(n(&store, "SELECT count(*) FROM detainers WHERE outcome = 'honored'") > 7_000);
    assert!(n(&store, "SELECT count(*) FROM detainers WHERE citizenship_country = 'Mexico'") >= 5_170 + 1_648);
    assert_eq!(n(&store, "SELECT count(*) FROM detainers WHERE most_serious_charge_severity IS NULL"), 0);
    // Days held: booking to the last disposition of its charges (149 bookings have none: still held). Checked
    // with pandas on the two files: 9,384 ended, median 10 days, mean 33.108589 days; 81 of black people,
    // median 10.
    drop(store);
    s.ok(&["compute"]);
    let store = s.store();
    let all_time = |ind: &str, group: &str| {
        let v =
            store.points(ind, "tx-travis-county", "all", Some(group), chrono::NaiveDate::MIN, chrono::NaiveDate::MAX);
        v.unwrap().into_iter().next().unwrap_or_else(|| panic!("no {ind} {group} point"))
    };
    let median = all_time("detainers.days_held_median", "all");
    assert_eq!((median.numerator, median.value), (Some(9_384.0), Some(10.0)));
    let mean = all_time("detainers.days_held_mean", "all").value.unwrap();
    assert!((mean - 33.108589).abs() < 1e-6, "{mean}");
    let black = all_time("detainers.days_held_median", "race:black");
    assert_eq!((black.numerator, black.value), (Some(81.0), Some(10.0)));
    // Race is recorded (W/B/A/U): the shares by race exist, among bookings with a known race.
    assert!(all_time("detainers.race_share", "race:white").value.unwrap() > 0.9);
}

#[test]
fn ice_287g_agreements_become_policy_events_and_malformed_dates_are_rejected_not_guessed() {
    let Some(data) = shared_data() else { return };
    let s = Scratch::new();
    let file = data.join("ice_287g_agreements/participatingAgencies07182025pm.csv");
    s.ok(&["import", "--dataset", "policy-events", "--profile", "ice-287g", p(&file)]);
    let store = s.store();
    let b = store.list_batches(None, 1).unwrap().remove(0);
    assert_eq!((b.rows_read, b.rows_accepted, b.rows_rejected), (832, 829, 3));
    let mut values: Vec<String> = store
        .rejects(b.id, None, 10)
        .unwrap()
        .into_iter()
        .map(|r| format!("{} {}", r.value.unwrap(), r.reason))
        .collect();
    values.sort();
    assert_eq!(values.len(), 3);
    assert!(values[0].starts_with("05/082025 matches none of the date formats"), "{values:?}");
    assert!(values.iter().any(|v| v == "5025-07-07 date is in the future"), "{values:?}");
    assert!(values.iter().any(|v| v.starts_with("7/72025 matches none of the date formats")), "{values:?}");
    // Lines 639, 775 and 785 (data rows 637, 773, 783); "Task Force Model " with a trailing blank still maps.
    let mut lines: Vec<i64> = store.rejects(b.id, None, 10).unwrap().iter().map(|r| r.line).collect();
    lines.sort();
    assert_eq!(lines, vec![639, 775, 785]);
    assert_eq!(n(&store, "SELECT count(*) FROM policy_events WHERE kind = '287g_task_force'"), 414);
    assert_eq!(n(&store, "SELECT count(*) FROM policy_events WHERE kind = '287g_warrant_service_officer'"), 298);
    assert_eq!(n(&store, "SELECT count(*) FROM policy_events WHERE kind = '287g_jail_model'"), 117);
    // 690 distinct agency spellings make 683 jurisdictions: "Sheriff's Office" and "Sheriffs Office" are one.
    assert_eq!(n(&store, "SELECT count(DISTINCT jurisdiction_id) FROM policy_events"), 683);
    let j = store.jurisdiction("alabama-colbert-county-sheriffs-office").unwrap().unwrap();
    assert_eq!((j.name.as_str(), j.kind.as_str()), ("Colbert County Sheriff's Office, ALABAMA", "county"));
    assert_eq!(store.batch(b.id).unwrap().status, BatchStatus::Committed);
}

#[test]
fn acs_county_populations_read_latin_1_keep_fips_as_text_and_unpivot_to_groups() {
    let Some(data) = shared_data() else { return };
    let s = Scratch::new();
    let file = data.join("acs2017_race_by_county_state/acs_2017_5_year_county_level_race_data.csv");
    s.ok(&["import", "--dataset", "populations", "--profile", "acs-b03002", p(&file)]);
    let store = s.store();
    let b = store.list_batches(None, 1).unwrap().remove(0);
    assert_eq!((b.rows_read, b.rows_accepted, b.rows_rejected), (3_142, 3_142, 0));
    assert_eq!(store.count_rows(Table::Populations).unwrap(), 3_142 * 7);
    assert_eq!(store.jurisdiction("county-35013").unwrap().unwrap().name, "Doña Ana County, New Mexico");
    assert_eq!(store.jurisdiction("county-01001").unwrap().unwrap().fips.as_deref(), Some("01001"));
    let pop = |g: &str| -> f64 {
        store
            .inspect_one(
                "SELECT population FROM populations WHERE jurisdiction_id = 'county-09003' AND \"group\" = ?",
                &[g],
            )
            .unwrap()
            .unwrap()
            .parse()
            .unwrap()
    };
    // Hartford County: the groups add up to the total.
    let parts = pop("white") + pop("black") + pop("hispanic") + pop("asian/pacific islander") + pop("other");
    assert_eq!(parts, pop("all"));
    // The total's margin of error is blank (a controlled total).
    assert!(
        store
            .inspect_one(
                "SELECT moe FROM populations WHERE jurisdiction_id = 'county-09003' AND \"group\" = 'all'",
                &[]
            )
            .unwrap()
            .is_none()
    );
}

#[test]
fn a_latin_1_file_read_as_utf_8_is_refused_naming_the_line() {
    let Some(data) = shared_data() else { return };
    let s = Scratch::new();
    let file = data.join("acs2017_race_by_county_state/acs_2017_5_year_county_level_race_data.csv");
    let profile = oversight_import::shipped::profile_text("acs-b03002")
        .unwrap()
        .replace("encoding = \"latin-1\"", "encoding = \"utf-8\"");
    let pf = s.write("acs-utf8.toml", profile);
    let r = s.run(&["import", "--dataset", "populations", "--profile", p(&pf), p(&file)]);
    assert_eq!(r.code(), Some(2), "{}", r.stderr());
    assert!(r.stderr().contains("line") && r.stderr().contains("not valid UTF-8"), "{}", r.stderr());
    assert_eq!(s.store().count_rows(Table::Populations).unwrap(), 0);
}

#[test]
fn minneapolis_neighbourhood_populations_land_as_children_of_the_city() {
    let Some(data) = shared_data() else { return };
    let s = Scratch::new();
    let file = data.join("minneapolis_stops_2017/MplsDemo.csv");
    s.ok(&["import", "--dataset", "populations", "--profile", "mpls-demo", p(&file)]);
    let store = s.store();
    assert_eq!(store.count_rows(Table::Populations).unwrap(), 84 * 3);
    let j = store.jurisdiction("mn-minneapolis-cedar-riverside").unwrap().unwrap();
    assert_eq!((j.kind.as_str(), j.parent_id.as_deref()), ("neighborhood", Some("mn-minneapolis")));
    let black: f64 = store
        .inspect_one("SELECT population FROM populations WHERE jurisdiction_id = 'mn-minneapolis-cedar-riverside' AND \"group\" = 'black'", &[])
        .unwrap()
        .unwrap()
        .parse()
        .unwrap();
    assert!((black - 8247.0 * 0.464).abs() < 1e-6);
}

#[test]
fn profiles_check_lists_no_unmapped_values_for_any_shipped_profile_on_its_real_file() {
    let Some(data) = shared_data() else { return };
    let s = Scratch::new();
    let cpdp = data.join("chicago_cpd_complaints_2000_2016");
    let travis = data.join("ice_detainers_travis_county_tx");
    let ppd = data.join("philadelphia_ppd_complaints_2013_2018");
    let cases: Vec<(&str, Vec<std::path::PathBuf>, Option<&str>)> = vec![
        ("opp", vec![data.join("opp_hartford_ct/ct_hartford_2020_04_01.csv")], Some("ct-hartford")),
        ("mpls-stops", vec![data.join("minneapolis_stops_2017/MplsStops.csv")], None),
        ("mpls-demo", vec![data.join("minneapolis_stops_2017/MplsDemo.csv")], None),
        (
            "nypd-shootings",
            vec![data.join("nypd_shooting_incidents_2006_2018/NYPD_Shooting_Incident_Data__Historic_.csv")],
            None,
        ),
        (
            "cpdp-complaints",
            vec![
                cpdp.join("complaints-complaints_2000-2016_2016-11.csv"),
                cpdp.join("complaints-complainants_2000-2016_2016-11.csv"),
                cpdp.join("complaints-accused_2000-2016_2016-11.csv"),
            ],
            None,
        ),
        (
            "travis-detainers",
            vec![travis.join("travis_detainer_bookings.csv"), travis.join("travis_detainer_charges.csv")],
            None,
        ),
        ("ice-287g", vec![data.join("ice_287g_agreements/participatingAgencies07182025pm.csv")], None),
        (
            "ppd-complaints",
            vec![
                ppd.join("ppd_complaints_7-18.csv"),
                ppd.join("ppd_complaint_complainants_7-18_corrected.csv"),
                ppd.join("ppd_complaint_disciplines_7-18.csv"),
            ],
            None,
        ),
        (
            "acs-b03002",
            vec![data.join("acs2017_race_by_county_state/acs_2017_5_year_county_level_race_data.csv")],
            None,
        ),
    ];
    for (profile, files, jurisdiction) in cases {
        let mut args = vec!["profiles", "check", profile, "--json"];
        if let Some(j) = jurisdiction {
            args.extend(["--jurisdiction", j]);
        }
        args.extend(files.iter().map(|f| p(f)));
        let out = s.ok(&args).stdout();
        let v: serde_json::Value = serde_json::from_str(&out).expect("json");
        assert_eq!(v["unmapped"], serde_json::json!([]), "{profile}: {:#}", v["unmapped"]);
        assert!(v["fields"].as_array().is_some_and(|f| !f.is_empty()), "{profile}");
        assert!(v["batch"]["rows_accepted"].as_i64().unwrap_or(0) > 0, "{profile}");
    }
    assert!(!s.db().exists(), "profiles check wrote a database");
}

#[test]
fn philadelphia_complaints_join_three_files_with_every_complaint_and_allegation_landing() {
    let Some(data) = shared_data() else { return };
    let s = Scratch::new();
    let dir = data.join("philadelphia_ppd_complaints_2013_2018");
    let f = |n: &str| dir.join(n);
    let (c, cl, d) = (
        f("ppd_complaints_7-18.csv"),
        f("ppd_complaint_complainants_7-18_corrected.csv"),
        f("ppd_complaint_disciplines_7-18.csv"),
    );
    s.ok(&["import", "--dataset", "complaints", "--profile", "ppd-complaints", p(&d), p(&c), p(&cl)]);
    let store = s.store();
    let b = store.list_batches(None, 1).unwrap().remove(0);
    // SOURCE.txt: 3,786 complaints (unique cap numbers), 8,978 officer x allegation rows, all of known complaints.
    assert_eq!((b.rows_read, b.rows_accepted, b.rows_rejected), (3_786 + 8_978, 3_786 + 8_978, 0));
    assert_eq!(n(&store, "SELECT count(*) FROM allegations WHERE finding = 'sustained'"), 1_283);
    assert_eq!(n(&store, "SELECT count(*) FROM allegations WHERE finding = 'pending'"), 617);
    assert_eq!(n(&store, "SELECT count(*) FROM allegations WHERE finding = 'other'"), 7_078);
    // 263 complaints list several complainants; 19 list none.
    assert_eq!(n(&store, "SELECT count(*) FROM complaints WHERE complainant_count > 1"), 263);
    assert_eq!(n(&store, "SELECT count(*) FROM complaints WHERE complainant_count = 0"), 19);
    assert_eq!(b.details.unwrap().lines_read, 3_787);
    // What followed the 1,283 sustained allegations (disciplinary_findings): 166 guilty findings, 883 training or
    // counseling, 97 no guilty findings + 7 not applicable, 130 pending.
    let outcome = |o: &str| {
        n(
            &store,
            &format!("SELECT count(*) FROM allegations WHERE finding = 'sustained' AND discipline_outcome = '{o}'"),
        )
    };
    let outcomes: Vec<i64> = ["disciplined", "corrective", "none", "pending"].iter().map(|o| outcome(o)).collect();
    assert_eq!(outcomes, vec![166, 883, 104, 130]);
    // The accused officers' race (po_race) on all 8,978 rows; "Indian" (3) and "UNK" (481) are unknown.
    let race = |r: &str| n(&store, &format!("SELECT count(*) FROM allegations WHERE officer_race = '{r}'"));
    let races: Vec<i64> =
        ["white", "black", "hispanic", "asian/pacific islander", "other", "unknown"].iter().map(|r| race(r)).collect();
    assert_eq!(races, vec![4_930, 2_673, 689, 188, 14, 484]);
    // The indicators from them: discipline after a sustained allegation, all time.
    drop(store);
    s.ok(&["compute"]);
    let store = s.store();
    let all_time = |ind: &str, group: &str| {
        let v =
            store.points(ind, "pa-philadelphia", "all", Some(group), chrono::NaiveDate::MIN, chrono::NaiveDate::MAX);
        v.unwrap().into_iter().next().unwrap_or_else(|| panic!("no {ind} {group} point"))
    };
    let d = all_time("complaints.discipline_rate", "all");
    assert_eq!((d.numerator, d.denominator), (Some(166.0), Some(1_153.0)));
    let a = all_time("complaints.action_rate", "all");
    assert_eq!((a.numerator, a.denominator), (Some(1_049.0), Some(1_153.0)));
    let s_rate = all_time("complaints.sustain_rate", "all");
    assert_eq!(s_rate.numerator, Some(1_283.0));
    assert!(all_time("complaints.discipline_rate", "officer_race:black").denominator.unwrap() > 0.0);
}
