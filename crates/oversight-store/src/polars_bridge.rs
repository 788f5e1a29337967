//! The Arrow hand-off to polars. DuckDB returns arrow-rs record batches; polars uses its own Arrow
//! implementation (polars-arrow). Both speak the Arrow C Data Interface, so each column crosses without
//! copying: exported by arrow-rs, imported by polars-arrow. This module, `arrow_chunk` and one allocator
//! option in `oversight-cli`'s `main.rs` hold the project's `unsafe` code; a test round-trips every column
//! type the metrics jobs read.
#![allow(unsafe_code)]

use crate::{Result, StoreError};
use duckdb::arrow::record_batch::RecordBatch;
use polars_arrow::array::Array;
use polars_arrow::datatypes::Field;

/// Query result columns as polars-arrow arrays, chunk by chunk.
#[derive(Default)]
pub struct ArrowColumns {
    pub fields: Vec<Field>,
    /// For each field, its chunks.
    pub chunks: Vec<Vec<Box<dyn Array>>>,
    pub rows: usize,
}

impl std::fmt::Debug for ArrowColumns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArrowColumns").field("fields", &self.fields).field("rows", &self.rows).finish()
    }
}

impl ArrowColumns {
    /// Appends one record batch (its schema must match earlier batches').
    pub(crate) fn push(&mut self, rb: &RecordBatch) -> Result<()> {
        let schema = rb.schema();
        let first = self.fields.is_empty();
        for (i, col) in rb.columns().iter().enumerate() {
            let (array, c_schema) = duckdb::arrow::ffi::to_ffi(&col.to_data())
                .map_err(|e| StoreError::Invalid(format!("arrow export: {e}")))?;
            // SAFETY: `FFI_ArrowArray`/`FFI_ArrowSchema` (arrow-rs) and `ArrowArray`/`ArrowSchema` (polars-arrow)
            // are both `#[repr(C)]` definitions of the C Data Interface's `struct ArrowArray` and
            // `struct ArrowSchema`: same fields, same order, same sizes. Moving the value hands ownership (and
            // the duty to call `release` once) to polars-arrow; arrow-rs's destructor does not run.
            let array: polars_arrow::ffi::ArrowArray = unsafe { std::mem::transmute(array) };
            let c_schema: polars_arrow::ffi::ArrowSchema = unsafe { std::mem::transmute(c_schema) };
            // SAFETY: both were just produced by arrow-rs's exporter for this array, so they are valid C Data
            // Interface structures describing the same data.
            let field = unsafe { polars_arrow::ffi::import_field_from_c(&c_schema) }
                .map_err(|e| StoreError::Invalid(format!("arrow import: {e}")))?;
            let imported = unsafe { polars_arrow::ffi::import_array_from_c(array, field.dtype().clone()) }
                .map_err(|e| StoreError::Invalid(format!("arrow import: {e}")))?;
            if first {
                self.fields.push(Field::new(schema.field(i).name().as_str().into(), field.dtype().clone(), true));
                self.chunks.push(Vec::new());
            }
            self.chunks[i].push(imported);
        }
        self.rows += rb.num_rows();
        Ok(())
    }
}
