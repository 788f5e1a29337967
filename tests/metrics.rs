//! Indicators: planted effects recovered from the fixtures with intervals covering the planted values, the
//! real Hartford file's known rates and data-quality notes, disclosure control end to end, and incremental
//! runs that rewrite only what an import touched.

use crate::fixtures::import_fixtures;
use crate::helpers::{Scratch, p, shared_data};
use chrono::NaiveDate;
use oversight_store::{PointRow, Store};

fn point(store: &Store, indicator: &str, jurisdiction: &str, grain: &str, period: &str, group: &str) -> PointRow {
    let start: NaiveDate = match grain {
        "all" => "1900-01-01".parse().unwrap(),
        "year" => format!("{period}-01-01").parse().unwrap(),
        _ => period.parse().unwrap(),
    };
    let v = store.points(indicator, jurisdiction, grain, Some(group), start, start).unwrap();
    assert_eq!(v.len(), 1, "{indicator} {jurisdiction} {grain} {period} {group}: {} points", v.len());
    v.into_iter().next().unwrap()
}

/// Every planted effect of fixtures/README.md, as (indicator, jurisdiction, grain, period, group, planted value).
const PLANTED: &[(&str, &str, &str, &str, &str, f64)] = &[
    ("stops.rate_ratio", "demo-city", "all", "", "race:black", 2.0),
    ("stops.search_rate_ratio", "demo-city", "all", "", "race:black", 2.0),
    ("stops.hit_rate_difference", "demo-city", "all", "", "race:black", 0.0),
    ("stops.arrest_rate_ratio", "demo-city", "all", "", "race:black", 1.5),
    // Citations go to stops without an arrest: 0.55 × (1 − 0.06) over 0.55 × (1 − 0.04).
    ("stops.citation_rate_ratio", "demo-city", "all", "", "race:black", 0.94 / 0.96),
    ("stops.referral_rate", "demo-city", "all", "", "race:hispanic", 0.03),
    ("stops.referral_rate", "demo-city", "all", "", "race:white", 0.005),
    ("stops.rate_ratio", "demo-town", "all", "", "race:black", 1.0),
    ("stops.search_rate_ratio", "demo-town", "all", "", "race:black", 1.0),
    ("stops.frisk_rate_ratio", "demo-city", "all", "", "race:black", 2.5),
    ("stops.frisk_rate_ratio", "demo-city", "all", "", "race:hispanic", 1.5),
    ("stops.frisk_rate", "demo-city", "all", "", "race:white", 0.04),
    ("stops.frisk_rate_ratio", "demo-town", "all", "", "race:black", 1.0),
    // Hispanic victims' share of reports: 60 of 240 a month before the event, 42 of 222 after.
    ("crime_reports.race_share", "demo-city", "year", "2017", "race:hispanic", 0.25),
    ("crime_reports.race_share", "demo-city", "year", "2020", "race:hispanic", 42.0 / 222.0),
    ("detainers.outcome_share", "demo-city", "year", "2017", "outcome:honored", 0.5),
    ("detainers.outcome_share", "demo-city", "year", "2020", "outcome:honored", 0.8),
    ("detainers.no_conviction_share", "demo-city", "all", "", "all", 0.55 / 0.95),
    ("detainers.felony_share", "demo-city", "all", "", "all", 0.35),
    ("detainers.judicial_warrant_share", "demo-city", "all", "", "all", 0.02 / 0.62),
    ("detainers.criminality_share", "demo-city", "all", "", "criminality:convicted", 0.40),
    // Recorded race of the person named: hispanic 0.70, black 0.10 of all requests, 0.03 unknown.
    ("detainers.race_share", "demo-city", "all", "", "race:hispanic", 0.70 / 0.97),
    ("detainers.race_share", "demo-city", "all", "", "race:black", 0.10 / 0.97),
    // Days held: uniform on 0..59 (median and mean 29.5), half as long again for people recorded hispanic.
    ("detainers.days_held_median", "demo-city", "all", "", "race:white", 29.5),
    ("detainers.days_held_mean", "demo-city", "all", "", "race:white", 29.5),
    ("detainers.days_held_median", "demo-city", "all", "", "race:hispanic", 44.25),
    ("detainers.days_held_mean", "demo-city", "all", "", "race:hispanic", 44.25),
    ("complaints.sustain_rate", "demo-city", "all", "", "race:white", 0.20),
    ("complaints.sustain_rate", "demo-city", "all", "", "race:black", 0.10),
    // After a sustained allegation: no action 10% (white complainants) or 40% (black), else discipline two times
    // in three (reprimand, suspension) and training once (corrective); the officer's race has no effect, so
    // each officer group gets the mixture: 0.8004 × 2/3.
    ("complaints.discipline_rate", "demo-city", "all", "", "race:white", 0.9 * 2.0 / 3.0),
    ("complaints.discipline_rate", "demo-city", "all", "", "race:black", 0.6 * 2.0 / 3.0),
    ("complaints.action_rate", "demo-city", "all", "", "race:black", 0.6),
    ("complaints.discipline_rate", "demo-city", "all", "", "officer_race:white", 0.8004 * 2.0 / 3.0),
    // By closing year: 2018 is past the start-up of the record and before its end. Black complainants'
    // complaints are closed more slowly (median 168 days against 120).
    ("complaints.days_to_close_median", "demo-city", "year", "2018", "race:white", 120.0),
    ("complaints.days_to_close_median", "demo-city", "year", "2018", "race:black", 168.0),
];

