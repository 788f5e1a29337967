//! Arrow record batches handed to DuckDB without copying, through the Arrow C Data Interface: DuckDB's own
//! Arrow scanner (`duckdb_data_chunk_from_arrow`) turns a batch into a data chunk whose string vectors point
//! into the batch's buffers, and the chunk's vectors are referenced by the table function's output.
//!
//! duckdb-rs's `record_batch_to_duckdb_data_chunk` copies every string through the C API instead (one call
//! per value, each re-checking UTF-8), which cost the importer about a tenth of its CPU time.
//!
//! This module, `polars_bridge` and one allocator option in `oversight-cli`'s `main.rs` hold the only `unsafe`
//! code of the workspace. Invariants here:
//! - the converting connection belongs to a private in-memory database that lives as long as the process;
//!   DuckDB reads only settings from it (`ArrowArrayScanState` keeps the client context for extension
//!   types, which these schemas do not use), so concurrent conversions on it are safe;
//! - a converted schema is read-only after creation and destroyed exactly once (on drop);
//! - ownership of an exported `ArrowArray` passes to DuckDB (it clears `release`), and the chunk it builds
//!   shares that ownership with every vector that references it.
#![allow(unsafe_code)]

use crate::{Result, StoreError};
use duckdb::arrow::array::{Array, StructArray};
use duckdb::arrow::datatypes::Schema;
use duckdb::arrow::ffi::{FFI_ArrowArray, FFI_ArrowSchema};
use duckdb::arrow::record_batch::RecordBatch;
use duckdb::core::DataChunkHandle;
use duckdb::ffi;
use std::ffi::CStr;
use std::sync::LazyLock;

/// A connection of a private in-memory database, used only for its conversion settings.
struct Converter {
    con: ffi::duckdb_connection,
}

// SAFETY: the connection is never used to run queries, only passed to DuckDB's Arrow conversion functions,
// which read its configuration (see the module's invariants).
unsafe impl Send for Converter {}
unsafe impl Sync for Converter {}

static CONVERTER: LazyLock<std::result::Result<Converter, String>> = LazyLock::new(|| {
    // SAFETY: plain C API calls with out-pointers owned here; on success the database and connection are
    // kept for the life of the process.
    unsafe {
        let mut config: ffi::duckdb_config = std::ptr::null_mut();
        if ffi::duckdb_create_config(&mut config) != ffi::DuckDBSuccess {
            return Err("cannot create a DuckDB configuration".into());
        }
        // One worker thread: this database never runs a query.
        ffi::duckdb_set_config(config, c"threads".as_ptr(), c"1".as_ptr());
        let mut db: ffi::duckdb_database = std::ptr::null_mut();
        let mut err: *mut std::os::raw::c_char = std::ptr::null_mut();
        let state = ffi::duckdb_open_ext(std::ptr::null(), &mut db, config, &mut err);
        ffi::duckdb_destroy_config(&mut config);
        if state != ffi::DuckDBSuccess {
            let msg = if err.is_null() { String::new() } else { CStr::from_ptr(err).to_string_lossy().into_owned() };
            if !err.is_null() {
                ffi::duckdb_free(err.cast());
            }
            return Err(format!("cannot open the in-memory conversion database: {msg}"));
        }
        let mut con: ffi::duckdb_connection = std::ptr::null_mut();
        if ffi::duckdb_connect(db, &mut con) != ffi::DuckDBSuccess {
            return Err("cannot connect to the in-memory conversion database".into());
        }
        Ok(Converter { con })
    }
});

fn converter() -> Result<&'static Converter> {
    CONVERTER.as_ref().map_err(|e| StoreError::Invalid(e.clone()))
}

/// Takes the message out of a DuckDB error (and frees it); `None` when there was no error.
///
/// # Safety
/// `e` is null or an error returned by the C API that nobody else frees.
unsafe fn take_error(mut e: ffi::duckdb_error_data) -> Option<String> {
    if e.is_null() {
        return None;
    }
    // SAFETY: `e` is a live error object (the caller's contract); it is destroyed once, here.
    unsafe {
        let msg = ffi::duckdb_error_data_has_error(e).then(|| {
            let p = ffi::duckdb_error_data_message(e);
            if p.is_null() { "unknown error".to_owned() } else { CStr::from_ptr(p).to_string_lossy().into_owned() }
        });
        ffi::duckdb_destroy_error_data(&mut e);
        msg
    }
}

/// An Arrow schema as DuckDB's Arrow scanner understands it.
pub(crate) struct ConvertedSchema {
    raw: ffi::duckdb_arrow_converted_schema,
    columns: usize,
}

// SAFETY: read-only after creation (DuckDB only reads the column types from it), destroyed once in `drop`.
unsafe impl Send for ConvertedSchema {}
unsafe impl Sync for ConvertedSchema {}

