//! Sunset and civil dusk agree with Python's astral (reference/solar_astral.py, astral 3.2) within a minute.

use chrono::{NaiveDate, NaiveDateTime};
use oversight_stats::solar::{civil_dusk_utc, sunset_utc};

#[test]
fn sunset_and_civil_dusk_agree_with_astral_within_a_minute() {
    let reference: serde_json::Value = serde_json::from_str(include_str!("reference/solar_astral.json")).unwrap();
    let cases = reference["cases"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for c in cases {
        let date: NaiveDate = c["date"].as_str().unwrap().parse().unwrap();
        let (lat, lng) = (c["lat"].as_f64().unwrap(), c["lng"].as_f64().unwrap());
        let want = |k: &str| NaiveDateTime::parse_from_str(c[k].as_str().unwrap(), "%Y-%m-%dT%H:%M:%S").unwrap();
        for (got, key) in [
            (sunset_utc(date, lat, lng).unwrap(), "sunset_utc"),
            (civil_dusk_utc(date, lat, lng).unwrap(), "civil_dusk_utc"),
        ] {
            let diff = (got - want(key)).num_seconds().abs();
            assert!(diff <= 60, "{} {} {key}: ours {got}, astral {} ({diff} s apart)", c["place"], date, want(key));
        }
    }
}