#[test]
fn every_planted_effect_is_recovered_with_an_interval_covering_the_planted_value() {
    let s = Scratch::new();
    import_fixtures(&s);
    s.ok(&["compute"]);
    let store = s.store();
    for &(ind, jur, grain, period, group, want) in PLANTED {
        let pt = point(&store, ind, jur, grain, period, group);
        let (lo, hi) = (pt.ci_low.unwrap(), pt.ci_high.unwrap());
        assert!(
            lo <= want && want <= hi,
            "{ind} {jur} {grain} {period} {group}: {:?} [{lo}, {hi}] does not cover the planted {want}",
            pt.value
        );
        assert!(pt.ci_method.is_some() && pt.numerator.is_some(), "{ind}: {pt:?}");
        assert!(pt.denominator.is_some() || ind.contains("days_"), "{ind}: {pt:?}");
    }
    // A count of officers with 3+ complaints in 12 months, never an identity.
    let officers = store
        .points("complaints.officers_3plus_12m", "demo-city", "year", None, NaiveDate::MIN, NaiveDate::MAX)
        .unwrap();
    assert!(officers.iter().any(|p| p.value.unwrap_or(0.0) > 0.0));
    // Detainer requests rose from 40 to 60 a month.
    let y2017 = point(&store, "detainers.count", "demo-city", "year", "2017", "all").value.unwrap();
    let y2020 = point(&store, "detainers.count", "demo-city", "year", "2020", "all").value.unwrap();
    assert!((y2017 / 12.0 - 40.0).abs() < 4.0 && (y2020 / 12.0 - 60.0).abs() < 5.0, "{y2017} {y2020}");
}

#[test]
fn every_indicator_of_the_catalogue_is_populated_from_the_fixtures() {
    let s = Scratch::new();
    import_fixtures(&s);
    s.ok(&["compute"]);
    let store = s.store();
    let points = store.all_points(None).unwrap();
    for ind in oversight_metrics::CATALOG {
        let n = points.iter().filter(|p| p.indicator == ind.id && p.value.is_some()).count();
        assert!(n > 0, "{} has no point with a value", ind.id);
    }
    // Every grain, and unique keys.
    for g in ["week", "month", "quarter", "year", "all"] {
        assert!(points.iter().any(|p| p.grain == g), "no {g} points");
    }
    let mut keys: Vec<_> =
        points.iter().map(|p| (&p.indicator, &p.jurisdiction_id, &p.grain, p.period_start, &p.group)).collect();
    let n = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), n, "metric_points keys are unique");
    // No NaN anywhere; undefined values say why.
    for p in &points {
        for v in [p.value, p.ci_low, p.ci_high, p.numerator, p.denominator].into_iter().flatten() {
            assert!(v.is_finite(), "{p:?}");
        }
        if p.value.is_none() {
            assert!(p.note.is_some(), "a point without a value has no note: {p:?}");
        }
    }
    // The run is recorded with its parameters, code version and batches.
    let run = store.last_metric_run().unwrap().unwrap();
    assert_eq!(run.batches.len(), 6);
    assert_eq!(run.parameters["config"]["suppression_threshold"], 11);
    assert!(run.code_version.starts_with("oversight-metrics "));
}

