//! Numbered migrations from `sql/migrations`, applied in order and recorded in `schema_migrations`.

use crate::{Result, StoreError};
use duckdb::Connection;

/// Every migration, in order: (version, name, SQL).
pub static MIGRATIONS: &[(u32, &str, &str)] = &[
    (1, "records", include_str!("../../../sql/migrations/0001_records.sql")),
    (2, "settings", include_str!("../../../sql/migrations/0002_settings.sql")),
    (3, "metrics", include_str!("../../../sql/migrations/0003_metrics.sql")),
    (4, "api", include_str!("../../../sql/migrations/0004_api.sql")),
    (5, "schedules", include_str!("../../../sql/migrations/0005_schedules.sql")),
    (6, "import_integrity", include_str!("../../../sql/migrations/0006_import_integrity.sql")),
    (7, "discipline", include_str!("../../../sql/migrations/0007_discipline.sql")),
];

pub(crate) fn migrate(conn: &Connection, path: &std::path::Path) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL DEFAULT current_timestamp)",
    )?;
    let current: i64 = conn.query_row("SELECT coalesce(max(version), 0) FROM schema_migrations", [], |r| r.get(0))?;
    let known = MIGRATIONS.last().map(|m| m.0).unwrap_or(0);
    if current > i64::from(known) {
        return Err(StoreError::TooNew { path: path.to_owned(), found: current, known });
    }
    for &(version, name, sql) in MIGRATIONS {
        if i64::from(version) <= current {
            continue;
        }
        let apply = || -> duckdb::Result<()> {
            conn.execute_batch("BEGIN TRANSACTION")?;
            conn.execute_batch(sql)?;
            conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (?, ?)",
                duckdb::params![version, name],
            )?;
            conn.execute_batch("COMMIT")
        };
        if let Err(source) = apply() {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(StoreError::Migration { version, name, source });
        }
        tracing::info!(version, name, "applied migration");
    }
    Ok(())
}
