//! Probe: how long DuckDB takes to append N stop rows from Arrow, by column set.
use duckdb::arrow::array::{ArrayRef, BooleanArray, Date32Array, Int64Array, StringArray, Time64MicrosecondArray, Float64Array};
use duckdb::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use duckdb::arrow::record_batch::RecordBatch;
use oversight_core::Table;
use oversight_store::{BatchFile, IngestSummary, NewBatch, Store, appended_columns};
use std::sync::Arc;
use std::time::Instant;

fn main() {
    let rows: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let skip_raw = std::env::args().nth(2).as_deref() == Some("noraw");
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("p.duckdb")).unwrap();
    let cols = appended_columns(Table::Stops);
    let races = ["white", "black", "hispanic", "asian/pacific islander", "other"];
    let chunk = 65_536;
    let mut batches = Vec::new();
    let mut done = 0;
    while done < rows {
        let n = chunk.min(rows - done);
        let mut fields = Vec::new();
        let mut arrays: Vec<ArrayRef> = Vec::new();
        for c in &cols {
            let def = Table::Stops.fields().iter().find(|f| f.name == c.as_str() || format!("raw_{}", f.name) == *c);
            let (dt, a): (DataType, ArrayRef) = match (c.as_str(), def.map(|d| d.ty)) {
                ("batch_id" | "source_row", _) => (DataType::Int64, Arc::new(Int64Array::from((0..n as i64).collect::<Vec<_>>()))),
                (name, _) if name.starts_with("raw_") => {
                    if skip_raw { (DataType::Utf8, Arc::new(StringArray::from(vec![None::<&str>; n]))) } else {
                    (DataType::Utf8, Arc::new(StringArray::from((0..n).map(|i| races[i % 5]).collect::<Vec<_>>()))) }
                }
                (_, Some(oversight_core::FieldType::Bool)) => (DataType::Boolean, Arc::new(BooleanArray::from((0..n).map(|i| i % 3 == 0).collect::<Vec<_>>()))),
                (_, Some(oversight_core::FieldType::Int)) => (DataType::Int64, Arc::new(Int64Array::from((0..n as i64).map(|i| 16 + i % 70).collect::<Vec<_>>()))),
                (_, Some(oversight_core::FieldType::Float)) => (DataType::Float64, Arc::new(Float64Array::from((0..n).map(|i| 41.0 + i as f64 / 1e7).collect::<Vec<_>>()))),
                (_, Some(oversight_core::FieldType::Date)) => (DataType::Date32, Arc::new(Date32Array::from((0..n as i32).map(|i| 16000 + i % 1000).collect::<Vec<_>>()))),
                (_, Some(oversight_core::FieldType::Time)) => (DataType::Time64(TimeUnit::Microsecond), Arc::new(Time64MicrosecondArray::from((0..n as i64).map(|i| (i % 86400) * 1_000_000).collect::<Vec<_>>()))),
                _ => (DataType::Utf8, Arc::new(StringArray::from((0..n).map(|i| races[i % 5]).collect::<Vec<_>>()))),
            };
            fields.push(Field::new(c, dt, true));
            arrays.push(a);
        }
        batches.push(RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap());
        done += n;
    }
    let nb = NewBatch { dataset: "stops".into(), profile: "p".into(), profile_sha256: "x".into(), files: vec![BatchFile { role: "main".into(), name: "x".into(), sha256: "x".into(), bytes: 1 }], sha256: "x".into(), jurisdiction_id: None, started_at: chrono::Utc::now().naive_utc(), origin: "probe".into() };
    let t = Instant::now();
    let mut ing = store.begin_ingest(nb, None).unwrap();
    for b in batches { ing.append(Table::Stops, b).unwrap(); }
    let t_app = t.elapsed();
    ing.commit(IngestSummary::default()).unwrap();
    println!("append {:.2}s, total with commit {:.2}s", t_app.as_secs_f64(), t.elapsed().as_secs_f64());
}
