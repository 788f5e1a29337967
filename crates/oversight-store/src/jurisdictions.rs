//! Jurisdictions: the places records belong to.

use crate::{Result, Store, StoreError, queries};
use duckdb::{OptionalExt, params};
use serde::{Deserialize, Serialize};

/// A row of `jurisdictions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Jurisdiction {
    pub id: String,
    pub name: String,
    /// A `jurisdiction_kind` code.
    pub kind: String,
    pub parent_id: Option<String>,
    pub state: Option<String>,
    pub fips: Option<String>,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    /// IANA time zone, e.g. `America/New_York`.
    pub timezone: Option<String>,
    /// Jurisdiction whose residents per-capita rates are divided by (None: its own).
    pub population_benchmark_id: Option<String>,
}

/// Attributes to set on an existing jurisdiction (None leaves one as it is).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct JurisdictionPatch {
    pub name: Option<String>,
    pub kind: Option<String>,
    pub parent_id: Option<String>,
    pub state: Option<String>,
    pub fips: Option<String>,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub timezone: Option<String>,
    pub population_benchmark_id: Option<String>,
}

impl JurisdictionPatch {
    /// Checks the values to set: a known kind, an IANA time zone, coordinates in range. The error names the
    /// field at fault and says what is expected.
    pub fn check(&self) -> std::result::Result<(), (&'static str, String)> {
        if let Some(k) = &self.kind
            && k.parse::<oversight_core::JurisdictionKind>().is_err()
        {
            return Err((
                "kind",
                format!("{k:?}: expected state, county, city, agency, neighborhood, district or other"),
            ));
        }
        if let Some(tz) = &self.timezone
            && tz.parse::<chrono_tz::Tz>().is_err()
        {
            return Err(("timezone", format!("{tz:?} is not an IANA time zone (e.g. America/New_York)")));
        }
        if let Some(v) = self.lat.filter(|v| !(-90.0..=90.0).contains(v)) {
            return Err(("lat", format!("{v} is not a latitude (-90 to 90)")));
        }
        if let Some(v) = self.lng.filter(|v| !(-180.0..=180.0).contains(v)) {
            return Err(("lng", format!("{v} is not a longitude (-180 to 180)")));
        }
        Ok(())
    }
}

fn from_row(r: &duckdb::Row<'_>) -> duckdb::Result<Jurisdiction> {
    Ok(Jurisdiction {
        id: r.get(0)?,
        name: r.get(1)?,
        kind: r.get(2)?,
        parent_id: r.get(3)?,
        state: r.get(4)?,
        fips: r.get(5)?,
        lat: r.get(6)?,
        lng: r.get(7)?,
        timezone: r.get(8)?,
        population_benchmark_id: r.get(9)?,
    })
}

impl Store {
    pub fn jurisdiction(&self, id: &str) -> Result<Option<Jurisdiction>> {
        let mut st = self.conn.prepare_cached(queries::GET_JURISDICTION)?;
        Ok(st.query_row(params![id], from_row).optional()?)
    }

    /// Jurisdictions in id order, after the id `after` (cursor) if given.
    pub fn list_jurisdictions(&self, after: Option<&str>, limit: usize) -> Result<Vec<Jurisdiction>> {
        let mut st = self.conn.prepare_cached(queries::LIST_JURISDICTIONS)?;
        let rows = st.query_map(params![after.unwrap_or(""), limit as i64], from_row)?;
        Ok(rows.collect::<duckdb::Result<_>>()?)
    }

    /// Creates the jurisdiction unless one with its id exists (which is then left as it is). Returns whether it
    /// was created.
    pub fn ensure_jurisdiction(&self, j: &Jurisdiction) -> Result<bool> {
        let mut st = self.conn.prepare_cached(queries::INSERT_JURISDICTION_IF_ABSENT)?;
        let n = st.execute(params![
            j.id,
            j.name,
            j.kind,
            j.parent_id,
            j.state,
            j.fips,
            j.lat,
            j.lng,
            j.timezone,
            j.population_benchmark_id
        ])?;
        Ok(n > 0)
    }

