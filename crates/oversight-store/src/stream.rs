//! Streaming appends: record batches produced on other threads, inserted by DuckDB's own pipeline with a
//! table function that several DuckDB threads pull from at once, so conversion and compression run in
//! parallel (the row appender does both on one thread). Batches reach DuckDB without copying their strings
//! (see `arrow_chunk`).

use crate::arrow_chunk::ConvertedSchema;
use crate::{Result, StoreError};
use duckdb::arrow::datatypes::SchemaRef;
use duckdb::arrow::record_batch::RecordBatch;
use duckdb::core::{DataChunkHandle, LogicalTypeHandle, LogicalTypeId};
use duckdb::vtab::{BindInfo, InitInfo, TableFunctionInfo, VTab, to_duckdb_logical_type_for_field};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError, mpsc};

/// DuckDB's vector size: a table function emits at most this many rows per call.
const VECTOR_SIZE: usize = 2048;

/// The name the table function is registered under.
pub(crate) const FUNCTION: &str = "oversight_record_stream";

struct Queue {
    schema: SchemaRef,
    converted: ConvertedSchema,
    rx: Mutex<mpsc::Receiver<RecordBatch>>,
    /// The batch being emitted and the next row to emit.
    current: Mutex<Option<(RecordBatch, usize)>>,
}

static QUEUES: LazyLock<Mutex<HashMap<u64, Arc<Queue>>>> = LazyLock::new(|| Mutex::new(HashMap::new()));
static NEXT_TOKEN: AtomicU64 = AtomicU64::new(1 << 62);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A registered queue; unregisters on drop.
pub(crate) struct Registration(u64);

impl Registration {
    pub(crate) fn new(schema: SchemaRef, rx: mpsc::Receiver<RecordBatch>) -> Result<Self> {
        let token = NEXT_TOKEN.fetch_add(1, Ordering::Relaxed);
        let converted = ConvertedSchema::new(&schema)?;
        let q = Queue { schema, converted, rx: Mutex::new(rx), current: Mutex::new(None) };
        lock(&QUEUES).insert(token, Arc::new(q));
        Ok(Self(token))
    }
    pub(crate) fn token(&self) -> u64 {
        self.0
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        lock(&QUEUES).remove(&self.0);
    }
}

pub(crate) struct StreamVTab;

pub(crate) struct BindData {
    queue: Arc<Queue>,
}

pub(crate) struct InitData;

impl VTab for StreamVTab {
    type BindData = BindData;
    type InitData = InitData;

    fn bind(bind: &BindInfo) -> Result<Self::BindData, Box<dyn std::error::Error>> {
        let token = bind.get_parameter(0).to_uint64();
        let queue = lock(&QUEUES).get(&token).cloned().ok_or_else(|| format!("no record stream {token}"))?;
        // The output's types must be those DuckDB's Arrow scanner gives the columns: its vectors are
        // referenced as they are.
        let scanned = queue.converted.type_ids(&queue.schema)?;
        for (f, id) in queue.schema.fields().iter().zip(scanned) {
            let ty = to_duckdb_logical_type_for_field(f)?;
            if ty.raw_id() != id {
                return Err(format!(
                    "column {}: DuckDB scans type {id}, the stream declares {}",
                    f.name(),
                    ty.raw_id()
                )
                .into());
            }
            bind.add_result_column(f.name(), ty);
        }
        Ok(BindData { queue })
    }

    fn init(init: &InitInfo) -> Result<Self::InitData, Box<dyn std::error::Error>> {
        // Every DuckDB thread may pull batches (DuckDB caps this at its own thread count); the order of the
        // rows does not matter: each carries its source line.
        init.set_max_threads(64);
        Ok(InitData)
    }

    fn func(func: &TableFunctionInfo<Self>, output: &mut DataChunkHandle) -> Result<(), Box<dyn std::error::Error>> {
        let q = &func.get_bind_data().queue;
        let slice = {
            let mut cur = lock(&q.current);
            loop {
                if let Some((rb, off)) = cur.as_mut()
                    && *off < rb.num_rows()
                {
                    let len = VECTOR_SIZE.min(rb.num_rows() - *off);
                    let s = rb.slice(*off, len);
                    *off += len;
                    break Some(s);
                }
                match lock(&q.rx).recv() {
                    Ok(rb) => *cur = Some((rb, 0)),
                    Err(_) => break None,
                }
            }
        };
        match slice {
            Some(s) => q.converted.fill(&s, output)?,
            None => output.set_len(0),
        }
        Ok(())
    }

    fn parameters() -> Option<Vec<LogicalTypeHandle>> {
        Some(vec![LogicalTypeHandle::from(LogicalTypeId::UBigint)])
    }
}

/// Registers the table function on a connection (once per connection; a second registration is harmless).
pub(crate) fn register(conn: &duckdb::Connection) -> Result<()> {
    match conn.register_table_function::<StreamVTab>(FUNCTION) {
        Ok(()) => Ok(()),
        Err(e) if e.to_string().contains("already exists") => Ok(()),
        Err(e) => Err(StoreError::Duckdb(e)),
    }
}