impl ConvertedSchema {
    pub(crate) fn new(schema: &Schema) -> Result<Self> {
        let conv = converter()?;
        let mut ffi_schema = FFI_ArrowSchema::try_from(schema)
            .map_err(|e| StoreError::Invalid(format!("cannot export the Arrow schema: {e}")))?;
        let mut raw: ffi::duckdb_arrow_converted_schema = std::ptr::null_mut();
        // SAFETY: `ffi_schema` is a valid exported schema that outlives the call (DuckDB copies what it needs
        // and does not take ownership); `raw` is an out-pointer.
        let err = unsafe {
            ffi::duckdb_schema_from_arrow(conv.con, (&raw mut ffi_schema).cast::<ffi::ArrowSchema>(), &mut raw)
        };
        // SAFETY: the error came from the call above.
        if let Some(msg) = unsafe { take_error(err) } {
            return Err(StoreError::Invalid(format!("DuckDB cannot read the Arrow schema: {msg}")));
        }
        Ok(Self { raw, columns: schema.fields().len() })
    }

    /// DuckDB's conversion of `batch` (of this schema) into a data chunk.
    fn convert(&self, batch: RecordBatch) -> Result<Chunk> {
        let conv = converter()?;
        let data = StructArray::from(batch).into_data();
        let mut array = FFI_ArrowArray::new(&data);
        let mut chunk = Chunk(std::ptr::null_mut());
        // SAFETY: `array` is a valid exported array of this schema; DuckDB takes ownership of it (clearing its
        // `release`, so dropping `array` afterwards frees nothing) and returns a chunk `Chunk` destroys.
        let err = unsafe {
            ffi::duckdb_data_chunk_from_arrow(
                conv.con,
                (&raw mut array).cast::<ffi::ArrowArray>(),
                self.raw,
                &mut chunk.0,
            )
        };
        // SAFETY: the error came from the call above.
        if let Some(msg) = unsafe { take_error(err) } {
            return Err(StoreError::Invalid(format!("DuckDB cannot read a record batch: {msg}")));
        }
        Ok(chunk)
    }

    /// Converts `batch` (of this schema, at most one DuckDB vector long) and makes `output`'s vectors
    /// reference the result. `output` must have this schema's columns with the types DuckDB gives them.
    pub(crate) fn fill(&self, batch: &RecordBatch, output: &mut DataChunkHandle) -> Result<()> {
        if batch.num_columns() != self.columns || output.num_columns() != self.columns {
            return Err(StoreError::Invalid("record batch and output chunk differ in columns".into()));
        }
        let chunk = self.convert(batch.clone())?;
        let out = output.get_ptr();
        // SAFETY: both chunks have `self.columns` vectors of the same types (checked when the table function
        // was bound); referencing shares the converted buffers, so `chunk` can be destroyed right after.
        unsafe {
            for i in 0..self.columns as ffi::idx_t {
                ffi::duckdb_vector_reference_vector(
                    ffi::duckdb_data_chunk_get_vector(out, i),
                    ffi::duckdb_data_chunk_get_vector(chunk.0, i),
                );
            }
            ffi::duckdb_data_chunk_set_size(out, ffi::duckdb_data_chunk_get_size(chunk.0));
        }
        Ok(())
    }

    /// The DuckDB type ids DuckDB gives this schema's columns (to check them against a table function's).
    pub(crate) fn type_ids(&self, schema: &Schema) -> Result<Vec<u32>> {
        let chunk = self.convert(RecordBatch::new_empty(std::sync::Arc::new(schema.clone())))?;
        // SAFETY: `chunk` is a live chunk; each logical type fetched is destroyed after reading its id.
        let ids = unsafe {
            (0..ffi::duckdb_data_chunk_get_column_count(chunk.0))
                .map(|i| {
                    let mut t = ffi::duckdb_vector_get_column_type(ffi::duckdb_data_chunk_get_vector(chunk.0, i));
                    let id = ffi::duckdb_get_type_id(t);
                    ffi::duckdb_destroy_logical_type(&mut t);
                    id
                })
                .collect()
        };
        Ok(ids)
    }
}

/// A data chunk DuckDB converted for this module; destroyed on drop.
struct Chunk(ffi::duckdb_data_chunk);

impl Drop for Chunk {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: created by `duckdb_data_chunk_from_arrow` and destroyed only here.
            unsafe { ffi::duckdb_destroy_data_chunk(&mut self.0) }
        }
    }
}

impl Drop for ConvertedSchema {
    fn drop(&mut self) {
        // SAFETY: created by `duckdb_schema_from_arrow` and destroyed only here.
        unsafe { ffi::duckdb_destroy_arrow_converted_schema(&mut self.raw) }
    }
}
