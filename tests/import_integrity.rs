//! No silent errors on real layouts, on files the tests write: record keys are unique, one file can hold
//! parents and children, row filters count what they leave out, compact dates and times are read only when
//! their reading is unique, cross-field rules do what the profile says, an import that is mostly rejects is
//! no success, and broken structure is refused or rejected with line numbers, never absorbed.

use crate::helpers::{Scratch, p};
use oversight_store::BatchStatus;

/// `SELECT …` as text rows joined by `|` (NULL as `∅`).
fn rows(s: &Scratch, sql: &str) -> Vec<String> {
    s.store()
        .inspect(sql, &[])
        .expect("a query")
        .into_iter()
        .map(|r| r.into_iter().map(|v| v.unwrap_or_else(|| "∅".into())).collect::<Vec<_>>().join("|"))
        .collect()
}

fn one(s: &Scratch, sql: &str) -> String {
    rows(s, sql).remove(0)
}

/// The last batch: (read, accepted, rejected) and its details.
fn last_batch(s: &Scratch) -> oversight_store::BatchRecord {
    s.store().list_batches(None, 1).unwrap().remove(0)
}

/// Rejects of the last batch as `line|column|value|reason`.
fn rejects(s: &Scratch) -> Vec<String> {
    let st = s.store();
    let b = st.list_batches(None, 1).unwrap().remove(0);
    st.rejects(b.id, None, 10_000)
        .unwrap()
        .into_iter()
        .map(|r| format!("{}|{}|{}|{}", r.line, r.column.unwrap_or_default(), r.value.unwrap_or_default(), r.reason))
        .collect()
}

// ---------------------------------------------------------------------------------------------------------
// One file, parents and children.

/// A complaints file with one row per allegation: the complaint's columns repeat on every row.
const COMPLAINT_PROFILE: &str = r#"
name = "riverton-complaints"
dataset = "complaints"

[jurisdiction]
id = "riverton"

[group]
by = "CR No"
constant = ["Received", "Complainant Race"]

[fields]
complaint_id = "CR No"
received_date = { column = "Received", format = "%m/%d/%Y" }
complainant_race = { column = "Complainant Race", map = { W = "white", B = "black", H = "hispanic" } }
complainant_count = { column = "CR No", aggregate = "count" }

[children.allegations]
file = "main"

[children.allegations.fields]
complaint_id = "CR No"
category = "Allegation"
finding = { column = "Finding", map = { SUS = "sustained", NS = "not_sustained", EX = "exonerated", UNF = "unfounded" } }
"#;