#[test]
fn hartford_search_and_hit_rates_match_stanfords_and_their_data_quality_notes_surface() {
    let Some(data) = shared_data() else { return };
    let s = Scratch::new();
    let file = data.join("opp_hartford_ct/ct_hartford_2020_04_01.csv");
    s.ok(&["import", "--dataset", "stops", "--profile", "opp", "--jurisdiction", "ct-hartford", p(&file)]);
    let out = s.ok(&["compute"]).stdout();
    assert!(out.contains("search rate is 28.1%"), "{out}");
    assert!(out.contains("hit rate is 1.56%"), "{out}");
    let store = s.store();
    let search = point(&store, "stops.search_rate", "ct-hartford", "all", "", "all");
    assert_eq!((search.numerator, search.denominator), (Some(5188.0), Some(18435.0)));
    assert!((search.value.unwrap() - 0.2814).abs() < 0.0005, "{search:?}");
    let hit = point(&store, "stops.hit_rate", "ct-hartford", "all", "", "all");
    assert_eq!((hit.numerator, hit.denominator), (Some(81.0), Some(5185.0)));
    assert!((hit.value.unwrap() - 0.0156).abs() < 0.0002, "{hit:?}");
    let notes: Vec<String> = store.quality_notes(Some("ct-hartford")).unwrap().into_iter().map(|n| n.code).collect();
    assert!(notes.contains(&"search_rate_high".to_owned()) && notes.contains(&"hit_rate_low".to_owned()), "{notes:?}");
    // No population for Hartford: per-resident rates are absent and say why.
    let rate = point(&store, "stops.rate_per_1000", "ct-hartford", "all", "", "all");
    assert!(rate.value.is_none() && rate.note.unwrap().contains("no population"));
    drop(store);
    // With Hartford County's residents declared as the benchmark, they appear.
    let acs = data.join("acs2017_race_by_county_state/acs_2017_5_year_county_level_race_data.csv");
    s.ok(&["import", "--dataset", "populations", "--profile", "acs-b03002", p(&acs)]);
    s.ok(&["jurisdictions", "set", "ct-hartford", "--benchmark", "county-09003"]);
    s.ok(&["compute"]);
    let store = s.store();
    let rate = point(&store, "stops.rate_per_1000", "ct-hartford", "all", "", "race:black");
    assert!(rate.value.unwrap() > 0.0, "{rate:?}");
    assert!(rate.note.unwrap().contains("county-09003, the declared benchmark"));
}

/// A small stop file: in 2016-03, `n` stops per group.
fn stops_file(s: &Scratch, counts: &[(&str, usize)]) -> std::path::PathBuf {
    let mut text = String::from("date,time,subject_race,search_conducted\n");
    for (race, n) in counts {
        for i in 0..*n {
            text.push_str(&format!(
                "2016-03-{:02},10:00:00,{race},{}\n",
                i % 28 + 1,
                if i % 2 == 0 { "TRUE" } else { "FALSE" }
            ));
        }
    }
    s.write("small.csv", text)
}

