//! Store tests on a real DuckDB file.

use crate::*;
use duckdb::arrow::array::{ArrayRef, Date32Array, Int64Array, StringArray};
use duckdb::arrow::datatypes::{DataType, Field, Schema};
use duckdb::arrow::record_batch::RecordBatch;
use oversight_core::Table;
use std::sync::Arc;

fn fresh() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("t.duckdb")).unwrap();
    (dir, store)
}

#[test]
fn migrated_tables_match_the_canonical_schema_column_for_column() {
    let (_d, store) = fresh();
    for t in Table::ALL {
        let mut st = store
            .conn
            .prepare("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position")
            .unwrap();
        let cols: Vec<(String, String)> =
            st.query_map([t.name()], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(|r| r.unwrap()).collect();
        let cols: Vec<_> = cols.into_iter().filter(|c| !(t == &Table::PolicyEvents && c.0 == "id")).collect();
        let want: Vec<(String, String)> = t.stored_columns().into_iter().map(|(n, ty)| (n, ty.to_owned())).collect();
        assert_eq!(cols, want, "table {t}");
    }
}

#[test]
fn every_named_query_prepares_against_a_fresh_database() {
    let (_d, store) = fresh();
    for (file, sql) in queries::ALL {
        if let Err(e) = store.conn.prepare(sql) {
            panic!("sql/queries/{file} does not prepare: {e}");
        }
    }
}

#[test]
fn reopening_a_migrated_database_applies_nothing_and_keeps_the_hash_key() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.duckdb");
    let key = {
        let s = Store::open(&p).unwrap();
        assert_eq!(s.schema_version().unwrap(), MIGRATIONS.len() as i64);
        s.hash_key().unwrap()
    };
    let s = Store::open(&p).unwrap();
    assert_eq!(s.hash_key().unwrap(), key);
    assert_eq!(key.len(), 64);
}

fn new_batch(sha: &str) -> NewBatch {
    NewBatch {
        dataset: "populations".into(),
        profile: "test".into(),
        profile_sha256: "p".into(),
        files: vec![BatchFile { role: "main".into(), name: "pop.csv".into(), sha256: sha.into(), bytes: 10 }],
        sha256: sha.into(),
        jurisdiction_id: Some("x".into()),
        started_at: chrono::Utc::now().naive_utc(),
        origin: "test".into(),
    }
}

fn population_rows(batch_id: i64, n: i64) -> RecordBatch {
    let cols = appended_columns(Table::Populations);
    let fields: Vec<Field> = cols
        .iter()
        .map(|c| {
            let ty = match c.as_str() {
                "batch_id" | "source_row" | "year" => DataType::Int64,
                "population" | "moe" => DataType::Float64,
                _ => DataType::Utf8,
            };
            Field::new(c, ty, true)
        })
        .collect();
    let arrays: Vec<ArrayRef> = cols
        .iter()
        .map(|c| -> ArrayRef {
            match c.as_str() {
                "batch_id" => Arc::new(Int64Array::from(vec![batch_id; n as usize])),
                "source_row" => Arc::new(Int64Array::from((2..n + 2).collect::<Vec<_>>())),
                "year" => Arc::new(Int64Array::from(vec![2017; n as usize])),
                "population" | "moe" => Arc::new(duckdb::arrow::array::Float64Array::from(vec![100.0; n as usize])),
                "jurisdiction_id" => Arc::new(StringArray::from(vec!["x"; n as usize])),
                _ => Arc::new(StringArray::from(vec!["all"; n as usize])),
            }
        })
        .collect();
    let _ = Date32Array::from(vec![0]);
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap()
}

#[test]
fn an_ingest_dropped_without_commit_leaves_no_row_and_no_batch() {
    let (_d, store) = fresh();
    {
        let mut ing = store.begin_ingest(new_batch("a"), None).unwrap();
        let id = ing.id();
        ing.append(Table::Populations, population_rows(id, 5000)).unwrap();
        ing.reject(0, 7, Some("year"), Some("x"), "not a number").unwrap();
    }
    assert_eq!(store.count_rows(Table::Populations).unwrap(), 0);
    assert!(store.list_batches(None, 10).unwrap().is_empty());
}