/// 40 complaints with 1 to 4 allegations each (unsorted: the rows of a complaint are spread out), and the
/// expected (complaints, allegations, sustained by complainant race).
fn allegation_file() -> (String, usize, usize, Vec<(&'static str, usize, usize)>) {
    let races = ["W", "B", "H"];
    let findings = ["SUS", "NS", "EX", "UNF", "NS"];
    let mut rows = Vec::new();
    let mut sustained = std::collections::BTreeMap::<&str, (usize, usize)>::new();
    for c in 0..40usize {
        let race = races[c % 3];
        for a in 0..(c % 4 + 1) {
            let f = findings[(c * 7 + a * 3) % 5];
            let e = sustained.entry(race).or_default();
            e.1 += 1;
            e.0 += usize::from(f == "SUS");
            rows.push(format!("CR-{c:03},{}/{}/2019,{race},Force {a},{f}", c % 12 + 1, c % 28 + 1));
        }
    }
    // Spread a complaint's rows apart: the grouping must not need a sorted file.
    rows.sort_by_key(|r| r.split(',').nth(3).map(str::to_owned));
    let n = rows.len();
    let text = format!("CR No,Received,Complainant Race,Allegation,Finding\n{}\n", rows.join("\n"));
    let by_race = sustained
        .into_iter()
        .map(|(r, (s, t))| {
            (
                match r {
                    "W" => "white",
                    "B" => "black",
                    _ => "hispanic",
                },
                s,
                t,
            )
        })
        .collect();
    (text, 40, n, by_race)
}

#[test]
fn a_one_row_per_allegation_file_imports_as_complaints_and_allegations_with_hand_computed_sustain_rates() {
    let s = Scratch::new();
    let profile = s.write("complaints.toml", COMPLAINT_PROFILE);
    let (text, complaints, allegations, by_race) = allegation_file();
    let file = s.write("allegations_one_row_each.csv", &text);
    let out = s.ok(&["import", "--dataset", "complaints", "--profile", p(&profile), p(&file)]).stdout();
    assert!(out.contains("allegations"), "{out}");
    assert_eq!(one(&s, "SELECT count(*) FROM complaints"), complaints.to_string());
    assert_eq!(one(&s, "SELECT count(*) FROM allegations"), allegations.to_string());
    // Each complaint counts its own rows.
    assert_eq!(one(&s, "SELECT sum(complainant_count) FROM complaints"), allegations.to_string());
    assert_eq!(one(&s, "SELECT complainant_count FROM complaints WHERE complaint_id = 'CR-003'"), "4");
    for (race, sustained, total) in by_race {
        let got = one(
            &s,
            &format!(
                "SELECT count(*) FILTER (WHERE a.finding = 'sustained') || '/' || count(*) FROM allegations a JOIN \
                 complaints c USING (complaint_id) WHERE c.complainant_race = '{race}'"
            ),
        );
        assert_eq!(got, format!("{sustained}/{total}"), "{race}");
    }
    let b = last_batch(&s);
    assert_eq!((b.rows_read, b.rows_rejected), ((complaints + allegations) as i64, 0));
    assert_eq!(b.details.unwrap().lines_read, allegations as i64 + 1);
}

#[test]
fn a_sorted_grouped_file_streams_and_gives_the_same_records_as_the_unsorted_one_read_in_memory() {
    // 3,000 complaints with 1 to 4 allegations each: more rows than one streamed chunk holds.
    let mut rows = Vec::new();
    for c in 0..3000usize {
        for a in 0..(c % 4 + 1) {
            let f = ["SUS", "NS", "EX", "UNF", "NS"][(c * 7 + a * 3) % 5];
            rows.push(format!("CR-{c:05},{}/{}/2019,{},Force {a},{f}", c % 12 + 1, c % 28 + 1, ["W", "B", "H"][c % 3]));
        }
    }
    let header = "CR No,Received,Complainant Race,Allegation,Finding\n";
    let sorted = format!("{header}{}\n", rows.join("\n"));
    let mut shuffled = rows.clone();
    shuffled.sort_by_key(|r| (r.split(',').nth(3).map(str::to_owned), r.clone()));
    let unsorted = format!("{header}{}\n", shuffled.join("\n"));
    let mut results = Vec::new();
    for (name, text, streams) in [("sorted.csv", &sorted, true), ("unsorted.csv", &unsorted, false)] {
        let s = Scratch::new();
        let profile = s.write("complaints.toml", COMPLAINT_PROFILE);
        let file = s.write(name, text);
        let out = s
            .cmd()
            .env("OVERSIGHT_LOG", "oversight_import=debug")
            .args(["import", "--dataset", "complaints", "--profile", p(&profile), p(&file)])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let log = String::from_utf8_lossy(&out.stderr);
        assert_eq!(!log.contains("grouping it in memory"), streams, "{name}: {log}");
        assert_eq!(one(&s, "SELECT count(*) FROM complaints"), "3000");
        assert_eq!(one(&s, "SELECT count(*) FROM allegations"), rows.len().to_string());
        results.push(rows_of_records(&s));
        let b = last_batch(&s);
        assert_eq!(b.details.unwrap().lines_read, rows.len() as i64 + 1);
    }
    assert_eq!(results[0], results[1]);
}

/// Every complaint with its count and its allegations' findings, in key order.
fn rows_of_records(s: &Scratch) -> Vec<String> {
    rows(
        s,
        "SELECT c.complaint_id || ' ' || c.received_date || ' ' || c.complainant_race || ' ' || c.complainant_count
         || ' ' || string_agg(a.category || '=' || a.finding, ',' ORDER BY a.category)
         FROM complaints c JOIN allegations a USING (complaint_id)
         GROUP BY c.complaint_id, c.received_date, c.complainant_race, c.complainant_count ORDER BY 1",
    )
}

#[test]
fn a_group_whose_constant_column_differs_is_rejected_with_the_lines_that_disagree() {
    let s = Scratch::new();
    let profile = s.write("complaints.toml", COMPLAINT_PROFILE);
    let file = s.write(
        "c.csv",
        "CR No,Received,Complainant Race,Allegation,Finding\nA,1/2/2019,W,x,SUS\nB,1/3/2019,B,y,NS\nA,1/9/2019,W,z,NS\n\
         ,1/3/2019,B,w,NS\n",
    );
    let r = s.run(&["import", "--dataset", "complaints", "--profile", p(&profile), p(&file)]);
    assert_eq!(r.code(), Some(4), "most rows rejected: {}", r.stderr());
    assert_eq!(rows(&s, "SELECT complaint_id FROM complaints"), vec!["B"]);
    assert_eq!(rows(&s, "SELECT category FROM allegations"), vec!["y"]);
    let r = rejects(&s);
    assert_eq!(r.len(), 3, "{r:?}");
    assert!(r[0].starts_with("2|Received|1/2/2019|column \"Received\" differs") && r[0].contains("line 4"), "{r:?}");
    assert!(r[1].starts_with("4|Received|1/9/2019|"), "{r:?}");
    assert!(r[2].starts_with("5|CR No||the row has no value in the group column"), "{r:?}");
    // The same rows sorted by key go the streaming way, with the same outcome.
    let t = Scratch::new();
    let profile = t.write("complaints.toml", COMPLAINT_PROFILE);
    let file = t.write(
        "c.csv",
        "CR No,Received,Complainant Race,Allegation,Finding\nA,1/2/2019,W,x,SUS\nA,1/9/2019,W,z,NS\nB,1/3/2019,B,y,NS\n\
         ,1/3/2019,B,w,NS\n",
    );
    assert_eq!(t.run(&["import", "--dataset", "complaints", "--profile", p(&profile), p(&file)]).code(), Some(4));
    assert_eq!(rows(&t, "SELECT complaint_id FROM complaints"), vec!["B"]);
    assert_eq!(rows(&t, "SELECT category FROM allegations"), vec!["y"]);
    let r = rejects(&t);
    assert_eq!(r.len(), 3, "{r:?}");
    assert!(r[0].starts_with("2|Received|1/2/2019|column \"Received\" differs") && r[0].contains("line 3"), "{r:?}");
    assert!(r[2].starts_with("5|CR No||the row has no value in the group column"), "{r:?}");
    let b = last_batch(&t);
    assert_eq!((b.rows_read, b.rows_accepted, b.rows_rejected), (5, 2, 3), "1 complaint + 1 allegation land");
}

/// A jail file with one row per charge: booking, race and dates repeat on every row.
#[test]
fn a_one_row_per_charge_bookings_file_imports_one_detainer_per_booking_with_its_charges() {
    let s = Scratch::new();
    let profile = s.write(
        "jail.toml",
        r#"
name = "county-jail"
dataset = "detainers"
[jurisdiction]
id = "county"
[group]
by = "Booking"
constant = ["Booked", "Race"]
[fields]
detainer_id = "Booking"
received_date = { column = "Booked", format = "%Y-%m-%d" }
subject_race = { column = "Race", map = { W = "white", B = "black", H = "hispanic" } }
most_serious_charge = { column = "Charge", aggregate = "first", when = { column = "Level", in = ["F"] } }
most_serious_charge_severity = { column = "Level", aggregate = "priority", priority = ["felony", "misdemeanor"], map = { F = "felony", M = "misdemeanor" } }
outcome = { column = "Hold", aggregate = "priority", priority = ["honored", "active"], map = { ICE = "honored" }, unmapped = "null", empty = "unknown" }
"#,
    );
    let mut text = String::from("Booking,Booked,Race,Charge,Level,Hold\n");
    let mut charges = 0;
    for b in 0..25 {
        for c in 0..(b % 3 + 1) {
            charges += 1;
            let level = if (b + c) % 2 == 0 { "F" } else { "M" };
            let hold = if b % 5 == 0 && c == 0 { "ICE" } else { "" };
            text.push_str(&format!(
                "J{b:04},2020-03-{:02},{},charge {c},{level},{hold}\n",
                b % 28 + 1,
                ["W", "B", "H"][b % 3]
            ));
        }
    }
    let file = s.write("bookings_charges.csv", &text);
    s.ok(&["import", "--dataset", "detainers", "--profile", p(&profile), p(&file)]);
    assert_eq!(charges, 49);
    assert_eq!(one(&s, "SELECT count(*) FROM detainers"), "25");
    assert_eq!(one(&s, "SELECT count(DISTINCT detainer_id) FROM detainers"), "25");
    assert_eq!(one(&s, "SELECT count(*) FROM detainers WHERE outcome = 'honored'"), "5");
    // J0001 has charges 0 (M) and 1 (F): the felony is its most serious.
    assert_eq!(
        one(
            &s,
            "SELECT most_serious_charge || '|' || most_serious_charge_severity FROM detainers WHERE detainer_id = 'J0001'"
        ),
        "charge 1|felony"
    );
    let b = last_batch(&s);
    assert_eq!((b.rows_read, b.rows_accepted, b.details.unwrap().lines_read), (25, 25, 50));
}

#[test]
fn the_same_file_given_for_two_roles_is_refused() {
    let s = Scratch::new();
    let profile = s.write(
        "two.toml",
        r#"
dataset = "complaints"
[jurisdiction]
id = "x"
[[files]]
role = "complaints"
[[files]]
role = "accused"
match = "*copy*"
key = "cr"
[fields]
complaint_id = "cr"
received_date = "received"
[children.allegations]
file = "accused"
[children.allegations.fields]
complaint_id = "cr"
"#,
    );
    let file = s.write("both.csv", "cr,received\n1,2019-01-01\n2,2019-01-02\n");
    let copy = s.write("both_copy.csv", "cr,received\n1,2019-01-01\n2,2019-01-02\n");
    for second in [&file, &copy] {
        let r = s.run(&["import", "--dataset", "complaints", "--profile", p(&profile), p(&file), p(second)]);
        assert_eq!(r.code(), Some(2), "{}", r.stderr());
        assert!(r.stderr().contains("are the same bytes"), "{}", r.stderr());
    }
    assert_eq!(one(&s, "SELECT count(*) FROM complaints"), "0");
}

// ---------------------------------------------------------------------------------------------------------
// Record keys.

const STOP_PROFILE: &str = r#"
name = "keyed-stops"
dataset = "stops"
[jurisdiction]
id = "riverton"
[fields]
stop_id = "id"
date = "date"
subject_race = { column = "race", map = { W = "white", B = "black" } }
search_conducted = { column = "searched", optional = true }
contraband_found = { column = "contraband", optional = true }
"#;

#[test]
fn a_repeated_key_is_rejected_naming_both_lines_and_a_key_another_batch_holds_is_reported() {
    let s = Scratch::new();
    let profile = s.write("stops.toml", STOP_PROFILE);
    let mut text = String::from("id,date,race\n");
    for i in 0..100 {
        text.push_str(&format!("S{i},2020-01-{:02},W\n", i % 28 + 1));
    }
    text.push_str("S7,2020-02-01,B\n");
    let file = s.write("stops.csv", &text);
    s.ok(&["import", "--dataset", "stops", "--profile", p(&profile), p(&file)]);
    let r = rejects(&s);
    assert_eq!(r.len(), 2, "{r:?}");
    assert!(r[0].starts_with("9|id|S7|record key S7 repeats: also on line(s) 102"), "{r:?}");
    assert!(r[1].starts_with("102|id|S7|record key S7 repeats: also on line(s) 9"), "{r:?}");
    let b = last_batch(&s);
    assert_eq!((b.rows_read, b.rows_accepted, b.rows_rejected), (101, 99, 2));
    assert_eq!(one(&s, "SELECT count(*) FROM stops WHERE stop_id = 'S7'"), "0");

    // Another file holding three of the same stops: rejected, naming the batch that holds them.
    let later = s.write(
        "stops_later.csv",
        "id,date,race\nS1,2020-01-02,W\nS2,2020-01-03,W\nS500,2020-03-01,B\nS3,2020-01-04,B\n",
    );
    let out = s.run(&["import", "--dataset", "stops", "--profile", p(&profile), p(&later)]);
    assert_eq!(out.code(), Some(4), "3 of 4 rejected is over the share: {}", out.stderr());
    let r = rejects(&s);
    assert_eq!(r.len(), 3, "{r:?}");
    assert!(r[0].starts_with(&format!("2|id|S1|record key S1 is already held by batch {} (line 3)", b.id)), "{r:?}");
    assert_eq!(one(&s, "SELECT count(*) FROM stops"), "100");

    // With `existing = "supersede"` the new records replace the old ones instead.
    let sup = s.write(
        "supersede.toml",
        format!("{STOP_PROFILE}\n[keys]\nexisting = \"supersede\"\n").replace("keyed-stops", "keyed-stops-fix"),
    );
    let fix = s.write("stops_fix.csv", "id,date,race\nS1,2020-01-02,B\nS2,2020-01-03,B\n");
    let out = s.ok(&["import", "--dataset", "stops", "--profile", p(&sup), p(&fix)]).stdout();
    assert!(out.contains("superseded"), "{out}");
    assert_eq!(one(&s, "SELECT count(*) FROM stops"), "100");
    assert_eq!(
        rows(&s, "SELECT subject_race FROM stops WHERE stop_id IN ('S1', 'S2') ORDER BY 1"),
        vec!["black", "black"]
    );
    assert_eq!(last_batch(&s).details.unwrap().records_superseded, 2);

    // `repeat = "last"` keeps the last row of a key (a file of updates).
    let t = Scratch::new();
    let last = t.write("last.toml", format!("{STOP_PROFILE}\n[keys]\nrepeat = \"last\"\n"));
    let f = t.write("updates.csv", "id,date,race\nA,2020-01-01,W\nA,2020-01-02,B\nB,2020-01-01,W\n");
    t.run(&["import", "--dataset", "stops", "--profile", p(&last), p(&f)]);
    assert_eq!(rows(&t, "SELECT stop_id || subject_race FROM stops ORDER BY 1"), vec!["Ablack", "Bwhite"]);
    assert!(rejects(&t)[0].starts_with("2|id|A|record key A repeats: line 3 is kept"), "{:?}", rejects(&t));
}

#[test]
fn re_importing_a_file_after_its_profile_changed_says_so() {
    let s = Scratch::new();
    let profile = s.write("stops.toml", STOP_PROFILE);
    let file = s.write("stops.csv", "id,date,race\nA,2020-01-01,W\n");
    s.ok(&["import", "--dataset", "stops", "--profile", p(&profile), p(&file)]);
    std::fs::write(&profile, STOP_PROFILE.replace("B = \"black\"", "B = \"black\", A = \"asian/pacific islander\""))
        .unwrap();
    let r = s.run(&["import", "--dataset", "stops", "--profile", p(&profile), p(&file)]);
    assert_eq!(r.code(), Some(2));
    assert!(
        r.stderr().contains("imported in batch 1 with an earlier version of profile keyed-stops"),
        "{}",
        r.stderr()
    );
    s.ok(&["import", "--dataset", "stops", "--profile", p(&profile), "--replace", p(&file)]);
    assert_eq!(one(&s, "SELECT count(*) FROM stops"), "1");
}

// ---------------------------------------------------------------------------------------------------------
// Filters and rules.

#[test]
fn a_row_filter_drops_the_rows_it_names_and_the_summary_counts_them() {
    let s = Scratch::new();
    let profile = s.write(
        "f.toml",
        format!("{STOP_PROFILE}\n[[filter]]\ncolumn = \"kind\"\nnot_in = [\"VOID\", \"test\"]\n\n[[filter]]\ncolumn = \"year\"\nge = 2019\n"),
    );
    let file = s.write(
        "f.csv",
        "id,date,race,kind,year\n1,2020-01-01,W,stop,2020\n2,2020-01-01,W,void,2020\n3,2020-01-01,B,stop,2018\n\
         4,2020-01-01,B,Test,2020\n5,2020-01-01,B,stop,twenty\n6,2020-01-01,W,stop,2019\n",
    );
    let out = s.run(&["import", "--dataset", "stops", "--profile", p(&profile), p(&file)]).stdout();
    assert!(out.contains("filtered out"), "{out}");
    assert_eq!(rows(&s, "SELECT stop_id FROM stops ORDER BY 1"), vec!["1", "6"]);
    let b = last_batch(&s);
    let d = b.details.clone().unwrap();
    assert_eq!((d.rows_filtered, b.rows_read, b.rows_accepted, b.rows_rejected), (3, 3, 2, 1));
    assert!(rejects(&s)[0].starts_with("6|year|twenty|the profile's filter compares"), "{:?}", rejects(&s));
    // Every line is accounted for: header + filtered + landed + rejected.
    assert_eq!(d.lines_read, 1 + d.rows_filtered + b.rows_accepted + b.rows_rejected);
}

#[test]
fn the_contraband_rule_set_to_null_keeps_the_record_with_contraband_cleared_and_counted() {
    let text = "id,date,race,searched,contraband\n1,2020-01-01,W,Y,Y\n2,2020-01-01,B,N,Y\n3,2020-01-02,B,N,N\n";
    // By default the rule rejects the frisk-without-search row.
    let s = Scratch::new();
    let profile = s.write("p.toml", STOP_PROFILE);
    let file = s.write("c.csv", text);
    s.run(&["import", "--dataset", "stops", "--profile", p(&profile), p(&file)]);
    assert!(rejects(&s)[0].contains("contraband found but no search was conducted (rule contraband_requires_search"));
    assert_eq!(one(&s, "SELECT count(*) FROM stops"), "2");
    for (action, stored) in [("null", "∅|∅"), ("keep", "true|contraband_requires_search")] {
        let q = "SELECT coalesce(contraband_found::VARCHAR, '∅') || '|' || coalesce(flags, '∅') FROM stops WHERE stop_id = '2'";
        let s = Scratch::new();
        let profile =
            s.write("p.toml", format!("{STOP_PROFILE}\n[rules]\ncontraband_requires_search = \"{action}\"\n"));
        let file = s.write("c.csv", text);
        let out = s.ok(&["import", "--dataset", "stops", "--profile", p(&profile), p(&file)]).stdout();
        assert!(out.contains("rule contraband_requires_search: 1 rows kept"), "{out}");
        assert_eq!(one(&s, "SELECT count(*) FROM stops"), "3");
        assert_eq!(one(&s, q), stored, "{action}");
        assert_eq!(rows(&s, "SELECT flags FROM stops WHERE stop_id <> '2'"), vec!["∅", "∅"]);
        assert_eq!(last_batch(&s).details.unwrap().rules.get("contraband_requires_search"), Some(&1));
    }
}

#[test]
fn an_import_over_the_reject_share_exits_4_and_with_strict_lands_nothing() {
    let s = Scratch::new();
    let profile = s.write("p.toml", STOP_PROFILE);
    let mut text = String::from("id,date,race\n");
    for i in 0..100 {
        text.push_str(&format!("{i},2020-01-01,{}\n", if i < 10 { "Q" } else { "W" }));
    }
    let file = s.write("mostly.csv", &text);
    let strict = s.run(&["import", "--dataset", "stops", "--profile", p(&profile), "--strict", p(&file)]);
    assert_eq!(strict.code(), Some(4), "{}", strict.stderr());
    assert!(strict.stderr().contains("10 of 100 rows (10.0%) were rejected, above the limit of 5.0%: nothing landed"));
    assert_eq!(one(&s, "SELECT count(*) FROM stops"), "0");
    let r = s.run(&["import", "--dataset", "stops", "--profile", p(&profile), p(&file)]);
    assert_eq!(r.code(), Some(4), "{}", r.stderr());
    assert_eq!(one(&s, "SELECT count(*) FROM stops"), "90");
    // The share is a setting.
    let t = Scratch::new();
    let cfg = t.write("oversight.toml", "[import]\nmax_reject_share = 0.2\n");
    let file = t.write("mostly.csv", &text);
    let out = t
        .cmd()
        .args(["--config", p(&cfg), "import", "--dataset", "stops", "--profile", p(&profile), p(&file)])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

// ---------------------------------------------------------------------------------------------------------
// Compact dates and times.

#[test]
fn compact_times_are_read_right_or_rejected_as_ambiguous_never_misread() {
    let values = ["5", "45", "100", "238", " 238", "2359"];
    let mut text = String::from("id,date,race,hhmm\n");
    for (i, v) in values.iter().enumerate() {
        text.push_str(&format!("{i},2020-01-01,W,{v}\n"));
    }
    let base = STOP_PROFILE.replace("[fields]", "[fields]\ntime = { column = \"hhmm\", format = \"%H%M\"PAD }");
    let s = Scratch::new();
    let file = s.write("t.csv", &text);
    let profile = s.write("p.toml", base.replace("PAD", ""));
    s.run(&["import", "--dataset", "stops", "--profile", p(&profile), p(&file)]);
    assert_eq!(rows(&s, "SELECT stop_id || ' ' || time FROM stops"), vec!["5 23:59:00"]);
    let r = rejects(&s);
    assert_eq!(r.len(), 5, "{r:?}");
    assert!(r.iter().all(|r| r.contains("|ambiguous time: time format \"%H%M\"")), "{r:?}");
    let t = Scratch::new();
    let file = t.write("t.csv", &text);
    let profile = t.write("p.toml", base.replace("PAD", ", pad = { width = 4, with = \"0\" }"));
    t.ok(&["import", "--dataset", "stops", "--profile", p(&profile), p(&file)]);
    assert_eq!(
        rows(&t, "SELECT time FROM stops ORDER BY stop_id::INT"),
        vec!["00:05:00", "00:45:00", "01:00:00", "02:38:00", "02:38:00", "23:59:00"]
    );
    assert_eq!(rows(&t, "SELECT count(*) FROM import_rejects"), vec!["0"]);
}

#[test]
fn compact_dates_without_the_months_zero_are_read_only_with_declared_padding() {
    let text = "id,d,race\n1,1012014,W\n2,12312014,W\n3,01012014,B\n";
    let profile_text = |pad: &str| {
        STOP_PROFILE.replace("date = \"date\"", &format!("date = {{ column = \"d\", format = \"%m%d%Y\"{pad} }}"))
    };
    let s = Scratch::new();
    let file = s.write("d.csv", text);
    let profile = s.write("p.toml", profile_text(""));
    s.run(&["import", "--dataset", "stops", "--profile", p(&profile), p(&file)]);
    assert_eq!(rows(&s, "SELECT stop_id || ' ' || date FROM stops ORDER BY 1"), vec!["2 2014-12-31", "3 2014-01-01"]);
    let r = rejects(&s);
    assert!(r.len() == 1 && r[0].starts_with("2|d|1012014|ambiguous date"), "{r:?}");
    let t = Scratch::new();
    let file = t.write("d.csv", text);
    let profile = t.write("p.toml", profile_text(", pad = { width = 8 }"));
    t.ok(&["import", "--dataset", "stops", "--profile", p(&profile), p(&file)]);
    assert_eq!(
        rows(&t, "SELECT stop_id || ' ' || date FROM stops ORDER BY 1"),
        vec!["1 2014-01-01", "2 2014-12-31", "3 2014-01-01"]
    );
}

// ---------------------------------------------------------------------------------------------------------
// Broken structure.

/// Imports a file with the keyed-stops profile: (exit code, stderr, batch status).
fn import_file(s: &Scratch, file: &std::path::Path) -> (Option<i32>, String) {
    let profile = s.write("p.toml", STOP_PROFILE);
    let r = s.run(&["import", "--dataset", "stops", "--profile", p(&profile), p(file)]);
    (r.code(), r.stderr())
}

/// Every line of the last batch is a header, a blank line, or a record that landed or was rejected.
fn accounts_for_every_line(s: &Scratch, lines_in_file: i64) {
    let b = last_batch(s);
    let d = b.details.clone().unwrap();
    assert_eq!(d.lines_read, lines_in_file);
    assert_eq!(1 + d.blank_lines + d.rows_filtered + b.rows_accepted + b.rows_rejected, lines_in_file, "{b:?}");
}

#[test]
fn an_unbalanced_quote_refuses_the_file_naming_the_line_where_it_opened() {
    let s = Scratch::new();
    let mut text = String::from("id,date,race\n");
    for i in 0..40 {
        if i == 9 {
            text.push_str(&format!("{i},2020-01-01,\"W\n"));
        } else {
            text.push_str(&format!("{i},2020-01-01,W\n"));
        }
    }
    let file = s.write("q.csv", &text);
    let (code, err) = import_file(&s, &file);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("line 11") && err.contains("a quoted field opened on this line is never closed"), "{err}");
    assert_eq!(one(&s, "SELECT count(*) FROM stops"), "0");
    assert_eq!(last_batch(&s).status, BatchStatus::Refused);
}

#[test]
fn bare_carriage_returns_among_newlines_end_rows_and_every_line_is_accounted_for() {
    let s = Scratch::new();
    let mut text = String::from("id,date,race\n");
    for i in 0..40 {
        text.push_str(&format!("{i},2020-01-01,W{}", ["\n", "\r", "\r\n"][i % 3]));
    }
    let file = s.write("cr.csv", &text);
    let (code, err) = import_file(&s, &file);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(one(&s, "SELECT count(*) FROM stops"), "40");
    assert_eq!(one(&s, "SELECT max(source_row) FROM stops"), "41");
    accounts_for_every_line(&s, 41);
}

#[test]
fn ragged_and_truncated_rows_are_rejected_with_their_line_numbers() {
    let s = Scratch::new();
    let mut text = String::from("id,date,race\n");
    for i in 0..60 {
        match i {
            20 => text.push_str("20,2020-01-01\n"),
            30 => text.push_str("30,2020-01-01,W,extra\n"),
            // A delimiter at the end of a row adds an empty field: no value is lost, the row lands.
            40 => text.push_str("40,2020-01-01,W,\n"),
            _ => text.push_str(&format!("{i},2020-01-01,W\n")),
        }
    }
    text.push_str("60,2020-0");
    let file = s.write("ragged.csv", &text);
    let (code, err) = import_file(&s, &file);
    assert_eq!(code, Some(0), "3 of 61 is under the share: {err}");
    let r = rejects(&s);
    assert_eq!(r.len(), 3, "{r:?}");
    assert!(r[0].starts_with("22|(whole row)||the row has 2 fields where the header has 3"), "{r:?}");
    assert!(r[1].starts_with("32|(whole row)||the row has 4 fields"), "{r:?}");
    assert!(r[2].starts_with("62|(whole row)||the row has 2 fields"), "{r:?}");
    accounts_for_every_line(&s, 62);
}

#[test]
fn a_delimiter_at_the_end_of_the_header_or_of_each_row_adds_no_field_that_matters() {
    for text in
        ["id,date,race,\n1,2020-01-01,W\n2,2020-01-02,B,\n", "id,date,race\n1,2020-01-01,W,\n2,2020-01-02,B,,\n"]
    {
        let s = Scratch::new();
        let file = s.write("trailing.csv", text);
        let (code, err) = import_file(&s, &file);
        assert_eq!(code, Some(0), "{text:?}: {err}");
        assert_eq!(one(&s, "SELECT count(*) FROM stops"), "2", "{text:?}");
    }
}

#[test]
fn a_nul_byte_anywhere_refuses_the_file_naming_its_line() {
    let s = Scratch::new();
    let mut text = String::from("id,date,race\n");
    for i in 0..2000 {
        text.push_str(&format!("{i},2020-01-01,W\n"));
    }
    text.push_str("MAIN\0ST,2020-01-01,W\n");
    let file = s.write("nul.csv", &text);
    let (code, err) = import_file(&s, &file);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("line 2002") && err.contains("NUL byte"), "{err}");
    assert_eq!(one(&s, "SELECT count(*) FROM stops"), "0");
}

