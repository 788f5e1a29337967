//! The import guarantees, on files the tests write: row rejects with line numbers, whole-file refusals,
//! idempotent re-runs, atomic replacement, no partial batch after SIGKILL, and profiles written only in TOML.

use crate::helpers::{Scratch, p};
use oversight_core::Table;
use oversight_store::BatchStatus;
use std::fmt::Write as _;

const OPP_HEADER: &str = "raw_row_number,date,time,subject_age,subject_race,subject_sex,search_conducted,contraband_found,arrest_made,outcome";

/// The rows a query returns, each as its values joined by `|` (NULL as `∅`).
fn rows_as_text(s: &Scratch, sql: &str) -> Vec<String> {
    let rows = s.store().inspect(sql, &[]).expect("a query");
    rows.into_iter()
        .map(|r| r.into_iter().map(|v| v.unwrap_or_else(|| "∅".into())).collect::<Vec<_>>().join("|"))
        .collect()
}

/// An OPP-format file of `n` valid stops.
fn opp_rows(n: usize) -> Vec<String> {
    let races = ["white", "black", "hispanic", "asian/pacific islander", "other"];
    (0..n)
        .map(|i| {
            let searched = i % 7 == 0;
            format!(
                "{},2016-{:02}-{:02},{:02}:{:02}:00,{},{},{},{},{},{},{}",
                i + 1,
                i % 12 + 1,
                i % 28 + 1,
                i % 24,
                i % 60,
                18 + i % 60,
                races[i % 5],
                if i % 2 == 0 { "male" } else { "female" },
                if searched { "TRUE" } else { "FALSE" },
                if searched { if i % 3 == 0 { "TRUE" } else { "FALSE" } } else { "NA" },
                "FALSE",
                "citation"
            )
        })
        .collect()
}

fn csv_of(rows: &[String]) -> String {
    let mut s = String::from(OPP_HEADER);
    s.push('\n');
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    s
}

#[test]
fn a_file_with_3_malformed_rows_among_1000_lands_997_and_lists_the_3_with_line_numbers() {
    let s = Scratch::new();
    let mut rows = opp_rows(1000);
    // Data row k sits on line k + 1 (line 1 is the header).
    let mut fields: Vec<String> = rows[99].split(',').map(str::to_owned).collect();
    fields[1] = "2016-13-04".into();
    rows[99] = fields.join(","); // line 101: no month 13
    rows[500] = rows[500].replace(",white,", ",purple,"); // line 502: not a race code
    rows[998] = rows[998].replacen(",FALSE,NA,", ",FALSE,TRUE,", 1); // line 1000: contraband without a search
    let file = s.write("stops.csv", csv_of(&rows));
    let r = s.ok(&[
        "import",
        "--dataset",
        "stops",
        "--profile",
        "opp",
        "--jurisdiction",
        "test-city",
        "--rejects",
        p(&s.path("rejects.csv")),
        p(&file),
    ]);
    assert!(r.stdout().contains("997"), "{}", r.stdout());
    let store = s.store();
    assert_eq!(store.count_rows(Table::Stops).unwrap(), 997);
    let b = store.list_batches(None, 1).unwrap().remove(0);
    assert_eq!((b.rows_read, b.rows_accepted, b.rows_rejected), (1000, 997, 3));
    let rejects = store.rejects(b.id, None, 10).unwrap();
    let got: Vec<(i64, String, String)> =
        rejects.iter().map(|r| (r.line, r.column.clone().unwrap(), r.value.clone().unwrap())).collect();
    assert_eq!(
        got,
        vec![
            (101, "date".to_owned(), "2016-13-04".to_owned()),
            (502, "subject_race".to_owned(), "purple".to_owned()),
            (1000, "contraband_found".to_owned(), "true".to_owned()),
        ]
    );
    assert!(rejects[1].reason.contains("not a known code"));
    assert!(rejects[2].reason.contains("no search"));
    let written = std::fs::read_to_string(s.path("rejects.csv")).unwrap();
    assert_eq!(written.lines().count(), 4, "{written}");
    assert!(written.lines().nth(1).unwrap().contains(",101,date,2016-13-04,"), "{written}");
    // The same rejects, as `oversight rejects N --csv` prints them.
    drop(store);
    let out = s.ok(&["rejects", &b.id.to_string(), "--csv"]).stdout();
    assert_eq!(out, written);
}

