//! Record frames: Arrow columns from the store made into polars data frames.

use crate::MetricsError;
use oversight_store::polars_bridge::ArrowColumns;
use polars::prelude::*;

/// Builds a data frame from the store's Arrow columns (no copy).
pub(crate) fn to_frame(cols: ArrowColumns) -> Result<DataFrame, MetricsError> {
    let height = cols.rows;
    let mut columns = Vec::with_capacity(cols.fields.len());
    for (field, chunks) in cols.fields.into_iter().zip(cols.chunks) {
        let series = if chunks.is_empty() {
            Series::new_empty(field.name.clone(), &DataType::from_arrow_field(&field))
        } else {
            Series::try_from((field.name.clone(), chunks))?
        };
        columns.push(Column::from(series));
    }
    // DuckDB hands over one Arrow batch per vector (2,048 rows). Rechunking first was measured slower
    // overall than letting the group-by read the chunks as they are.
    Ok(DataFrame::new(height, columns)?)
}