#[test]
fn a_repeated_header_a_directory_a_fifo_and_utf16_are_refused_for_what_they_are() {
    let s = Scratch::new();
    let file = s.write("dup.csv", "id,date,race,date\n1,2020-01-01,W,2020-02-01\n");
    let (code, err) = import_file(&s, &file);
    assert_eq!(code, Some(2));
    assert!(err.contains("the header names column \"date\" twice (columns 2 and 4)"), "{err}");

    let dir = s.path("a_directory.csv");
    std::fs::create_dir(&dir).unwrap();
    let (code, err) = import_file(&s, &dir);
    assert_eq!(code, Some(2));
    assert!(err.contains("not a regular file: this is a directory"), "{err}");

    let fifo = s.path("pipe.csv");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let (code, err) = import_file(&s, &fifo);
    assert_eq!(code, Some(2));
    assert!(err.contains("not a regular file: this is a FIFO"), "{err}");

    let mut utf16 = vec![0xFF, 0xFE];
    for u in "id,date,race\n1,2020-01-01,W\n".encode_utf16() {
        utf16.extend_from_slice(&u.to_le_bytes());
    }
    let file = s.write("u16.csv", &utf16);
    let (code, err) = import_file(&s, &file);
    assert_eq!(code, Some(2));
    assert!(err.contains("this file is UTF-16") && err.contains("encoding"), "{err}");
    // With the encoding set, it reads.
    let profile = s.write("p16.toml", STOP_PROFILE.replace("[fields]", "[source]\nencoding = \"utf-16le\"\n[fields]"));
    s.ok(&["import", "--dataset", "stops", "--profile", p(&profile), p(&file)]);
    assert_eq!(one(&s, "SELECT count(*) FROM stops"), "1");
}