    /// Fills the attributes an existing jurisdiction lacks from `j` (a placeholder name equal to the id
    /// counts as lacking).
    pub fn fill_jurisdiction(&self, j: &Jurisdiction) -> Result<()> {
        let mut st = self.conn.prepare_cached(queries::FILL_JURISDICTION)?;
        st.execute(params![j.name, j.kind, j.parent_id, j.state, j.fips, j.lat, j.lng, j.timezone, j.id])?;
        Ok(())
    }

    /// Sets attributes of a jurisdiction, creating it first (name = id, kind other) when there is none with
    /// this id; nothing changes when the changes are refused.
    pub fn set_jurisdiction(&self, id: &str, p: &JurisdictionPatch) -> Result<Jurisdiction> {
        self.conn.execute_batch("BEGIN TRANSACTION")?;
        let out = (|| {
            if self.jurisdiction(id)?.is_none() {
                let new =
                    Jurisdiction { id: id.to_owned(), name: id.to_owned(), kind: "other".into(), ..Default::default() };
                self.ensure_jurisdiction(&new)?;
            }
            self.update_jurisdiction(id, p)
        })();
        self.conn.execute_batch(if out.is_ok() { "COMMIT" } else { "ROLLBACK" })?;
        out
    }

    /// Sets attributes of an existing jurisdiction.
    pub fn update_jurisdiction(&self, id: &str, p: &JurisdictionPatch) -> Result<Jurisdiction> {
        if let Some(b) = &p.population_benchmark_id
            && self.jurisdiction(b)?.is_none()
        {
            return Err(StoreError::Invalid(format!("benchmark jurisdiction {b:?} does not exist")));
        }
        let mut st = self.conn.prepare_cached(queries::UPDATE_JURISDICTION)?;
        let n = st.execute(params![
            p.name,
            p.kind,
            p.parent_id,
            p.state,
            p.fips,
            p.lat,
            p.lng,
            p.timezone,
            p.population_benchmark_id,
            id
        ])?;
        if n == 0 {
            return Err(StoreError::NotFound { what: "jurisdiction", id: id.to_owned() });
        }
        self.jurisdiction(id)?.ok_or_else(|| StoreError::NotFound { what: "jurisdiction", id: id.to_owned() })
    }
}

/// What a jurisdiction has of one dataset: its records and their first and last date.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coverage {
    pub jurisdiction_id: String,
    pub dataset: String,
    pub rows: i64,
    pub date_min: Option<chrono::NaiveDate>,
    pub date_max: Option<chrono::NaiveDate>,
}

impl Store {
    /// Each jurisdiction's records per record dataset (one jurisdiction's, or all), in the datasets' usual order.
    pub fn coverage(&self, jurisdiction: Option<&str>) -> Result<Vec<Coverage>> {
        let mut out = Vec::new();
        use oversight_core::Dataset;
        for dataset in &[Dataset::Stops, Dataset::Detainers, Dataset::CrimeReports, Dataset::Complaints] {
            let table = dataset.main_table().name();
            let date = oversight_core::public::Source::from(*dataset).date_column();
            let sql = format!(
                "SELECT jurisdiction_id, count(*), CAST(min({date}) AS DATE), CAST(max({date}) AS DATE) FROM {table} \
                 WHERE $1::VARCHAR IS NULL OR jurisdiction_id = $1 GROUP BY jurisdiction_id ORDER BY jurisdiction_id"
            );
            let mut st = self.conn.prepare_cached(&sql)?;
            let rows = st.query_map(params![jurisdiction], |r| {
                Ok(Coverage {
                    jurisdiction_id: r.get(0)?,
                    dataset: dataset.as_str().to_owned(),
                    rows: r.get(1)?,
                    date_min: r.get(2)?,
                    date_max: r.get(3)?,
                })
            })?;
            for r in rows {
                out.push(r?);
            }
        }
        Ok(out)
    }
}
