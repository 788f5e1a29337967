//! The data dictionary that goes with every extract: a Frictionless Data Package (`datapackage.json`: the
//! columns with their types, descriptions and code lists, the file's dialect, the licences and sources from
//! the batches' profiles, the filters, and what was withheld and why), and the same as an HTML page. The API
//! serves it beside each extract; `oversight export` writes it beside the file.

use chrono::NaiveDate;
use oversight_core::public::{self, KEYED_ID_COLUMNS, Source, WITHHELD};
use oversight_core::schema::{Dataset, FieldType};
use oversight_core::{code_list_meanings, code_list_values};
use oversight_store::{BatchRecord, Store, StoreError};
use serde_json::{Value, json};

/// What an extract holds and how it is written.
#[derive(Debug, Clone)]
pub struct ExtractFile<'a> {
    pub source: Source,
    pub columns: &'a [&'a str],
    /// The file's name (the resource's path in the package).
    pub filename: &'a str,
    /// csv, jsonl or parquet.
    pub format: &'a str,
    pub delimiter: u8,
    pub bom: bool,
    /// The filters and order, as the manifest gives them.
    pub filters: Value,
    /// The batches the records come from.
    pub batches: &'a [BatchRecord],
}

/// The committed batches of a dataset that an extract over the jurisdiction and dates reads from.
pub fn source_batches(
    store: &Store,
    ds: Dataset,
    jurisdiction: Option<&str>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<Vec<BatchRecord>, StoreError> {
    let ids: Vec<i64> = store
        .committed_batches()?
        .into_iter()
        .filter(|b| b.dataset == ds.as_str())
        .filter(|b| {
            jurisdiction.is_none() || b.jurisdiction_id.is_none() || b.jurisdiction_id.as_deref() == jurisdiction
        })
        .filter(|b| from.is_none_or(|f| b.date_max.is_none_or(|m| m >= f)))
        .filter(|b| to.is_none_or(|t| b.date_min.is_none_or(|m| m <= t)))
        .map(|b| b.id)
        .collect();
    ids.into_iter().map(|id| store.batch(id)).collect()
}

/// What the CSV does to text a spreadsheet would run as a formula.
pub const NEUTRALISED: &str = "In CSV files, a text cell that starts with =, +, -, @, a tab or a carriage return \
    gets a leading apostrophe, so that a spreadsheet shows it instead of running it as a formula (OWASP, CSV \
    injection); remove the apostrophe to get the source's text.";

/// A column's Frictionless type.
fn frictionless_type(ty: FieldType) -> &'static str {
    match ty {
        FieldType::Text | FieldType::Code(_) => "string",
        FieldType::Bool => "boolean",
        FieldType::Int => "integer",
        FieldType::Float => "number",
        FieldType::Date => "date",
        FieldType::Time => "time",
    }
}

/// A column's description: the schema's, or what the extract adds.
fn description(source: Source, column: &str) -> String {
    match column {
        "batch_id" => "The import batch the record came from (see /v1/imports and the sources).".into(),
        "source_row" => "The record's line in its source file.".into(),
        c => match KEYED_ID_COLUMNS.iter().find(|k| k.0 == c) {
            Some((_, source)) => format!(
                "A keyed hash of the source's {source}: the same value for the same record within this database; \
                 the source's id is withheld (it joins back to files with names)."
            ),
            None => public::field(source, c).map(|f| f.description.to_owned()).unwrap_or_default(),
        },
    }
}

/// One column of the package's schema: name, type, description, and for a coded column its codes (as an
/// `enum` constraint) and their meanings.
fn field(source: Source, column: &str) -> Value {
    let ty = public::column(source, column).map_or(FieldType::Text, |(_, t)| t);
    let mut f = json!({"name": column, "type": frictionless_type(ty), "description": description(source, column)});
    if let FieldType::Code(list) = ty {
        let codes = code_list_values(list).unwrap_or_default();
        let meanings: Vec<Value> = code_list_meanings(list)
            .unwrap_or_default()
            .into_iter()
            .map(|(code, meaning)| json!({"code": code, "meaning": meaning}))
            .collect();
        f["constraints"] = json!({"enum": codes});
        f["codes"] = Value::Array(meanings);
    }
    if ty == FieldType::Bool {
        f["trueValues"] = json!(["true"]);
        f["falseValues"] = json!(["false"]);
    }
    f
}