#[test]
fn blank_lines_before_and_among_the_data_are_skipped_and_counted_once() {
    let s = Scratch::new();
    let mut text = "\n".repeat(20_000);
    text.push_str("id,date,race\n");
    text.push_str("1,2020-01-01,W\n\n  \n,,\n2,2020-01-02,B\n\r\n");
    let file = s.write("blank.csv", &text);
    let (code, err) = import_file(&s, &file);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(rows(&s, "SELECT stop_id || '@' || source_row FROM stops ORDER BY 1"), vec!["1@20002", "2@20006"]);
    assert!(rejects(&s).is_empty(), "{:?}", rejects(&s));
    let d = last_batch(&s).details.unwrap();
    assert_eq!(d.blank_lines, 20_004);
    accounts_for_every_line(&s, 20_007);
    // A header and nothing else is refused.
    let only = s.write("header_only.csv", "id,date,race\n\n\n");
    let (code, err) = import_file(&s, &only);
    assert_eq!(code, Some(2));
    assert!(err.contains("the file has a header but no data rows"), "{err}");
}

#[test]
fn a_file_truncated_while_it_is_imported_lands_nothing_and_the_intact_file_then_imports_whole() {
    let s = Scratch::new();
    let profile = oversight_import::Profile::from_toml(STOP_PROFILE, "keyed-stops", "test").unwrap();
    let mut text = String::from("id,date,race\n");
    for i in 0..400_000 {
        text.push_str(&format!("S{i},2020-01-{:02},W\n", i % 28 + 1));
    }
    let file = s.write("growing.csv", &text);
    let store = s.store();
    let req =
        oversight_import::ImportRequest::new(profile.clone(), vec![oversight_import::InputFile::new(&file)], "test");
    let truncated = std::sync::atomic::AtomicBool::new(false);
    let cut = |pr: oversight_import::Progress| {
        if pr.bytes_read > 0 && !truncated.swap(true, std::sync::atomic::Ordering::SeqCst) {
            let f = std::fs::OpenOptions::new().write(true).open(&file).unwrap();
            f.set_len(text.len() as u64 / 2).unwrap();
        }
    };
    let e = match oversight_import::import(&store, &req, &cut) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("a file truncated mid-import was imported"),
    };
    assert!(truncated.load(std::sync::atomic::Ordering::SeqCst));
    assert!(e.contains("the file changed while it was being imported"), "{e}");
    assert_eq!(store.count_rows(oversight_core::Table::Stops).unwrap(), 0);
    // The intact file imports whole.
    std::fs::write(&file, &text).unwrap();
    match oversight_import::import(&store, &req, &|_| {}).unwrap() {
        oversight_import::ImportOutcome::Imported(r) => assert_eq!(r.batch.rows_accepted, 400_000),
        oversight_import::ImportOutcome::AlreadyImported(_) => panic!("the intact file was taken for the cut one"),
    }
}

