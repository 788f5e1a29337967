//! Sunset and civil dusk by NOAA's solar position algorithm (the one Python's `astral` implements): the
//! times the sun's centre crosses a zenith angle, found by two passes of the hour-angle equation.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

/// Zenith of sunset: 90° plus refraction and the sun's radius (0.833°).
pub const SUNSET_ZENITH: f64 = 90.833;
/// Zenith of civil dusk: the sun 6° below the horizon.
pub const CIVIL_DUSK_ZENITH: f64 = 96.0;

fn julian_day(date: NaiveDate) -> f64 {
    // Days since 2000-01-01 plus J2000 (2451545.0 at noon): midnight UTC of `date`.
    let epoch = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default();
    (date - epoch).num_days() as f64 + 2_451_544.5
}

fn century(jd: f64) -> f64 {
    (jd - 2_451_545.0) / 36_525.0
}

fn geom_mean_long_sun(t: f64) -> f64 {
    (280.46646 + t * (36000.76983 + 0.0003032 * t)).rem_euclid(360.0)
}

fn geom_mean_anomaly_sun(t: f64) -> f64 {
    357.52911 + t * (35999.05029 - 0.0001537 * t)
}

fn eccentricity_earth_orbit(t: f64) -> f64 {
    0.016708634 - t * (0.000042037 + 0.0000001267 * t)
}

fn sun_eq_of_center(t: f64) -> f64 {
    let m = geom_mean_anomaly_sun(t).to_radians();
    m.sin() * (1.914602 - t * (0.004817 + 0.000014 * t))
        + (2.0 * m).sin() * (0.019993 - 0.000101 * t)
        + (3.0 * m).sin() * 0.000289
}

fn sun_apparent_long(t: f64) -> f64 {
    let true_long = geom_mean_long_sun(t) + sun_eq_of_center(t);
    let omega = 125.04 - 1934.136 * t;
    true_long - 0.00569 - 0.00478 * omega.to_radians().sin()
}

fn obliquity_correction(t: f64) -> f64 {
    let seconds = 21.448 - t * (46.8150 + t * (0.00059 - t * 0.001813));
    let mean = 23.0 + (26.0 + seconds / 60.0) / 60.0;
    let omega = 125.04 - 1934.136 * t;
    mean + 0.00256 * omega.to_radians().cos()
}

fn sun_declination(t: f64) -> f64 {
    let e = obliquity_correction(t).to_radians();
    let lambda = sun_apparent_long(t).to_radians();
    (e.sin() * lambda.sin()).asin().to_degrees()
}

/// Equation of time in minutes.
fn eq_of_time(t: f64) -> f64 {
    let epsilon = obliquity_correction(t).to_radians();
    let l0 = geom_mean_long_sun(t).to_radians();
    let e = eccentricity_earth_orbit(t);
    let m = geom_mean_anomaly_sun(t).to_radians();
    let y = (epsilon / 2.0).tan().powi(2);
    let v = y * (2.0 * l0).sin() - 2.0 * e * m.sin() + 4.0 * e * y * m.sin() * (2.0 * l0).cos()
        - 0.5 * y * y * (4.0 * l0).sin()
        - 1.25 * e * e * (2.0 * m).sin();
    4.0 * v.to_degrees()
}

/// Hour angle (radians) of the sun at `zenith`, setting side; None where it never reaches it that day.
fn hour_angle_setting(lat: f64, decl: f64, zenith: f64) -> Option<f64> {
    let (lat, decl) = (lat.to_radians(), decl.to_radians());
    let cos_h = (zenith.to_radians().cos() - lat.sin() * decl.sin()) / (lat.cos() * decl.cos());
    if !(-1.0..=1.0).contains(&cos_h) {
        return None;
    }
    Some(-cos_h.acos())
}

/// Minutes after UTC midnight of `date` at which the setting sun reaches `zenith` at (lat, lng).
fn setting_minutes_utc(date: NaiveDate, lat: f64, lng: f64, zenith: f64) -> Option<f64> {
    let jd = julian_day(date);
    let pass = |t: f64| -> Option<f64> {
        let h = hour_angle_setting(lat, sun_declination(t), zenith)?;
        let delta = -lng - h.to_degrees();
        Some(720.0 + 4.0 * delta - eq_of_time(t))
    };
    let first = pass(century(jd))?;
    pass(century(jd + first / 1440.0))
}

/// When the setting sun reaches `zenith` on `date` at (lat, lng), in UTC; None in polar day or night.
pub fn setting_time_utc(date: NaiveDate, lat: f64, lng: f64, zenith: f64) -> Option<NaiveDateTime> {
    let minutes = setting_minutes_utc(date, lat, lng, zenith)?;
    let base = date.and_time(NaiveTime::MIN);
    Some(base + chrono::Duration::microseconds((minutes * 60_000_000.0).round() as i64))
}

/// Sunset (UTC) on `date`.
pub fn sunset_utc(date: NaiveDate, lat: f64, lng: f64) -> Option<NaiveDateTime> {
    setting_time_utc(date, lat, lng, SUNSET_ZENITH)
}

/// Civil dusk (UTC) on `date`: the sun 6° below the horizon.
pub fn civil_dusk_utc(date: NaiveDate, lat: f64, lng: f64) -> Option<NaiveDateTime> {
    setting_time_utc(date, lat, lng, CIVIL_DUSK_ZENITH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hartford_dusk_is_later_than_sunset_and_summer_evenings_are_later_than_winter_ones() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let (lat, lng) = (41.7637, -72.6851);
        let ss = sunset_utc(d("2014-06-21"), lat, lng).unwrap();
        let dusk = civil_dusk_utc(d("2014-06-21"), lat, lng).unwrap();
        assert!(dusk > ss && (dusk - ss).num_minutes() < 45);
        let minutes_after_midnight = |day: &str| {
            (civil_dusk_utc(d(day), lat, lng).unwrap() - d(day).and_hms_opt(0, 0, 0).unwrap()).num_minutes()
        };
        assert!(minutes_after_midnight("2014-12-07") + 120 < minutes_after_midnight("2014-06-21"));
    }

    #[test]
    fn polar_night_has_no_sunset() {
        let d = NaiveDate::from_ymd_opt(2014, 12, 21).unwrap();
        assert!(sunset_utc(d, 80.0, 0.0).is_none());
    }
}