#[test]
fn a_file_missing_a_required_column_lands_nothing_and_names_the_column() {
    let s = Scratch::new();
    let text = csv_of(&opp_rows(50)).replace("raw_row_number,date,", "raw_row_number,stop_date,");
    let file = s.write("stops.csv", text);
    let r = s.run(&["import", "--dataset", "stops", "--profile", "opp", "--jurisdiction", "test-city", p(&file)]);
    assert_eq!(r.code(), Some(2), "{}", r.stderr());
    assert!(r.stderr().contains("required column \"date\" is missing"), "{}", r.stderr());
    let store = s.store();
    assert_eq!(store.count_rows(Table::Stops).unwrap(), 0);
    // The refusal is recorded, with no rows.
    let b = store.list_batches(None, 1).unwrap().remove(0);
    assert_eq!((b.status, b.rows_accepted), (BatchStatus::Refused, 0));
    assert!(b.message.unwrap().contains("\"date\""));
}

#[test]
fn empty_binary_and_undecodable_files_are_refused_before_any_row_lands() {
    let s = Scratch::new();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty.csv", Vec::new(), "the file is empty"),
        ("blank.csv", b"\n\n  \n".to_vec(), "the file is empty"),
        ("header_only.csv", format!("{OPP_HEADER}\n\n").into_bytes(), "a header but no data rows"),
        ("binary.csv", b"date,time\n2016-01-01,\x00\x01\x02\n".to_vec(), "binary data"),
        ("book.csv", b"PK\x03\x04rest of a zip".to_vec(), "zip archive"),
    ];
    for (name, content, expected) in cases {
        let file = s.write(name, content);
        let r = s.run(&["import", "--dataset", "stops", "--profile", "opp", "--jurisdiction", "test-city", p(&file)]);
        assert_eq!(r.code(), Some(2), "{name}: {}", r.stderr());
        assert!(r.stderr().contains(expected), "{name}: {}", r.stderr());
    }
    // A stray Latin-1 byte in a UTF-8 file: refused, naming its line.
    let mut bytes = csv_of(&opp_rows(10)).into_bytes();
    let pos = bytes.iter().enumerate().filter(|(_, b)| **b == b'\n').nth(6).unwrap().0 + 3;
    bytes.insert(pos, 0xE9);
    let file = s.write("bad-utf8.csv", bytes);
    let r = s.run(&["import", "--dataset", "stops", "--profile", "opp", "--jurisdiction", "test-city", p(&file)]);
    assert_eq!(r.code(), Some(2));
    assert!(r.stderr().contains("line 8") && r.stderr().contains("not valid UTF-8"), "{}", r.stderr());
    assert_eq!(s.store().count_rows(Table::Stops).unwrap(), 0);
}