/// The licences and sources the batches' profiles declare (a profile that cannot be found, or says nothing,
/// adds nothing).
fn licences_and_sources(batches: &[BatchRecord], ds: Dataset) -> (Vec<Value>, Vec<Value>) {
    let (mut licences, mut sources) = (Vec::new(), Vec::new());
    let mut seen = std::collections::BTreeSet::new();
    for b in batches {
        if !seen.insert(b.profile.clone()) {
            continue;
        }
        let Ok(p) = oversight_import::resolve_profile(&b.profile, Some(ds)) else { continue };
        let title = p.toml.title.clone().unwrap_or_else(|| p.name.clone());
        let mut source = json!({"title": title});
        if let Some(h) = &p.toml.homepage {
            source["path"] = json!(h);
        }
        sources.push(source);
        if let Some(l) = &p.toml.license {
            let l = json!({"name": l, "title": format!("{l} (as the profile {} says of its source)", p.name)});
            if !licences.contains(&l) {
                licences.push(l);
            }
        }
    }
    (licences, sources)
}

/// The Frictionless Data Package describing an extract.
pub fn datapackage(x: &ExtractFile<'_>) -> Value {
    let name = x.filename.rsplit_once('.').map_or(x.filename, |(n, _)| n).to_lowercase();
    let name: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '_' }).collect();
    let (licenses, sources) = licences_and_sources(x.batches, x.source.dataset());
    let mut resource = json!({
        "name": name,
        "path": x.filename,
        "format": x.format,
        "schema": {
            "fields": x.columns.iter().map(|c| field(x.source, c)).collect::<Vec<_>>(),
            "missingValues": [""],
        },
    });
    match x.format {
        "csv" => {
            resource["profile"] = json!("tabular-data-resource");
            resource["mediatype"] = json!("text/csv");
            resource["encoding"] = json!(if x.bom { "utf-8-sig" } else { "utf-8" });
            resource["dialect"] = json!({"delimiter": (x.delimiter as char).to_string(), "header": true});
        }
        "jsonl" => resource["mediatype"] = json!("application/x-ndjson"),
        _ => resource["mediatype"] = json!("application/vnd.apache.parquet"),
    }
    let mut package = json!({
        "profile": "tabular-data-package",
        "name": name,
        "title": format!("Oversight extract: {}", x.source.as_str()),
        "description": format!(
            "Record-level {} from Oversight: public columns only; {}",
            x.source.as_str(),
            if x.format == "csv" { NEUTRALISED } else { "" }
        ).trim().to_owned(),
        "resources": [resource],
        "sources": sources,
        "oversight": {
            "filters": x.filters,
            "withheld": WITHHELD,
            "neutralised": if x.format == "csv" { Value::String(NEUTRALISED.into()) } else { Value::Null },
            "source_batches": x.batches.iter().map(|b| json!({"id": b.id, "profile": b.profile, "files": b.file_names(),
                "sha256": b.sha256, "finished_at": b.finished_at, "rows_accepted": b.rows_accepted})).collect::<Vec<_>>(),
        },
    });
    if !licenses.is_empty() {
        package["licenses"] = Value::Array(licenses);
    }
    package
}

/// Text for an HTML page (the dictionary's and a table's).
pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The same dictionary as a plain HTML page.
pub fn dictionary_html(x: &ExtractFile<'_>) -> String {
    let p = datapackage(x);
    let mut h = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Data dictionary: {f}</title>\
         <style>table{{border-collapse:collapse}}td,th{{border:1px solid #999;padding:.3em .6em;vertical-align:top;text-align:left}}</style>\
         </head><body><h1>Data dictionary: {f}</h1><p>{d}</p><table><thead><tr><th>column</th><th>type</th><th>description</th><th>codes</th></tr></thead><tbody>",
        f = escape(x.filename),
        d = escape(p["description"].as_str().unwrap_or_default()),
    );
    for f in p["resources"][0]["schema"]["fields"].as_array().into_iter().flatten() {
        let codes: Vec<String> = f["codes"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                format!(
                    "<b>{}</b>: {}",
                    escape(c["code"].as_str().unwrap_or_default()),
                    escape(c["meaning"].as_str().unwrap_or_default())
                )
            })
            .collect();
        h.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(f["name"].as_str().unwrap_or_default()),
            escape(f["type"].as_str().unwrap_or_default()),
            escape(f["description"].as_str().unwrap_or_default()),
            codes.join("<br>")
        ));
    }
    h.push_str(&format!(
        "</tbody></table><h2>Withheld</h2><p>{}</p><h2>Filters</h2><pre>{}</pre><h2>Sources</h2><ul>",
        escape(WITHHELD),
        escape(&serde_json::to_string_pretty(&x.filters).unwrap_or_default())
    ));
    for b in x.batches {
        h.push_str(&format!(
            "<li>batch {}: {} ({}), {} rows, sha256 {}</li>",
            b.id,
            escape(&b.file_names()),
            escape(&b.profile),
            b.rows_accepted,
            escape(&b.sha256)
        ));
    }
    for l in p["licenses"].as_array().into_iter().flatten() {
        h.push_str(&format!("<li>licence: {}</li>", escape(l["title"].as_str().unwrap_or_default())));
    }
    h + "</ul></body></html>\n"
}
