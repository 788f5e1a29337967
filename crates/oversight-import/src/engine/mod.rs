//! The mapping engine: a profile compiled against the actual file headers into a plan per output table
//! (`compile`), evaluated row by row into typed values (`eval`), validated (`table`), and collected into Arrow
//! record batches (`sink`).

mod compile;
mod eval;
mod plan;
mod row;
mod sink;
mod table;

pub(crate) use plan::{PlanCtx, PlanError};
pub(crate) use row::{Cleaner, FileData, Problem, RowCtx, Val, key_of, key_part};
pub(crate) use sink::{AttrPlan, TableSink};
pub(crate) use table::TablePlan;