#[test]
fn re_importing_a_file_changes_nothing_and_replace_swaps_the_batch_atomically() {
    let s = Scratch::new();
    let file = s.write("stops.csv", csv_of(&opp_rows(200)));
    let args = ["import", "--dataset", "stops", "--profile", "opp", "--jurisdiction", "test-city", p(&file)];
    s.ok(&args);
    let first = s.store().list_batches(None, 1).unwrap().remove(0).id;
    let again = s.ok(&args).stdout();
    assert!(
        again.contains(&format!("already imported as batch {first}")) && again.contains("nothing changed"),
        "{again}"
    );
    {
        let store = s.store();
        assert_eq!(store.count_rows(Table::Stops).unwrap(), 200);
        assert_eq!(store.list_batches(None, 10).unwrap().len(), 1);
    }
    let mut with_replace = args.to_vec();
    with_replace.insert(1, "--replace");
    let out = s.ok(&with_replace).stdout();
    assert!(out.contains(&format!("replaced batch {first}")), "{out}");
    let store = s.store();
    assert_eq!(store.count_rows(Table::Stops).unwrap(), 200);
    let batches = store.list_batches(None, 10).unwrap();
    assert_eq!(batches.len(), 2);
    assert_eq!(batches[0].status, BatchStatus::Committed);
    assert_eq!(batches[1].status, BatchStatus::Superseded);
    assert_eq!(batches[1].superseded_by, Some(batches[0].id));
    let n: i64 = store
        .inspect_one("SELECT count(*) FROM stops WHERE batch_id = ?", &[&batches[0].id.to_string()])
        .unwrap()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(n, 200);
    drop(store);
    // The same content under another name is the same input.
    let copy = s.write("copy-of-stops.csv", std::fs::read(&file).unwrap());
    let out =
        s.ok(&["import", "--dataset", "stops", "--profile", "opp", "--jurisdiction", "test-city", p(&copy)]).stdout();
    assert!(out.contains("already imported"), "{out}");
}

