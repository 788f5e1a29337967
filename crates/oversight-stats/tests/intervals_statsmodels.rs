//! Interval methods agree with statsmodels/scipy (reference/intervals_statsmodels.py) to 1e-5.

use oversight_stats::intervals::*;

fn close(got: f64, want: f64, what: &str) {
    assert!((got - want).abs() <= 1e-5 * want.abs().max(1.0), "{what}: got {got}, statsmodels {want}");
}

#[test]
fn every_interval_matches_statsmodels() {
    let reference: serde_json::Value =
        serde_json::from_str(include_str!("reference/intervals_statsmodels.json")).unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for c in reference["cases"].as_array().unwrap() {
        let kind = c["kind"].as_str().unwrap();
        let a: Vec<f64> =
            c["args"].as_array().map(|v| v.iter().map(|x| x.as_f64().unwrap()).collect()).unwrap_or_default();
        let est = match kind {
            "poisson_rate_ratio" => poisson_rate_ratio(a[0], a[1], a[2], a[3], 0.95),
            "katz_ratio" => katz_ratio(a[0], a[1], a[2], a[3], 0.95),
            "wilson" => wilson(a[0], a[1], 0.95),
            "poisson_rate" => poisson_rate(a[0], a[1], a[2], 0.95),
            "wald_difference" => wald_difference(a[0], a[1], a[2], a[3], 0.95),
            "quantile" => {
                let sample: Vec<f64> =
                    c["args"]["sample"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
                quantile_with_interval(&sample, c["args"]["q"].as_f64().unwrap(), 0.95)
            }
            "mean" => {
                let sample: Vec<f64> =
                    c["args"]["sample"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
                mean_with_interval(&sample, 0.95)
            }
            other => panic!("unknown case {other}"),
        }
        .unwrap_or_else(|| panic!("{kind} {a:?} gave no estimate"));
        let what = format!("{kind} {:?}", c["args"]);
        close(est.value, c["value"].as_f64().unwrap(), &format!("{what} value"));
        close(est.low, c["low"].as_f64().unwrap(), &format!("{what} low"));
        close(est.high, c["high"].as_f64().unwrap(), &format!("{what} high"));
        seen.insert(kind.to_owned());
    }
    assert_eq!(seen.len(), 7);
}

#[test]
fn the_issues_worked_examples_hold_to_the_published_digits() {
    let rr = poisson_rate_ratio(1200.0, 50_000.0, 3000.0, 250_000.0, 0.95).unwrap();
    assert_eq!(((rr.low * 1e4).round() / 1e4, (rr.high * 1e4).round() / 1e4), (1.8705, 2.1385));
    let k = katz_ratio(30.0, 100.0, 20.0, 200.0, 0.95).unwrap();
    assert_eq!(((k.low * 1e5).round() / 1e5, (k.high * 1e5).round() / 1e5), (1.79726, 5.00761));
    let w = wilson(7.0, 40.0, 0.95).unwrap();
    assert_eq!(((w.low * 1e5).round() / 1e5, (w.high * 1e5).round() / 1e5), (0.08745, 0.3195));
}

#[test]
fn zero_counts_make_ratios_undefined_not_nan() {
    assert!(katz_ratio(0.0, 100.0, 20.0, 200.0, 0.95).is_none());
    assert!(poisson_rate_ratio(5.0, 100.0, 0.0, 200.0, 0.95).is_none());
    assert!(wilson(0.0, 0.0, 0.95).is_none());
    assert!(wilson(0.0, 10.0, 0.95).unwrap().low.abs() < 1e-12);
}
