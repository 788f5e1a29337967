//! Complaint indicators pinned to exact values on a file written here with known answers: the sustain rate
//! by allegation category (numerator, denominator, value and Wilson interval), and the officers named in 3 or
//! more complaints in 12 months, with officers planted at 2, 3 and 4 complaints and one whose 3 complaints
//! span 13 months.

use crate::helpers::{Scratch, p};
use chrono::NaiveDate;
use oversight_store::Store;

/// The stored (unmasked) value of one point.
fn value(store: &Store, indicator: &str, grain: &str, start: &str, group: &str) -> oversight_store::PointRow {
    let d: NaiveDate = start.parse().unwrap();
    let v = store.points(indicator, "testville", grain, Some(group), d, d).unwrap();
    assert_eq!(v.len(), 1, "{indicator} {grain} {start} {group}: {v:?}");
    v.into_iter().next().unwrap()
}

/// Wilson's score interval at 95%, written out here (not the code under test).
fn wilson(x: f64, n: f64) -> (f64, f64) {
    let z = 1.959963984540054_f64;
    let p = x / n;
    let centre = (p + z * z / (2.0 * n)) / (1.0 + z * z / n);
    let half = z / (1.0 + z * z / n) * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
    (centre - half, centre + half)
}

#[test]
fn sustain_rates_by_category_and_officers_with_three_complaints_in_twelve_months_are_exact() {
    let s = Scratch::new();
    let mut complaints = String::from(
        "jurisdiction_id,complaint_id,received_date,incident_date,closed_date,complainant_race,complainant_sex,complainant_age,complainant_count,district\n",
    );
    let mut allegations = String::from("complaint_id,officer_key,category,finding,recommended_finding,discipline\n");
    let mut add = |id: &str, date: &str, rows: &[(&str, &str, &str)]| {
        complaints.push_str(&format!("testville,{id},{date},{date},,black,male,40,1,central\n"));
        for (officer, category, finding) in rows {
            allegations.push_str(&format!("{id},{officer},{category},{finding},{finding},\n"));
        }
    };
    // Sustain rates (2018, each complaint its own officer so none reaches three complaints):
    // use of force: 13 sustained, 27 not sustained, 5 pending (left out) -> 13 / 40;
    // courtesy: 12 sustained, 12 exonerated -> 12 / 24.
    let mut n = 0;
    let mut one = |category: &str, finding: &str, k: usize| {
        for _ in 0..k {
            n += 1;
            let date = NaiveDate::from_ymd_opt(2018, 1, 1).unwrap() + chrono::Days::new(n as u64 % 300);
            add(&format!("S{n:04}"), &date.to_string(), &[(&format!("sole-{n}"), category, finding)]);
        }
    };
    one("use of force", "sustained", 13);
    one("use of force", "not_sustained", 27);
    one("use of force", "pending", 5);
    one("courtesy", "sustained", 12);
    one("courtesy", "exonerated", 12);
    // Officers: A in 2 complaints, B in 3 and C in 4 within 2020 (C twice in one complaint, which counts
    // once), D in 3 spanning 13 months (2019-11-15 to 2020-12-20).
    let planted: &[(&str, &[&str])] = &[
        ("officer-a", &["2020-02-01", "2020-05-01"]),
        ("officer-b", &["2020-01-15", "2020-03-01", "2020-09-01"]),
        ("officer-c", &["2020-02-01", "2020-04-01", "2020-06-01", "2020-08-01"]),
        ("officer-d", &["2019-11-15", "2020-06-01", "2020-12-20"]),
    ];
    for (officer, dates) in planted {
        for (i, d) in dates.iter().enumerate() {
            let id = format!("{officer}-{i}");
            if *officer == "officer-c" && i == 0 {
                add(&id, d, &[(officer, "courtesy", "pending"), (officer, "search", "pending")]);
            } else {
                add(&id, d, &[(officer, "courtesy", "pending")]);
            }
        }
    }
    let c = s.write("complaints.csv", complaints);
    let a = s.write("allegations.csv", allegations);
    s.ok(&["import", "--dataset", "complaints", "--profile", "canonical", p(&c), p(&a)]);
    s.ok(&["compute"]);
    let store = Store::open(s.db()).unwrap();

    for (category, x, n) in [("use of force", 13.0, 40.0), ("courtesy", 12.0, 24.0)] {
        let pt = value(&store, "complaints.sustain_rate", "year", "2018-01-01", &format!("category:{category}"));
        assert_eq!((pt.numerator, pt.denominator), (Some(x), Some(n)), "{category}: {pt:?}");
        assert!((pt.value.unwrap() - x / n).abs() < 1e-12, "{category}: {pt:?}");
        let (lo, hi) = wilson(x, n);
        assert!(
            (pt.ci_low.unwrap() - lo).abs() < 1e-9 && (pt.ci_high.unwrap() - hi).abs() < 1e-9,
            "{pt:?} vs [{lo}, {hi}]"
        );
        assert_eq!(pt.ci_method.as_deref(), Some("wilson"));
    }

    // Officers with 3+ complaints in the 12 months ending with each period.
    for (grain, start, want) in [
        ("year", "2019-01-01", 0.0),
        ("year", "2020-01-01", 2.0),  // B and C; D has two in 2020, A two
        ("month", "2020-03-01", 0.0), // B two, C, D and A one each by the end of March
        ("month", "2020-04-01", 0.0), // B two, C two
        ("month", "2020-06-01", 1.0), // C: February, April, June
        ("month", "2020-09-01", 2.0), // B: January, March, September; C four; D two (2019-11-15, 2020-06-01)
        ("month", "2020-12-01", 2.0), // D: June and December 2020 only (its first is 13 months back)
        ("all", "1900-01-01", 2.0),   // in any 12 months: B and C, never A or D
    ] {
        let pt = value(&store, "complaints.officers_3plus_12m", grain, start, "all");
        assert_eq!(pt.value, Some(want), "{grain} {start}: {pt:?}");
    }
}