// ---------------------------------------------------------------------------------------------------------
// The profile checker.

#[test]
fn profiles_check_shows_codes_unmapped_values_ambiguities_and_repeats_without_writing_a_database() {
    let s = Scratch::new();
    let profile =
        s.write("p.toml", STOP_PROFILE.replace("[fields]", "[fields]\ntime = { column = \"t\", format = \"%H%M\" }"));
    let file = s.write(
        "c.csv",
        "id,date,race,t\n1,2020-01-01,W,0930\n2,2020-01-01,B,1000\n2,2020-01-02,W,1100\n3,2020-01-03,X,1200\n\
         4,2020-01-03,W,100\n",
    );
    let out = s.ok(&["profiles", "check", p(&profile), p(&file)]).stdout();
    assert!(out.contains("stops.subject_race <- column \"race\""), "{out}");
    assert!(out.contains("\"W\" -> white: 1"), "{out}");
    assert!(out.contains("race: \"X\" on 1 rows"), "{out}");
    assert!(out.contains("ambiguous time"), "{out}");
    assert!(out.contains("record key"), "{out}");
    assert!(!s.db().exists(), "profiles check wrote a database");
}

// ---------------------------------------------------------------------------------------------------------
// Smaller.

#[test]
fn canonical_profiles_list_the_allowed_codes_of_each_coded_field_with_their_meanings() {
    let s = Scratch::new();
    let out = s.ok(&["profiles", "--show", "canonical-detainers"]).stdout();
    assert!(out.contains("#   detainers.outcome (detainer_outcome):"), "{out}");
    assert!(out.contains("#     honored: The person was handed over to ICE."), "{out}");
    assert!(out.contains("#     declined: The agency refused the request."), "{out}");
    assert!(out.contains("#     asian/pacific islander"), "{out}");
    let out = s.ok(&["profiles", "--show", "canonical-complaints"]).stdout();
    assert!(out.contains("#     no_affidavit: Closed because no sworn affidavit was obtained"), "{out}");
}

#[test]
fn series_refuses_an_unknown_jurisdiction_or_group_like_the_api() {
    let s = Scratch::new();
    let profile = s.write("p.toml", STOP_PROFILE);
    let file = s.write("s.csv", "id,date,race\n1,2020-01-01,W\n");
    s.ok(&["import", "--dataset", "stops", "--profile", p(&profile), p(&file)]);
    let r = s.run(&["series", "--indicator", "stops.search_rate", "--jurisdiction", "nowhere", "--grain", "year"]);
    assert_eq!(r.code(), Some(2), "{}", r.stderr());
    assert!(r.stderr().contains("no such jurisdiction"), "{}", r.stderr());
    let r = s.run(&[
        "series",
        "--indicator",
        "stops.search_rate",
        "--jurisdiction",
        "riverton",
        "--grain",
        "year",
        "--group",
        "colour:blue",
    ]);
    assert_eq!(r.code(), Some(2), "{}", r.stderr());
    assert!(r.stderr().contains("is broken down by all"), "{}", r.stderr());
    let r = s.run(&["series", "--indicator", "stops.nope", "--jurisdiction", "riverton"]);
    assert_eq!(r.code(), Some(2), "{}", r.stderr());
}
