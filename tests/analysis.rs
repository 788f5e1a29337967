//! Policy-impact analyses end to end through `oversight analyze … --json`: agreement with statsmodels on the
//! committed fixtures (reference: tests/reference/impact_statsmodels.py and its JSON; the default inference,
//! quasi-ar1, against the script's dense numpy computation of it on statsmodels' fits, and `--inference hac`
//! against statsmodels' own Newey–West and Driscoll–Kraay errors), the planted effects
//! recovered (and absent where none was planted), the guards, hand-made policy events, and the veil-of-darkness
//! test on the shared Hartford stops.

use crate::fixtures::{import_fixture, import_fixtures};
use crate::helpers::{Scratch, p, repo, shared_data};
use serde_json::Value;

/// Loose enough for the two sides' floating-point paths, tight enough that any change of model, sample, lag
/// or correction fails (those move estimates and SEs in the second or third decimal).
const TOL: f64 = 1e-6;

fn reference() -> Value {
    let path = repo().join("tests/reference/impact_statsmodels.json");
    serde_json::from_str(&std::fs::read_to_string(&path).expect("reference JSON")).expect("valid reference JSON")
}

pub(crate) fn json(s: &Scratch, args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.push("--json");
    let out = s.ok(&a).stdout();
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("oversight {args:?} --json is not JSON ({e}):\n{out}"))
}

fn f(v: &Value, path: &str) -> f64 {
    let mut cur = v;
    for key in path.split('.') {
        cur = &cur[key];
    }
    cur.as_f64().unwrap_or_else(|| panic!("{path} is not a number in {v}"))
}

fn close(what: &str, got: f64, want: f64) {
    assert!(
        (got - want).abs() <= TOL * want.abs().max(1.0),
        "{what}: Oversight {got} vs statsmodels {want} (difference {})",
        got - want
    );
}

/// A veil-of-darkness fit of ours (log-odds estimate and SE, interval on the odds-ratio scale) against the
/// reference's (everything on the log-odds scale).
fn same_dark_effect(what: &str, ours: &Value, theirs: &Value) {
    for k in ["estimate", "se", "p_value"] {
        close(&format!("{what} {k}"), f(ours, k), f(theirs, k));
    }
    close(&format!("{what} odds ratio"), f(ours, "odds_ratio"), f(theirs, "estimate").exp());
    close(&format!("{what} ci_low"), f(ours, "ci_low"), f(theirs, "ci_low").exp());
    close(&format!("{what} ci_high"), f(ours, "ci_high"), f(theirs, "ci_high").exp());
}

/// An estimate block of ours (estimate, se, ci_low, ci_high, p_value) against one of the reference.
fn same_effect(what: &str, ours: &Value, theirs: &Value) {
    for k in ["estimate", "se", "ci_low", "ci_high", "p_value"] {
        close(&format!("{what} {k}"), f(ours, k), f(theirs, k));
    }
    // A t reference's degrees of freedom (the quasi-AR(1) default's Satterthwaite df); none for normal ones.
    match theirs.get("df") {
        Some(df) => close(&format!("{what} df"), f(ours, "df"), df.as_f64().unwrap()),
        None => assert!(ours.get("df").is_none(), "{what}: a normal reference has no df"),
    }
}

/// [lo, hi] holds the planted ratio and lies below 1 (the effect is found).
fn covers_not_one(lo: f64, hi: f64, planted: f64) -> bool {
    (lo..=hi).contains(&planted) && hi < 1.0
}

fn fixtures_db() -> Scratch {
    let s = Scratch::new();
    import_fixtures(&s);
    s.ok(&["compute"]);
    s
}