#[test]
fn a_child_process_killed_with_sigkill_mid_import_leaves_no_partial_batch() {
    let s = Scratch::new();
    // Large enough that the import runs for a while.
    let mut text = String::from(OPP_HEADER);
    text.push('\n');
    let rows = opp_rows(1000);
    for k in 0..1500 {
        for r in &rows {
            // Every row keeps its own record key.
            let _ = writeln!(text, "{k}-{r}");
        }
    }
    let file = s.write("big.csv", text);
    s.ok(&["jurisdictions", "list"]); // creates and migrates the database
    let db_before = std::fs::metadata(s.db()).unwrap().len();
    let mut child = s
        .cmd()
        .args(["import", "--dataset", "stops", "--profile", "opp", "--jurisdiction", "test-city", p(&file)])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the import is writing: the database or its WAL grows.
    let wal = s.path("oversight.duckdb.wal");
    let started = std::time::Instant::now();
    loop {
        let db_now = std::fs::metadata(s.db()).map(|m| m.len()).unwrap_or(0);
        let wal_now = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
        if db_now > db_before + (1 << 20) || wal_now > 0 {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the import finished before it could be killed: make the file larger"
        );
        assert!(started.elapsed().as_secs() < 120, "the import never started writing");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert!(!status.success(), "the child was killed, not finished");
    let store = s.store();
    assert_eq!(store.count_rows(Table::Stops).unwrap(), 0, "no row of the killed batch survives");
    assert!(store.list_batches(None, 10).unwrap().iter().all(|b| b.status != BatchStatus::Committed));
    let rejects: i64 = store.inspect_one("SELECT count(*) FROM import_rejects", &[]).unwrap().unwrap().parse().unwrap();
    assert_eq!(rejects, 0);
    drop(store);
    // And the file imports cleanly afterwards.
    let out =
        s.ok(&["import", "--dataset", "stops", "--profile", "opp", "--jurisdiction", "test-city", p(&file)]).stdout();
    assert!(out.contains("1,500,000"), "{out}");
}

/// A layout no shipped profile knows, and a profile for it written only in TOML.
const AGENCY_CSV: &str = "\
Incident No;Stop Date;Stop Time;Driver Race;Driver Ethnicity;Sex;Age;Searched?;Contraband?;Result;Officer Badge;Beat\r
A-1;7/4/2019;9:05 PM;W;H;M;34;Y;N;CIT;1234;North\r
A-2;12/31/2019;12:15 AM;B;N;F;51;N;;WARN;1234;South\r
A-3;1/15/2020;3:30 PM;A;N;F;;N;;ARR;77;\"North, east\"\r
A-4;2/29/2020;11:00 AM;W;U;X;29;Y;Y;ARR;77;South\r
";

const AGENCY_PROFILE: &str = r#"
name = "riverton-pd"
title = "Riverton PD stop export"
dataset = "stops"

[source]
delimiter = ";"

[jurisdiction]
id = "riverton"
name = "Riverton"
kind = "city"
timezone = "America/Denver"

[fields]
stop_id = "Incident No"
date = { column = "Stop Date", format = "%m/%d/%Y" }
time = { column = "Stop Time", format = "%I:%M %p" }
subject_race = { column = "Driver Race", map = { W = "white", B = "black", A = "asian/pacific islander", U = "unknown" }, hispanic = { column = "Driver Ethnicity", values = ["H"] } }
subject_sex = { column = "Sex", map = { M = "male", F = "female" }, unmapped = "unknown" }
subject_age = "Age"
search_conducted = { column = "Searched?", true = ["Y"], false = ["N"] }
contraband_found = { column = "Contraband?", true = ["Y"], false = ["N"] }
outcome = { column = "Result", map = { CIT = "citation", WARN = "warning", ARR = "arrest" } }
arrest_made = { column = "Result", true = ["ARR"], false = ["CIT", "WARN"] }
officer_id_hash = { column = "Officer Badge", hash = true }
district = "Beat"
"#;

#[test]
fn a_profile_written_only_in_toml_imports_a_layout_the_code_has_never_seen() {
    let s = Scratch::new();
    let file = s.write("riverton_stops_2019.csv", AGENCY_CSV);
    let profile = s.write("riverton.toml", AGENCY_PROFILE);
    s.ok(&["import", "--dataset", "stops", "--profile", p(&profile), p(&file)]);
    let store = s.store();
    let rows = store
        .inspect(
            "SELECT stop_id, date, time, subject_race, raw_subject_race, subject_sex, subject_age, search_conducted, \
             contraband_found, outcome, arrest_made, district, length(officer_id_hash) FROM stops ORDER BY source_row",
            &[],
        )
        .unwrap();
    let row = |i: usize| rows[i].iter().map(|v| v.clone().unwrap_or_else(|| "∅".into())).collect::<Vec<_>>().join("|");
    assert_eq!(row(0), "A-1|2019-07-04|21:05:00|hispanic|W (ethnicity h)|male|34|true|false|citation|false|North|16");
    assert_eq!(row(1), "A-2|2019-12-31|00:15:00|black|B|female|51|false|∅|warning|false|South|16");
    assert_eq!(row(2), "A-3|2020-01-15|15:30:00|asian/pacific islander|A|female|∅|false|∅|arrest|true|North, east|16");
    assert_eq!(row(3), "A-4|2020-02-29|11:00:00|white|W|unknown|29|true|true|arrest|true|South|16");
    let j = store.jurisdiction("riverton").unwrap().unwrap();
    assert_eq!((j.name.as_str(), j.timezone.as_deref()), ("Riverton", Some("America/Denver")));
    // The same badge hashes to the same key; the raw badge is not stored.
    assert_eq!(store.inspect_one("SELECT count(DISTINCT officer_id_hash) FROM stops", &[]).unwrap().unwrap(), "2");
    assert_eq!(
        store.inspect_one("SELECT count(*) FROM stops WHERE officer_id_hash IN ('1234', '77')", &[]).unwrap().unwrap(),
        "0"
    );
}

#[test]
fn a_broken_profile_is_refused_with_the_key_at_fault() {
    let s = Scratch::new();
    let file = s.write("riverton.csv", AGENCY_CSV);
    let bad = AGENCY_PROFILE.replace("CIT = \"citation\"", "CIT = \"ticket\"");
    let profile = s.write("bad.toml", bad);
    let r = s.run(&["import", "--dataset", "stops", "--profile", p(&profile), p(&file)]);
    assert_eq!(r.code(), Some(2));
    assert!(
        r.stderr().contains("fields.outcome") && r.stderr().contains("\"ticket\", which is not a stop_outcome code"),
        "{}",
        r.stderr()
    );
}

#[test]
fn parquet_files_import_like_csv_and_the_folder_mode_imports_only_new_files() {
    let s = Scratch::new();
    // Folder mode: two files, then a third; re-runs import only what is new.
    let dir = s.path("drop");
    std::fs::create_dir(&dir).unwrap();
    // Each file holds its own stops (record keys are unique across batches of a jurisdiction).
    let keyed =
        |prefix: &str, n: usize| csv_of(&opp_rows(n).iter().map(|r| format!("{prefix}{r}")).collect::<Vec<_>>());
    std::fs::write(dir.join("a.csv"), keyed("a", 10)).unwrap();
    std::fs::write(dir.join("b.csv"), keyed("b", 20)).unwrap();
    let args = ["import", "--dataset", "stops", "--profile", "opp", "--jurisdiction", "test-city", "--dir", p(&dir)];
    assert!(s.ok(&args).stdout().contains("2 imported, 0 already imported"));
    std::fs::write(dir.join("c.csv"), keyed("c", 30)).unwrap();
    assert!(s.ok(&args).stdout().contains("1 imported, 2 already imported"));
    std::fs::write(dir.join("d.csv"), "not,a,stops\nfile,at,all\n").unwrap();
    let r = s.run(&args);
    assert_eq!(r.code(), Some(2), "a refused file makes the exit code 2");
    assert!(r.stdout().contains("0 imported, 3 already imported"), "{}", r.stdout());
    assert_eq!(s.store().count_rows(Table::Stops).unwrap(), 60);
    // Parquet: export the stops and read them back with the canonical profile into a fresh database.
    let parquet = s.path("stops.parquet");
    s.store().export_parquet(Table::Stops, &parquet).unwrap();
    let t = Scratch::new();
    t.ok(&["import", "--dataset", "stops", "--profile", "canonical", p(&parquet)]);
    let store = t.store();
    assert_eq!(store.count_rows(Table::Stops).unwrap(), 60);
    let day: String =
        store.inspect_one("SELECT min(date::VARCHAR || ' ' || time::VARCHAR) FROM stops", &[]).unwrap().unwrap();
    assert_eq!(day, "2016-01-01 00:00:00");
}

#[test]
fn a_utf8_bom_crlf_line_ends_and_quoted_fields_with_newlines_read_correctly_and_keep_line_numbers() {
    let s = Scratch::new();
    let text = "\u{feff}date,time,subject_race,reason_for_stop,subject_age\r\n\
                2016-01-02,10:00:00,white,\"speeding, 15 over\",30\r\n\
                2016-01-03,11:00:00,black,\"equipment\r\nbroken tail light\",41\r\n\
                2016-01-04,12:00:00,green,moving,22\r\n";
    let file = s.write("bom.csv", text);
    // One row of three is rejected: over the default reject share, so the import lands and exits 4.
    let r = s.run(&["import", "--dataset", "stops", "--profile", "opp", "--jurisdiction", "test-city", p(&file)]);
    assert_eq!(r.code(), Some(4), "{}", r.stderr());
    let store = s.store();
    let rows = store.inspect("SELECT source_row, reason_for_stop FROM stops ORDER BY source_row", &[]).unwrap();
    assert_eq!(rows[0], vec![Some("2".to_owned()), Some("speeding, 15 over".to_owned())]);
    assert_eq!(rows[1], vec![Some("3".to_owned()), Some("equipment\r\nbroken tail light".to_owned())]);
    // The third record starts on line 5: the quoted newline counts as a line.
    let b = store.list_batches(None, 1).unwrap().remove(0);
    let r = store.rejects(b.id, None, 10).unwrap();
    assert_eq!((r[0].line, r[0].value.as_deref()), (5, Some("green")));
}

/// The import benchmark's contenders (bench/import.sh) run and load every row of a small generated file,
/// so the benchmark cannot rot unnoticed; the importer's rows equal DuckDB's own load of the same file.
#[test]
fn the_import_benchmark_contenders_load_every_row_of_a_generated_file() {
    let s = Scratch::new();
    let csv = s.path("bench.csv");
    s.ok(&["bench", "gen-stops", "--rows", "3000", "--out", p(&csv)]);
    let rows = |out: &str| -> u64 {
        let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        v["rows"].as_u64().unwrap()
    };
    for peer in ["duckdb-copy", "duckdb-copy-stops", "duckdb-insert"] {
        let sub = Scratch::new();
        assert_eq!(rows(&sub.ok(&["bench", peer, p(&csv)]).stdout()), 3000, "{peer}");
    }
    s.ok(&["import", "--dataset", "stops", "--profile", "opp", "--jurisdiction", "bench", p(&csv)]);
    let store = s.store();
    assert_eq!(store.count_rows(Table::Stops).unwrap(), 3000);
    drop(store);
    assert_eq!(rows(&s.ok(&["bench", "duckdb-reinsert"]).stdout()), 3000);
    assert_eq!(s.store().count_rows(Table::Stops).unwrap(), 3000);
}

/// Row buffers are reused from row to row: a finer race category, or any value of a rejected row, must not
/// carry over to the next row.
#[test]
fn no_value_carries_over_from_one_row_to_the_next() {
    let s = Scratch::new();
    let profile = s.write(
        "detail.toml",
        r#"
name = "detail"
dataset = "stops"
[jurisdiction]
id = "detail-town"
[fields]
stop_id = { column = "id" }
date = { column = "date", format = "%Y-%m-%d" }
subject_race = { column = "race", map = { EA = "east african", B = "black", W = "white" } }
subject_age = { column = "age", optional = true }
"#,
    );
    let file = s.write(
        "detail.csv",
        "id,date,race,age\n1,2020-01-01,EA,30\n2,2020-01-02,B,31\n3,2020-01-03,,32\n4,2020-01-04,EA,x\n5,2020-01-05,W,\n6,2020-01-06,EA,33\n",
    );
    // One row of six is rejected: over the default reject share, so the import lands and exits 4.
    assert_eq!(s.run(&["import", "--dataset", "stops", "--profile", p(&profile), p(&file)]).code(), Some(4));
    let rows = rows_as_text(
        &s,
        "SELECT stop_id, subject_race, subject_race_detail, raw_subject_race, subject_age FROM stops ORDER BY source_row",
    );
    // Row 4 (age x) is rejected.
    assert_eq!(
        rows,
        ["1|black|east african|EA|30", "2|black|∅|B|31", "3|∅|∅|∅|32", "5|white|∅|W|∅", "6|black|east african|EA|33"]
    );
}

/// `coalesce` takes the first of its columns that has a value; of the columns it names, the file may hold
/// several, one (read as a plain column) or none (always NULL).
#[test]
fn coalesce_reads_the_first_value_among_the_columns_the_file_has() {
    let s = Scratch::new();
    let profile = s.write(
        "coalesce.toml",
        r#"
name = "coalesce"
dataset = "stops"
[jurisdiction]
id = "coalesce-town"
[fields]
stop_id = { column = "id" }
date = { column = "date", format = "%Y-%m-%d" }
district = { coalesce = ["precinct", "zone", "beat"], optional = true }
location = { coalesce = ["street", "address"], optional = true }
reason_for_stop = { coalesce = ["reason", "why"], optional = true }
subject_age = { coalesce = ["age", "age_guess"], optional = true }
"#,
    );
    let file = s.write(
        "coalesce.csv",
        "id,date,precinct,beat,street,age,age_guess\n\
         1,2020-01-01,P1,B1,Main St,30,31\n\
         2,2020-01-02,,B2,,,44\n\
         3,2020-01-03,NA, ,Elm St,x,50\n\
         4,2020-01-04,,,,,\n",
    );
    // One row of four is rejected: over the default reject share, so the import lands and exits 4.
    assert_eq!(s.run(&["import", "--dataset", "stops", "--profile", p(&profile), p(&file)]).code(), Some(4));
    let rows = rows_as_text(
        &s,
        "SELECT stop_id, district, location, reason_for_stop, subject_age FROM stops ORDER BY source_row",
    );
    // Row 3 (age x) is rejected: the first value found is the one converted.
    assert_eq!(rows, ["1|P1|Main St|∅|30", "2|B2|∅|∅|44", "4|∅|∅|∅|∅"]);
}
