//! Input for the import benchmark: a large OPP-format stop file (the Stanford Open Policing Project's 26
//! columns, as in the Hartford release), generated deterministically. See `bench/import.sh`.

use chrono::{Datelike, NaiveDate};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use std::io::{BufWriter, Write};
use std::path::Path;

/// The OPP header the generated file carries.
pub const OPP_HEADER: &str = "raw_row_number,date,time,location,lat,lng,district,subject_age,subject_race,subject_sex,officer_id_hash,department_name,type,arrest_made,citation_issued,warning_issued,outcome,contraband_found,search_conducted,search_vehicle,search_basis,reason_for_stop,raw_subject_race_code,raw_subject_ethnicity_code,raw_search_authorization_code,raw_intervention_disposition_code";

/// Writes `rows` OPP-format stops dated uniformly over `days` days from `start` to `path`; returns the bytes
/// written.
pub fn write_opp_stops(path: &Path, rows: u64, seed: u64, start: NaiveDate, days: u32) -> std::io::Result<u64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    writeln!(w, "{OPP_HEADER}")?;
    let races = ["white", "black", "hispanic", "asian/pacific islander", "other"];
    let race_codes = ["W", "B", "W", "A", "I"];
    let districts =
        ["DOWNTOWN", "BLUE HILLS", "NORTHEAST", "NORTH MEADOWS", "SOUTH MEADOWS", "NA", "FROG HOLLOW", "CLAY-ARSENAL"];
    let reasons =
        ["Speed Related", "Stop Sign", "Defective Lights", "Registration", "Traffic Control Signal", "Cell Phone"];
    let streets = ["MAIN ST", "PARK ST", "ALBANY AVE", "WASHINGTON ST", "BROAD ST", "FRANKLIN AVE"];
    let officers: Vec<String> =
        (0..400).map(|i| format!("{:010x}", (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 24)).collect();
    for i in 0..rows {
        let r = rng.next_u64();
        let race = (r % 5) as usize;
        let searched = (r >> 8) % 100 < 28;
        let found = searched && (r >> 16) % 100 < 2;
        let arrest = (r >> 24) % 100 < 4;
        let citation = !arrest && (r >> 32) % 100 < 64;
        let warning = !arrest && !citation;
        let outcome = if arrest {
            "arrest"
        } else if citation {
            "citation"
        } else {
            "warning"
        };
        let date = start + chrono::Duration::days(((r >> 40) % u64::from(days.max(1))) as i64);
        let (y, m, d) = (date.year(), date.month(), date.day());
        let minute = (r >> 20) % 1440;
        let district = districts[((r >> 44) % 8) as usize];
        writeln!(
            w,
            "{},{y}-{m:02}-{d:02},{:02}:{:02}:00,{} AT {},{:.7},{:.7},{district},{},{},{},{},Hartford,vehicular,{},{},{},{outcome},{},{},{},{},{},{},{},{},{}",
            i + 1,
            minute / 60,
            minute % 60,
            streets[((r >> 3) % 6) as usize],
            streets[((r >> 6) % 6) as usize],
            41.70 + ((r >> 12) % 1000) as f64 / 10_000.0,
            -72.70 + ((r >> 22) % 1000) as f64 / 10_000.0,
            16 + (r >> 50) % 70,
            races[race],
            if (r >> 7) & 1 == 0 { "male" } else { "female" },
            officers[((r >> 30) % 400) as usize],
            tf(arrest),
            tf(citation),
            tf(warning),
            if searched { tf(found) } else { "NA" },
            tf(searched),
            tf(searched && (r >> 9) % 20 == 0),
            if searched { "probable cause" } else { "NA" },
            reasons[((r >> 52) % 6) as usize],
            race_codes[race],
            if race == 2 { "H" } else { "N" },
            if searched { "O" } else { "N" },
            if arrest {
                "U"
            } else if citation {
                "I"
            } else {
                "W"
            },
        )?;
    }
    w.flush()?;
    Ok(std::fs::metadata(path)?.len())
}

fn tf(b: bool) -> &'static str {
    if b { "TRUE" } else { "FALSE" }
}

/// Writes `rows` crime reports in the canonical layout (jurisdiction `bench`) over `days` days from `start`.
/// The jurisdiction of row `r` among `n` (`bench` when there is one).
fn jurisdiction(n: u32, r: u64) -> String {
    if n <= 1 { "bench".to_owned() } else { format!("j{:03}", r % u64::from(n)) }
}

/// `rows` canonical stops over `jurisdictions` jurisdictions (`j000`, `j001`, …) and `days` days from `start`:
/// the scale benchmark's input (issue 19).
pub fn write_canonical_stops(
    path: &Path,
    rows: u64,
    seed: u64,
    start: NaiveDate,
    days: u32,
    jurisdictions: u32,
) -> std::io::Result<u64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    writeln!(
        w,
        "jurisdiction_id,stop_id,date,time,district,subject_age,subject_race,subject_sex,stop_type,arrest_made,citation_issued,warning_issued,outcome,search_conducted,contraband_found"
    )?;
    let races = ["white", "black", "hispanic", "asian/pacific islander", "other"];
    for i in 0..rows {
        let r = rng.next_u64();
        let searched = (r >> 8) % 100 < 8;
        let found = searched && (r >> 16) % 100 < 25;
        let arrest = (r >> 24) % 100 < 4;
        let citation = !arrest && (r >> 32) % 100 < 64;
        let outcome = if arrest {
            "arrest"
        } else if citation {
            "citation"
        } else {
            "warning"
        };
        let date = start + chrono::Duration::days(((r >> 40) % u64::from(days.max(1))) as i64);
        let minute = (r >> 20) % 1440;
        writeln!(
            w,
            "{},s{seed}-{i},{date},{:02}:{:02}:00,d{},{},{},{},vehicular,{},{},{},{outcome},{},{}",
            jurisdiction(jurisdictions, r >> 3),
            minute / 60,
            minute % 60,
            (r >> 44) % 8,
            16 + (r >> 50) % 60,
            races[(r % 5) as usize],
            if (r >> 7) & 1 == 0 { "male" } else { "female" },
            arrest,
            citation,
            !arrest && !citation,
            searched,
            if searched { found.to_string() } else { String::new() },
        )?;
    }
    w.flush()?;
    Ok(std::fs::metadata(path)?.len())
}

pub fn write_crime_reports(path: &Path, rows: u64, seed: u64, start: NaiveDate, days: u32) -> std::io::Result<u64> {
    write_crime_reports_in(path, rows, seed, start, days, 1)
}

/// [`write_crime_reports`] over `jurisdictions` jurisdictions.
pub fn write_crime_reports_in(
    path: &Path,
    rows: u64,
    seed: u64,
    start: NaiveDate,
    days: u32,
    jurisdictions: u32,
) -> std::io::Result<u64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    writeln!(w, "jurisdiction_id,incident_key,reported_date,victim_race,victim_sex,offense_category")?;
    let races = ["white", "black", "hispanic", "asian/pacific islander", "other", "unknown"];
    let offenses = ["violent", "property", "drug", "other"];
    for i in 0..rows {
        let r = rng.next_u64();
        let date = start + chrono::Duration::days(((r >> 40) % u64::from(days.max(1))) as i64);
        writeln!(
            w,
            "{},R{i},{date},{},{},{}",
            jurisdiction(jurisdictions, r >> 3),
            races[(r % 6) as usize],
            if (r >> 8) & 1 == 0 { "male" } else { "female" },
            offenses[((r >> 12) % 4) as usize]
        )?;
    }
    w.flush()?;
    Ok(std::fs::metadata(path)?.len())
}