#[test]
fn its_did_and_vod_agree_with_statsmodels_and_recover_the_planted_effects() {
    let s = fixtures_db();
    let r = reference();

    // Interrupted time series: both models, the group with a planted fall and one without.
    for case in r["its"].as_array().unwrap() {
        let group = case["group"].as_str().unwrap();
        let model = case["model"].as_str().unwrap();
        let what = format!("ITS {group} {model}");
        let args = [
            "analyze",
            "its",
            "--indicator",
            "crime_reports.count",
            "--event",
            "1",
            "--group",
            group,
            "--model",
            model,
        ];
        // The estimator before, by name: statsmodels' numbers.
        let hac = json(&s, &[&args[..], &["--inference", "hac"]].concat());
        assert_eq!(hac["inference"], "hac");
        assert_eq!(hac["n"], case["n"], "{what}: n");
        assert_eq!(hac["maxlags"], case["maxlags"], "{what}: HAC lags");
        for term in ["level_change", "slope_change", "pre_trend"] {
            same_effect(&format!("{what} {term} (hac)"), &hac[term], &case[term]);
        }
        // The default: the same estimates, the quasi-likelihood AR(1) intervals.
        let ours = json(&s, &args);
        let q = &case["quasi_ar1"];
        assert_eq!(ours["inference"], "quasi-ar1");
        for term in ["level_change", "slope_change", "pre_trend"] {
            same_effect(&format!("{what} {term}"), &ours[term], &q[term]);
            close(
                &format!("{what} {term} estimate as statsmodels'"),
                f(&ours[term], "estimate"),
                f(&case[term], "estimate"),
            );
        }
        for k in ["dispersion", "ar1"] {
            close(&format!("{what} {k}"), f(&ours, k), f(q, k));
        }
        let df = |term: &str| f(&q[term], "df");
        let words = format!(
            "Student t, Satterthwaite df (level change {:.1}, slope change {:.1}, pre-trend {:.1})",
            df("level_change"),
            df("slope_change"),
            df("pre_trend")
        );
        assert_eq!(ours["reference_distribution"], words, "{what}");
        let level = &ours["level_change"];
        if group == "race:hispanic" {
            // Planted: Hispanic victims' reports × 0.7 from the event on.
            let (lo, hi) = (f(level, "ratio_ci_low"), f(level, "ratio_ci_high"));
            assert!(covers_not_one(lo, hi, 0.7), "{what}: level ratio [{lo}, {hi}] should cover 0.7, not 1");
        } else {
            let (lo, hi) = (f(level, "ci_low"), f(level, "ci_high"));
            assert!(lo <= 0.0 && 0.0 <= hi, "{what}: no effect was planted, yet the level CI [{lo}, {hi}] excludes 0");
        }
        // The observed series and the counterfactual come with the fit; before the event they coincide.
        let series = ours["series"].as_array().unwrap();
        assert_eq!(series.len() as u64, case["n"].as_u64().unwrap(), "{what}: series rows");
        assert!(ours["placebo"]["available"].as_bool().unwrap(), "{what}: placebo");
        assert_eq!(ours["placebo"]["t0_period"], "2018-01-01", "{what}: placebo 12 periods before");
        assert!(ours["unknown_race"]["pre_records"].as_f64().unwrap() > 0.0, "{what}: unknown-race diagnostic");
    }

    // Difference in differences: against everyone else (the default) and against white victims.
    for case in r["did"].as_array().unwrap() {
        let mut args = vec!["analyze", "did", "--indicator", "crime_reports.count", "--event", "1"];
        args.extend(["--group", case["group"].as_str().unwrap()]);
        if let Some(reference) = case["reference"].as_str() {
            args.extend(["--reference", reference]);
        }
        let what = format!("DiD vs {}", case["reference"]);
        let hac = json(&s, &[&args[..], &["--inference", "hac"]].concat());
        let ours = json(&s, &args);
        let c = &ours["counts"];
        let counts: Vec<f64> =
            ["group_pre", "group_post", "reference_pre", "reference_post"].iter().map(|k| f(c, k)).collect();
        let want: Vec<f64> = case["counts"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        assert_eq!(counts, want, "{what}: the four counts");
        // The estimator before, by name: the Poisson ratio of ratios and statsmodels' Driscoll–Kraay errors.
        let ror = &hac["ratio_of_ratios"];
        close(&format!("{what} ratio of ratios"), f(ror, "estimate"), f(case, "ratio_of_ratios"));
        close(&format!("{what} SE(log)"), f(ror, "se_log"), f(case, "se_log"));
        close(&format!("{what} ratio CI low"), f(ror, "ci_low"), f(case, "ci_low"));
        close(&format!("{what} ratio CI high"), f(ror, "ci_high"), f(case, "ci_high"));
        same_effect(&format!("{what} regression (hac)"), &hac["regression"]["interaction"], &case["regression"]);
        // The default: the same estimates; the quasi-likelihood AR(1) interval for both forms.
        let q = &case["quasi_ar1"];
        let ror = &ours["ratio_of_ratios"];
        close(&format!("{what} ratio of ratios"), f(ror, "estimate"), f(case, "ratio_of_ratios"));
        for k in ["se_log", "ci_low", "ci_high"] {
            close(&format!("{what} ratio of ratios {k}"), f(ror, k), f(q, k));
        }
        let reg = &ours["regression"]["interaction"];
        same_effect(&format!("{what} regression"), reg, &q["regression"]);
        assert_eq!(ours["regression"]["inference"], "quasi-ar1");
        let words = format!("Student t, Satterthwaite df (interaction {:.1})", f(&q["regression"], "df"));
        assert_eq!(ours["regression"]["reference_distribution"], words, "{what}");
        for (form, lo, hi) in [
            ("ratio of ratios", f(ror, "ci_low"), f(ror, "ci_high")),
            ("regression", f(reg, "ratio_ci_low"), f(reg, "ratio_ci_high")),
        ] {
            assert!(covers_not_one(lo, hi, 0.7), "{what} {form}: [{lo}, {hi}] should cover 0.7, not 1");
        }
    }

    // Veil of darkness on demo-city (planted: black drivers' odds of being stopped × 2/3 after dark).
    let vod = json(&s, &["analyze", "vod", "--jurisdiction", "demo-city", "--year", "2016-2020"]);
    let want = &r["vod"];
    assert_eq!(vod["dark"]["n"], want["n"], "VoD n");
    assert_eq!(vod["twilight_dropped"], want["twilight_dropped"], "VoD stops between sunset and dusk");
    let fits = want["fits"].as_array().unwrap();
    let robustness = vod["robustness"].as_array().unwrap();
    assert_eq!(robustness.len(), 6, "robustness over spline df 1–6");
    for (ours, theirs) in robustness.iter().zip(fits) {
        assert_eq!(ours["spline_df"], theirs["df"]);
        same_dark_effect(&format!("VoD df {}", theirs["df"]), ours, theirs);
    }
    same_dark_effect("VoD main fit (df 6)", &vod["dark"], &fits[5]);
    let (lo, hi) = (f(&vod["dark"], "ci_low"), f(&vod["dark"], "ci_high"));
    assert!(covers_not_one(lo, hi, 2.0 / 3.0), "VoD demo-city OR [{lo}, {hi}] should cover 2/3, not 1");

    // demo-town has no daylight effect planted.
    let town = json(&s, &["analyze", "vod", "--jurisdiction", "demo-town", "--year", "2016-2020"]);
    let (lo, hi) = (f(&town["dark"], "ci_low"), f(&town["dark"], "ci_high"));
    assert!(lo <= 1.0 && 1.0 <= hi, "VoD demo-town OR [{lo}, {hi}] should cover 1");
}

#[test]
fn the_unknown_race_share_is_not_reported_when_a_month_of_it_is_withheld() {
    let s = fixtures_db();
    let args = ["analyze", "its", "--indicator", "crime_reports.count", "--event", "1", "--group", "race:hispanic"];
    let before = json(&s, &args);
    assert_eq!(f(&before["unknown_race"], "pre_unknown"), 0.0, "the fixture records every victim's race");
    // Three reports without the victim's race in one month: a count under the threshold. The pre-event total
    // less the published months would give it back, so the share before and after is not reported.
    let header = "jurisdiction_id,incident_key,reported_date,reported_time,occurred_date,offense_category,victim_race,\
                  victim_sex,victim_age_group,district";
    let rows: Vec<String> = (1..=3)
        .map(|i| format!("demo-city,U00000{i},2018-03-1{i},10:00,2018-03-1{i},property,unknown,female,25-44,west"))
        .collect();
    let file = s.write("unknown.csv", format!("{header}\n{}\n", rows.join("\n")));
    s.ok(&["import", "--dataset", "crime-reports", "--profile", "canonical", p(&file)]);
    s.ok(&["compute"]);
    let after = json(&s, &args);
    assert!(after["unknown_race"].is_null(), "{}", after["unknown_race"]);
    let notes: Vec<&str> = after["notes"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
    assert!(
        notes.iter().any(|n| n.contains("unknown race") && n.contains("1 of its periods") && n.contains("give back")),
        "{notes:?}"
    );
    // The fit itself is the same: the group's series did not change.
    assert_eq!(after["level_change"], before["level_change"]);
}

#[test]
fn analyses_refuse_short_series_and_drop_the_period_split_by_the_event() {
    let s = fixtures_db();
    // 36 months before the event, 24 after.
    let r = s.run(&["analyze", "its", "--indicator", "crime_reports.count", "--event", "1", "--min-pre", "48"]);
    assert_eq!(r.code(), Some(2), "refusal exit status: {}", r.stderr());
    assert!(r.stderr().contains("at least 48") && r.stderr().contains("36 before"), "{}", r.stderr());
    let r = s.run(&[
        "analyze",
        "did",
        "--indicator",
        "crime_reports.count",
        "--event",
        "1",
        "--group",
        "race:hispanic",
        "--min-post",
        "30",
    ]);
    assert_eq!(r.code(), Some(2), "{}", r.stderr());
    assert!(r.stderr().contains("24 after"), "{}", r.stderr());

    // An event in mid-month: that month is part before and part after, so it is left out and T0 is the next.
    let out = s
        .ok(&[
            "events",
            "add",
            "--jurisdiction",
            "demo-city",
            "--date",
            "2019-06-15",
            "--kind",
            "sanctuary_policy",
            "--title",
            "Mid-month ordinance",
        ])
        .stdout();
    assert!(out.contains("policy event 3 added"), "{out}");
    let its =
        json(&s, &["analyze", "its", "--indicator", "crime_reports.count", "--event", "3", "--group", "race:hispanic"]);
    assert_eq!(its["t0_period"], "2019-07-01");
    assert_eq!(its["dropped_periods"][0]["period_start"], "2019-06-01");
    assert_eq!((its["n_pre"].as_u64(), its["n_post"].as_u64()), (Some(41), Some(18)));
    let series = its["series"].to_string();
    assert!(!series.contains("2019-06-01"), "the split month must not be fitted");

    // A rate indicator: Poisson with the population offset — stops per resident, before and after training.
    let rate = json(&s, &["analyze", "its", "--indicator", "stops.count", "--event", "2", "--group", "race:black"]);
    assert!(rate["n"].as_u64().unwrap() >= 18, "{rate}");

    // A jurisdiction with no such event, an unknown event, an unknown group: clear errors, not panics.
    let r = s.run(&["analyze", "its", "--indicator", "crime_reports.count", "--event", "99"]);
    assert_eq!(r.code(), Some(2));
    assert!(r.stderr().contains("policy event 99 not found"), "{}", r.stderr());
    let r = s.run(&["analyze", "its", "--indicator", "crime_reports.count", "--event", "1", "--group", "race:martian"]);
    assert_ne!(r.code(), Some(0));
    assert!(!r.stderr().contains("panicked"), "{}", r.stderr());
    let r = s.run(&["analyze", "vod", "--jurisdiction", "demo-city", "--year", "1990"]);
    assert_ne!(r.code(), Some(0));
    assert!(!r.stderr().contains("panicked"), "{}", r.stderr());
}

#[test]
fn events_are_added_listed_and_removed_by_hand_but_imported_ones_only_by_reimport() {
    let s = Scratch::new();
    import_fixture(&s, "populations", &["populations.csv"]);
    import_fixture(&s, "policy-events", &["policy_events.csv"]);
    let list = s.ok(&["events", "list"]).stdout();
    assert!(list.contains("287g_jail_model") && list.contains("batch"), "{list}");

    let r =
        s.run(&["events", "add", "--jurisdiction", "nowhere", "--date", "2020-01-01", "--kind", "mou", "--title", "x"]);
    assert_eq!(r.code(), Some(2));
    assert!(r.stderr().contains("nowhere"), "{}", r.stderr());
    let r = s.run(&[
        "events",
        "add",
        "--jurisdiction",
        "demo-city",
        "--date",
        "2020-01-01",
        "--kind",
        "parade",
        "--title",
        "x",
    ]);
    assert_ne!(r.code(), Some(0), "an unknown kind is refused");

    s.ok(&[
        "events",
        "add",
        "--jurisdiction",
        "demo-town",
        "--date",
        "2020-03-01",
        "--kind",
        "detainer_policy",
        "--title",
        "Jail stops honoring detainers without a judicial warrant",
        "--source",
        "Ordinance 2020-14",
    ]);
    let list = json(&s, &["events", "list"]);
    let added =
        list.as_array().unwrap().iter().find(|e| e["jurisdiction_id"] == "demo-town").expect("added event listed");
    assert_eq!(added["kind"], "detainer_policy");
    assert_eq!(added["source"], "Ordinance 2020-14");
    assert!(added["batch_id"].is_null());
    let id = added["id"].as_i64().unwrap().to_string();

    let r = s.run(&["events", "remove", "1"]);
    assert_eq!(r.code(), Some(2));
    assert!(r.stderr().contains("--replace"), "imported events are changed by re-importing: {}", r.stderr());
    s.ok(&["events", "remove", &id]);
    assert!(!s.ok(&["events", "list"]).stdout().contains("demo-town"));
    assert_eq!(s.run(&["events", "remove", &id]).code(), Some(2), "removing twice is an error");
}

#[test]
fn vod_runs_on_the_shared_hartford_stops_and_prints_an_odds_ratio_with_ci_and_n() {
    let Some(data) = shared_data() else { return };
    let s = Scratch::new();
    let file = data.join("opp_hartford_ct/ct_hartford_2020_04_01.csv");
    s.ok(&["import", "--dataset", "stops", "--profile", "opp", "--jurisdiction", "ct-hartford", p(&file)]);

    // No centroid or time zone yet: a clear refusal that says what to set.
    let r = s.run(&["analyze", "vod", "--jurisdiction", "ct-hartford", "--year", "2014"]);
    assert_eq!(r.code(), Some(2), "{}", r.stderr());
    assert!(r.stderr().contains("timezone"), "{}", r.stderr());

    s.ok(&[
        "jurisdictions",
        "set",
        "ct-hartford",
        "--lat",
        "41.7637",
        "--lng",
        "-72.6851",
        "--timezone",
        "America/New_York",
    ]);
    let text = s.ok(&["analyze", "vod", "--jurisdiction", "ct-hartford", "--year", "2014"]).stdout();
    assert!(text.contains("odds ratio") && text.contains(" n "), "{text}");
    let v = json(&s, &["analyze", "vod", "--jurisdiction", "ct-hartford", "--year", "2013-2016"]);
    let dark = &v["dark"];
    let (or, lo, hi, n) = (f(dark, "odds_ratio"), f(dark, "ci_low"), f(dark, "ci_high"), f(dark, "n"));
    assert!(lo < or && or < hi && lo > 0.0, "OR {or} [{lo}, {hi}]");
    assert!(n > 1500.0, "n {n}");
    assert_eq!(v["location"]["timezone"], "America/New_York");
    assert_eq!(v["robustness"].as_array().unwrap().len(), 6);
}