#[test]
fn counts_under_the_threshold_are_withheld_with_a_reason_and_cannot_be_recovered_from_totals() {
    let s = Scratch::new();
    let file = stops_file(&s, &[("black", 10), ("white", 11), ("hispanic", 12), ("asian/pacific islander", 40)]);
    s.ok(&["import", "--dataset", "stops", "--profile", "opp", "--jurisdiction", "small-town", p(&file)]);
    s.ok(&["compute"]);
    let store = s.store();
    let month = |g: &str| point(&store, "stops.count", "small-town", "month", "2016-03-01", g);
    assert!(month("race:black").suppressed, "10 is under the threshold");
    assert_eq!(month("race:black").suppression_reason.as_deref(), Some("small_count"));
    // 11 is at the threshold: shown, unless complementary suppression needs it (it is the smallest other cell).
    assert_eq!(
        (month("race:white").suppressed, month("race:white").suppression_reason.as_deref()),
        (true, Some("complementary"))
    );
    assert!(!month("race:hispanic").suppressed, "12 is over the threshold");
    assert!(!month("all").suppressed);
    // Recovery attempt from the published cells: the total minus the shown groups leaves two hidden ones.
    let shown: f64 = ["race:hispanic", "race:asian/pacific islander"].iter().map(|g| month(g).value.unwrap()).sum();
    assert_eq!(month("all").value.unwrap() - shown, 21.0);
    // The public view withholds the numbers (never zero) and says why, in the API's series.csv columns.
    drop(store);
    let out = s
        .ok(&["series", "--indicator", "stops.count", "--jurisdiction", "small-town", "--grain", "month", "--csv"])
        .stdout();
    let black = out.lines().find(|l| l.contains("race:black")).unwrap();
    assert!(out.starts_with(
        "period,group,numerator,denominator,value,ci_low,ci_high,ci_method,suppressed,suppression_reason,low_reliability,note\n"
    ));
    assert_eq!(black, "2016-03,race:black,,,,,,,true,small_count,false,");
    // Ratios against a suppressed group are suppressed too.
    let store = s.store();
    let ratio = point(&store, "stops.search_rate_ratio", "small-town", "month", "2016-03-01", "race:black");
    assert!(ratio.suppressed);
}

