//! The Arrow sink: accepted rows collected into record batches of the table's columns.

use super::compile::*;
use super::plan::*;
use super::row::*;
use chrono::Timelike;
use oversight_core::{FieldDef, FieldType, Table};
use oversight_store::appended_columns;
use oversight_store::arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Float64Builder, Int64Builder, StringBuilder, Time64MicrosecondBuilder,
};
use oversight_store::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use oversight_store::arrow::record_batch::RecordBatch;
use std::collections::HashMap;
use std::sync::Arc;
/// Collects mapped rows of one table into Arrow record batches.
pub(crate) struct TableSink {
    pub(super) schema: Arc<Schema>,
    pub(super) builders: Vec<ColBuilder>,
    pub(super) rows: usize,
}

pub(super) enum ColBuilder {
    Str(StringBuilder),
    Bool(BooleanBuilder),
    Int(Int64Builder),
    Float(Float64Builder),
    Date(Date32Builder),
    Time(Time64MicrosecondBuilder),
}

impl TableSink {
    pub(crate) fn new(table: Table) -> Self {
        let cols = appended_columns(table);
        let mut types: HashMap<String, FieldType> = HashMap::new();
        for f in table.fields() {
            types.insert(f.name.to_owned(), f.ty);
            if f.has_raw() {
                types.insert(format!("raw_{}", f.name), FieldType::Text);
            }
        }
        let mut fields = Vec::new();
        let mut builders = Vec::new();
        for c in &cols {
            let (dt, b) = match c.as_str() {
                "batch_id" | "source_row" => (DataType::Int64, ColBuilder::Int(Int64Builder::new())),
                name => match types.get(name).copied().unwrap_or(FieldType::Text) {
                    FieldType::Text | FieldType::Code(_) => (DataType::Utf8, ColBuilder::Str(StringBuilder::new())),
                    FieldType::Bool => (DataType::Boolean, ColBuilder::Bool(BooleanBuilder::new())),
                    FieldType::Int => (DataType::Int64, ColBuilder::Int(Int64Builder::new())),
                    FieldType::Float => (DataType::Float64, ColBuilder::Float(Float64Builder::new())),
                    FieldType::Date => (DataType::Date32, ColBuilder::Date(Date32Builder::new())),
                    FieldType::Time => {
                        (DataType::Time64(TimeUnit::Microsecond), ColBuilder::Time(Time64MicrosecondBuilder::new()))
                    }
                },
            };
            fields.push(Field::new(c, dt, true));
            builders.push(b);
        }
        Self { schema: Arc::new(Schema::new(fields)), builders, rows: 0 }
    }

    pub(crate) fn len(&self) -> usize {
        self.rows
    }

    pub(crate) fn schema(&self) -> Arc<Schema> {
        self.schema.clone()
    }

    pub(crate) fn push(&mut self, batch_id: i64, source_row: i64, vals: &[Val<'_>]) {
        if let ColBuilder::Int(b) = &mut self.builders[0] {
            b.append_value(batch_id);
        }
        if let ColBuilder::Int(b) = &mut self.builders[1] {
            b.append_value(source_row);
        }
        for (b, v) in self.builders[2..].iter_mut().zip(vals) {
            match (b, v) {
                (ColBuilder::Str(b), Val::Str(s)) => b.append_value(s),
                (ColBuilder::Str(b), Val::Shared(s)) => b.append_value(s),
                (ColBuilder::Str(b), Val::Code(s)) => b.append_value(s),
                (ColBuilder::Bool(b), Val::Bool(x)) => b.append_value(*x),
                (ColBuilder::Int(b), Val::Int(x)) => b.append_value(*x),
                (ColBuilder::Float(b), Val::Float(x)) => b.append_value(*x),
                (ColBuilder::Float(b), Val::Int(x)) => b.append_value(*x as f64),
                (ColBuilder::Date(b), Val::Date(d)) => b.append_value(oversight_core::period::epoch_days(*d)),
                (ColBuilder::Time(b), Val::Time(t)) => b.append_value(
                    i64::from(t.num_seconds_from_midnight()) * 1_000_000 + i64::from(t.nanosecond() / 1000),
                ),
                (ColBuilder::Str(b), _) => b.append_null(),
                (ColBuilder::Bool(b), _) => b.append_null(),
                (ColBuilder::Int(b), _) => b.append_null(),
                (ColBuilder::Float(b), _) => b.append_null(),
                (ColBuilder::Date(b), _) => b.append_null(),
                (ColBuilder::Time(b), _) => b.append_null(),
            }
        }
        self.rows += 1;
    }

    /// The rows collected so far as one record batch (the sink starts empty again).
    pub(crate) fn take(&mut self) -> RecordBatch {
        let arrays: Vec<ArrayRef> = self
            .builders
            .iter_mut()
            .map(|b| -> ArrayRef {
                match b {
                    ColBuilder::Str(b) => Arc::new(b.finish()),
                    ColBuilder::Bool(b) => Arc::new(b.finish()),
                    ColBuilder::Int(b) => Arc::new(b.finish()),
                    ColBuilder::Float(b) => Arc::new(b.finish()),
                    ColBuilder::Date(b) => Arc::new(b.finish()),
                    ColBuilder::Time(b) => Arc::new(b.finish()),
                }
            })
            .collect();
        self.rows = 0;
        RecordBatch::try_new(self.schema.clone(), arrays).expect("sink columns match its schema")
    }
}

pub(super) static ATTR_DEFS: &[FieldDef] = &[
    FieldDef { name: "name", ty: FieldType::Text, required: false, personal: false, description: "" },
    FieldDef {
        name: "kind",
        ty: FieldType::Code("jurisdiction_kind"),
        required: false,
        personal: false,
        description: "",
    },
    FieldDef { name: "parent", ty: FieldType::Text, required: false, personal: false, description: "" },
    FieldDef { name: "state", ty: FieldType::Text, required: false, personal: false, description: "" },
    FieldDef { name: "fips", ty: FieldType::Text, required: false, personal: false, description: "" },
    FieldDef { name: "timezone", ty: FieldType::Text, required: false, personal: false, description: "" },
    FieldDef { name: "lat", ty: FieldType::Float, required: false, personal: false, description: "" },
    FieldDef { name: "lng", ty: FieldType::Float, required: false, personal: false, description: "" },
];

/// Attributes of jurisdictions that rows create (`[jurisdiction_fields]`), evaluated on a jurisdiction's
/// first row.
#[derive(Clone)]
pub(crate) struct AttrPlan {
    pub(super) set: FieldSet,
}

impl AttrPlan {
    pub(crate) fn compile(cx: &PlanCtx<'_>) -> Result<Self, PlanError> {
        let src = &cx.profile.toml.source;
        let mut fields = Vec::new();
        for (slot, def) in ATTR_DEFS.iter().enumerate() {
            if let Some(spec) = cx.profile.toml.jurisdiction_fields.get(def.name) {
                fields.push(compile_field(cx, def, &spec.full(), slot, None, None)?);
            }
        }
        Ok(Self { set: FieldSet::new(fields, Cleaner::new(src.trim, &src.null_values), ATTR_DEFS.len()) })
    }

    /// (attribute name, value) for the attributes the profile sets.
    pub(crate) fn eval(&mut self, cx: &RowCtx<'_, '_>) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let mut problems = Vec::new();
        self.set.eval(cx, &mut out, &mut problems);
        ATTR_DEFS.iter().zip(out).filter_map(|(d, v)| v.display().map(|s| (d.name, s))).collect()
    }
}