#[test]
fn a_committed_ingest_is_found_by_its_hash_and_a_replacement_supersedes_it_atomically() {
    let (_d, store) = fresh();
    let mut ing = store.begin_ingest(new_batch("a"), None).unwrap();
    let first = ing.id();
    ing.append(Table::Populations, population_rows(first, 3)).unwrap();
    ing.reject(0, 7, Some("year"), Some("x"), "not a number").unwrap();
    let b = ing
        .commit(IngestSummary {
            rows_read: 4,
            rows_accepted: 3,
            rows_rejected: 1,
            date_range: None,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(b.status, BatchStatus::Committed);
    assert_eq!(b.files.len(), 1);
    assert_eq!(store.find_committed_batch("populations", "test", "a").unwrap().unwrap().id, first);
    assert_eq!(store.file_hash_seen("populations", "a").unwrap(), Some(first));
    let rejects = store.rejects(first, None, 10).unwrap();
    assert_eq!(rejects.len(), 1);
    assert_eq!(rejects[0].line, 7);
    assert_eq!(store.top_reject_reasons(first, 5).unwrap(), vec![("not a number".to_owned(), 1)]);

    let mut ing = store.begin_ingest(new_batch("a"), Some(first)).unwrap();
    let second = ing.id();
    ing.append(Table::Populations, population_rows(second, 2)).unwrap();
    ing.commit(IngestSummary { rows_read: 2, rows_accepted: 2, ..Default::default() }).unwrap();
    assert_eq!(store.count_rows(Table::Populations).unwrap(), 2);
    let old = store.batch(first).unwrap();
    assert_eq!(old.status, BatchStatus::Superseded);
    assert_eq!(old.superseded_by, Some(second));
    assert_eq!(store.find_committed_batch("populations", "test", "a").unwrap().unwrap().id, second);
}

#[test]
fn jurisdictions_are_created_once_and_patched_in_place() {
    let (_d, store) = fresh();
    let j = Jurisdiction {
        id: "ct-hartford".into(),
        name: "Hartford, CT".into(),
        kind: "city".into(),
        ..Default::default()
    };
    assert!(store.ensure_jurisdiction(&j).unwrap());
    assert!(!store.ensure_jurisdiction(&Jurisdiction { name: "other".into(), ..j.clone() }).unwrap());
    let p = JurisdictionPatch { lat: Some(41.76), timezone: Some("America/New_York".into()), ..Default::default() };
    let got = store.update_jurisdiction("ct-hartford", &p).unwrap();
    assert_eq!(got.name, "Hartford, CT");
    assert_eq!(got.lat, Some(41.76));
    assert!(matches!(store.update_jurisdiction("nope", &p), Err(StoreError::NotFound { .. })));
    let bad = JurisdictionPatch { population_benchmark_id: Some("nope".into()), ..Default::default() };
    assert!(store.update_jurisdiction("ct-hartford", &bad).unwrap_err().to_string().contains("does not exist"));
}

#[test]
fn a_second_process_cannot_open_a_file_this_one_holds_and_is_told_why() {
    // Within one process DuckDB shares the database; a second process is refused. We check the message
    // mapping on the text DuckDB produces.
    let e = StoreError::from_open(
        "x.duckdb".into(),
        duckdb::Error::DuckDBFailure(
            duckdb::ffi::Error::new(1),
            Some("IO Error: Could not set lock on file \"x.duckdb\": Conflicting lock is held in /usr/bin/oversight (PID 42)".into()),
        ),
    );
    assert!(matches!(e, StoreError::Locked { .. }));
    assert!(e.to_string().contains("(PID 42)"), "{e}");
    assert!(e.to_string().contains("--server"), "{e}");
}

/// Stop rows with every Arrow type the importer sends, NULLs in each, long (not inlined) and non-ASCII
/// strings, and batches sliced at odd offsets: what DuckDB stores through the zero-copy stream must equal
/// what was sent.
#[test]
fn streamed_record_batches_arrive_whole_with_nulls_slices_and_long_strings() {
    use duckdb::arrow::array::{BooleanArray, Float64Array, Time64MicrosecondArray};
    use duckdb::arrow::datatypes::TimeUnit;
    let (_d, store) = fresh();
    let cols = appended_columns(Table::Stops);
    let types: std::collections::HashMap<String, oversight_core::FieldType> = Table::Stops
        .fields()
        .iter()
        .flat_map(|f| {
            let raw = f.has_raw().then(|| (format!("raw_{}", f.name), oversight_core::FieldType::Text));
            std::iter::once((f.name.to_owned(), f.ty)).chain(raw)
        })
        .collect();
    let n = 5000usize;
    let null = |i: usize, k: usize| (i + k).is_multiple_of(7);
    let text = |i: usize, k: usize| format!("valüe {k}-{i} {}", "x".repeat(i % 20));
    let mut fields = Vec::new();
    let mut arrays: Vec<ArrayRef> = Vec::new();
    for (k, c) in cols.iter().enumerate() {
        use oversight_core::FieldType as T;
        let ty = match c.as_str() {
            "batch_id" | "source_row" => T::Int,
            name => types[name],
        };
        let (dt, a): (DataType, ArrayRef) = match (c.as_str(), ty) {
            ("batch_id", _) => (DataType::Int64, Arc::new(Int64Array::from(vec![1; n]))),
            ("source_row", _) => (DataType::Int64, Arc::new(Int64Array::from((0..n as i64).collect::<Vec<_>>()))),
            ("date", _) => {
                (DataType::Date32, Arc::new(Date32Array::from((0..n as i32).map(|i| 16_000 + i).collect::<Vec<_>>())))
            }
            ("jurisdiction_id", _) => (DataType::Utf8, Arc::new(StringArray::from(vec!["x"; n]))),
            (_, T::Text | T::Code(_)) => {
                (DataType::Utf8, Arc::new((0..n).map(|i| (!null(i, k)).then(|| text(i, k))).collect::<StringArray>()))
            }
            (_, T::Bool) => (
                DataType::Boolean,
                Arc::new((0..n).map(|i| (!null(i, k)).then_some(i % 3 == 0)).collect::<BooleanArray>()),
            ),
            (_, T::Int) => {
                (DataType::Int64, Arc::new((0..n).map(|i| (!null(i, k)).then_some(i as i64)).collect::<Int64Array>()))
            }
            (_, T::Float) => (
                DataType::Float64,
                Arc::new((0..n).map(|i| (!null(i, k)).then_some(i as f64 / 8.0)).collect::<Float64Array>()),
            ),
            (_, T::Date) => (
                DataType::Date32,
                Arc::new((0..n).map(|i| (!null(i, k)).then_some(16_000 + i as i32)).collect::<Date32Array>()),
            ),
            (_, T::Time) => (
                DataType::Time64(TimeUnit::Microsecond),
                Arc::new(
                    (0..n)
                        .map(|i| (!null(i, k)).then_some((i as i64 % 86_400) * 1_000_000))
                        .collect::<Time64MicrosecondArray>(),
                ),
            ),
        };
        fields.push(Field::new(c, dt, true));
        arrays.push(a);
    }
    let schema = Arc::new(Schema::new(fields));
    let whole = RecordBatch::try_new(schema.clone(), arrays).unwrap();
    let mut ing = store.begin_ingest(new_batch("s"), None).unwrap();
    let (tx, rx) = std::sync::mpsc::sync_channel(4);
    let sender = std::thread::spawn(move || {
        // Slices at odd offsets and lengths, some longer than one DuckDB vector.
        let mut off = 0;
        for len in [1, 2047, 2049, 3].into_iter().cycle() {
            if off >= n {
                break;
            }
            let len = len.min(n - off);
            tx.send(whole.slice(off, len)).unwrap();
            off += len;
        }
        whole
    });
    let inserted = ing.append_stream(Table::Stops, schema, rx).unwrap();
    let whole = sender.join().unwrap();
    assert_eq!(inserted, n as u64);
    ing.commit(IngestSummary { rows_read: n as i64, rows_accepted: n as i64, ..Default::default() }).unwrap();
    // DuckDB's own Arrow export of the stored rows, in source order, equals what was sent.
    let mut st = store.conn.prepare("SELECT * FROM stops ORDER BY source_row").unwrap();
    let back: Vec<RecordBatch> = st.query_arrow([]).unwrap().collect();
    let back = duckdb::arrow::compute::concat_batches(&back[0].schema(), &back).unwrap();
    assert_eq!(back.num_rows(), n);
    for (k, c) in cols.iter().enumerate() {
        let got = back.column_by_name(c).unwrap();
        let sent = whole.column(k);
        let got = duckdb::arrow::compute::cast(got, sent.data_type()).unwrap();
        assert_eq!(&got.to_data(), &sent.to_data(), "column {c}");
    }
}