#[test]
fn a_run_with_no_new_data_writes_nothing_and_an_import_rewrites_only_the_periods_it_touched() {
    let s = Scratch::new();
    let mk = |name: &str, year: i32, months: std::ops::RangeInclusive<u32>| {
        let mut text = String::from("date,time,subject_race,search_conducted\n");
        for m in months {
            for d in 1..=28 {
                for race in ["black", "white", "hispanic"] {
                    text.push_str(&format!(
                        "{year}-{m:02}-{d:02},12:00:00,{race},{}\n",
                        if d % 4 == 0 { "TRUE" } else { "FALSE" }
                    ));
                }
            }
        }
        s.write(name, text)
    };
    let first = mk("2016.csv", 2016, 1..=12);
    let second = mk("2017a.csv", 2017, 1..=6);
    let third = mk("2017b.csv", 2017, 7..=7);
    for f in [&first, &second] {
        s.ok(&["import", "--dataset", "stops", "--profile", "opp", "--jurisdiction", "inc-city", p(f)]);
    }
    s.ok(&["compute"]);
    let again = s.ok(&["compute"]).stdout();
    assert!(again.contains("nothing to do: no import since metric run 1"), "{again}");
    assert_eq!(s.store().metric_runs(10).unwrap().len(), 1, "the idle run recorded nothing");
    s.ok(&["import", "--dataset", "stops", "--profile", "opp", "--jurisdiction", "inc-city", p(&third)]);
    let out = s.ok(&["compute"]).stdout();
    assert!(out.contains("(incremental)") && out.contains("from 2017-07-01"), "{out}");
    let store = s.store();
    let runs = store.metric_runs(10).unwrap();
    assert_eq!(runs.len(), 2);
    let run2 = runs[0].id;
    // 2016's points were not rewritten; 2017's were, and all-time ones.
    let y2016 = point(&store, "stops.count", "inc-city", "month", "2016-05-01", "all");
    let y2017 = point(&store, "stops.count", "inc-city", "month", "2017-07-01", "all");
    let all = point(&store, "stops.count", "inc-city", "all", "", "all");
    assert_ne!(y2016.run_id, run2);
    assert_eq!((y2017.run_id, all.run_id), (run2, run2));
    assert_eq!(all.value, Some(((12 + 6 + 1) * 28 * 3) as f64));
    // The incremental store equals a full recompute.
    let before = store.all_points(Some("inc-city")).unwrap();
    drop(store);
    s.ok(&["compute", "--full"]);
    let after = s.store().all_points(Some("inc-city")).unwrap();
    let strip = |v: Vec<PointRow>| {
        v.into_iter()
            .map(|mut p| {
                p.run_id = 0;
                p
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(before), strip(after));
}

#[test]
fn compute_fills_every_dataset_indicator_from_the_shared_real_data() {
    let Some(data) = shared_data() else { return };
    let s = Scratch::new();
    let d = |f: &str| p(&data.join(f)).to_owned();
    s.ok(&["import", "--dataset", "stops", "--profile", "mpls-stops", &d("minneapolis_stops_2017/MplsStops.csv")]);
    s.ok(&["import", "--dataset", "populations", "--profile", "mpls-demo", &d("minneapolis_stops_2017/MplsDemo.csv")]);
    s.ok(&[
        "import",
        "--dataset",
        "crime-reports",
        "--profile",
        "nypd-shootings",
        &d("nypd_shooting_incidents_2006_2018/NYPD_Shooting_Incident_Data__Historic_.csv"),
    ]);
    let cpdp = "chicago_cpd_complaints_2000_2016/complaints-";
    s.ok(&[
        "import",
        "--dataset",
        "complaints",
        "--profile",
        "cpdp-complaints",
        &d(&format!("{cpdp}complaints_2000-2016_2016-11.csv")),
        &d(&format!("{cpdp}complainants_2000-2016_2016-11.csv")),
        &d(&format!("{cpdp}accused_2000-2016_2016-11.csv")),
    ]);
    s.ok(&[
        "import",
        "--dataset",
        "detainers",
        "--profile",
        "travis-detainers",
        &d("ice_detainers_travis_county_tx/travis_detainer_bookings.csv"),
        &d("ice_detainers_travis_county_tx/travis_detainer_charges.csv"),
    ]);
    s.ok(&["compute"]);
    let store = s.store();
    let has = |ind: &str, jur: &str| {
        store.points(ind, jur, "all", None, NaiveDate::MIN, NaiveDate::MAX).unwrap().iter().any(|p| p.value.is_some())
    };
    for ind in [
        "stops.count",
        "stops.search_rate",
        "stops.search_rate_ratio",
        "stops.citation_rate",
        "quality.unknown_race_share",
    ] {
        assert!(has(ind, "mn-minneapolis"), "{ind}");
    }
    for ind in ["crime_reports.count", "crime_reports.race_share"] {
        assert!(has(ind, "ny-new-york-city"), "{ind}");
    }
    for ind in [
        "complaints.count",
        "allegations.count",
        "complaints.sustain_rate",
        "complaints.days_to_close_median",
        "complaints.officers_3plus_12m",
    ] {
        assert!(has(ind, "il-chicago"), "{ind}");
    }
    for ind in ["detainers.count", "detainers.outcome_share", "detainers.felony_share", "detainers.country_share"] {
        assert!(has(ind, "tx-travis-county"), "{ind}");
    }
    // NYPD: hispanic victims' share of all shootings, 2006-2018.
    let share = point(&store, "crime_reports.race_share", "ny-new-york-city", "all", "", "race:hispanic");
    assert_eq!((share.numerator, share.denominator), (Some(4952.0), Some(20659.0)));
    // Travis: the monthly request counts are the Statesman's totals (e.g. 61 in 2016-08).
    let aug = point(&store, "detainers.count", "tx-travis-county", "month", "2016-08-01", "all");
    assert_eq!(aug.value, Some(61.0));
    // Chicago: 8,142 sustained allegations (none among the 17 rejected with their complaints); every allegation
    // with a final finding counts in the denominator.
    let sustain = point(&store, "complaints.sustain_rate", "il-chicago", "all", "", "all");
    assert_eq!((sustain.numerator, sustain.denominator), (Some(8142.0), Some(117_935.0)));
}
