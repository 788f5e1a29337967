//! Configuration, in layers: defaults, then `oversight.toml` (or `--config` / `OVERSIGHT_CONFIG`), then
//! environment variables `OVERSIGHT__SECTION__KEY`, then command-line flags. This is the one place that reads
//! environment variables for settings.

use anyhow::{Context, Result, bail};
use oversight_metrics::{AnalysisConfig, MetricsConfig};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Every setting.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Settings {
    /// Database file (`--db` and `OVERSIGHT_DB` win).
    pub(crate) db: Option<PathBuf>,
    /// `[database]`: DuckDB's own limits for commands (the server has `[api] database_memory`).
    pub(crate) database: DatabaseConfig,
    pub(crate) metrics: MetricsConfig,
    pub(crate) analysis: AnalysisConfig,
    pub(crate) api: oversight_api::ApiConfig,
    /// `[import]`: when an import is not a success.
    pub(crate) import: oversight_import::ImportConfig,
    /// `[[schedule]]` entries: imports `oversight serve` runs on a cron schedule.
    pub(crate) schedule: Vec<oversight_api::ScheduleConfig>,
    /// `[log]`: how the log is written.
    pub(crate) log: LogConfig,
    /// `[client]`: the running server commands go through (`OVERSIGHT_SERVER` and `OVERSIGHT_KEY` win).
    pub(crate) client: ClientConfig,
    /// The file given with --config / OVERSIGHT_CONFIG, to read again (a server's schedules on SIGHUP).
    #[serde(skip)]
    pub(crate) explicit: Option<PathBuf>,
}

/// `[database]`: how commands open the database.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct DatabaseConfig {
    /// DuckDB's memory limit for every command but `serve` (DuckDB spills to a temporary directory beyond it);
    /// default `"2GB"`, so an import or compute of 100 million records stays within 4 GiB in all.
    pub(crate) memory: String,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self { memory: "2GB".into() }
    }
}

/// `[client]`: where a running server is and the key to send. Without `server`, a command opens the
/// database file, and when a server holds it, goes through that server (it notes its address beside the
/// file, `<db>.server`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct ClientConfig {
    /// The server's URL (`http://127.0.0.1:8080`).
    pub(crate) server: Option<String>,
    /// The API key commands are sent with (the role each command needs: analyst for writes, admin for keys).
    pub(crate) key: Option<String>,
}

/// `[log]`: the log goes to standard error, one line per event, times in UTC (RFC 3339, `Z`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct LogConfig {
    /// `text` (default) or `json` (one JSON object per line, for a log collector).
    pub(crate) format: LogFormat,
    /// A level (`error`, `warn`, `info`, `debug`) or a filter (`info,oversight_api=debug`); default `info`
    /// for `serve` and `demo` (an access line per request), `warn` for other commands. `OVERSIGHT_LOG` wins.
    pub(crate) level: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Loads settings: `explicit` (from --config or OVERSIGHT_CONFIG) must exist; otherwise `./oversight.toml`
/// is read if present.
pub(crate) fn load(explicit: Option<&Path>) -> Result<Settings> {
    let (path, required) = match explicit {
        Some(p) => (p.to_owned(), true),
        None => (PathBuf::from("oversight.toml"), false),
    };
    let mut value: toml::Table = if path.exists() {
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        text.parse().with_context(|| format!("{} is not valid TOML", path.display()))?
    } else if required {
        bail!("configuration file {} does not exist", path.display());
    } else {
        toml::Table::new()
    };
    apply_env(&mut value, std::env::vars())?;
    let mut settings: Settings = toml::Value::Table(value)
        .try_into()
        .with_context(|| format!("invalid configuration (file {}, and OVERSIGHT__* variables)", path.display()))?;
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    if let Some(s) = var("OVERSIGHT_SERVER") {
        settings.client.server = Some(s);
    }
    if let Some(k) = var("OVERSIGHT_KEY") {
        settings.client.key = Some(k);
    }
    settings.explicit = explicit.map(Path::to_path_buf);
    Ok(settings)
}

/// Applies `OVERSIGHT__SECTION__KEY=value` overrides (values read as TOML scalars where they parse, else text).
fn apply_env(table: &mut toml::Table, vars: impl Iterator<Item = (String, String)>) -> Result<()> {
    for (k, v) in vars {
        let Some(rest) = k.strip_prefix("OVERSIGHT__") else { continue };
        let path: Vec<String> = rest.split("__").map(|s| s.to_ascii_lowercase()).collect();
        if path.iter().any(String::is_empty) {
            bail!("environment variable {k}: empty section or key");
        }
        let parsed: toml::Value = format!("x = {v}")
            .parse::<toml::Table>()
            .ok()
            .and_then(|t| t.get("x").cloned())
            .unwrap_or(toml::Value::String(v.clone()));
        let mut cur = &mut *table;
        for (i, seg) in path.iter().enumerate() {
            if i + 1 == path.len() {
                cur.insert(seg.clone(), parsed.clone());
            } else {
                let entry = cur.entry(seg.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
                cur = match entry {
                    toml::Value::Table(t) => t,
                    _ => bail!("environment variable {k}: {seg} is not a section"),
                };
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_variables_override_the_file_section_by_section() {
        let mut t: toml::Table = "[metrics]\nsuppression_threshold = 11\nreference_group = 'white'\n".parse().unwrap();
        let vars = vec![
            ("OVERSIGHT__METRICS__SUPPRESSION_THRESHOLD".to_owned(), "5".to_owned()),
            ("OVERSIGHT__METRICS__REFERENCE_GROUP".to_owned(), "black".to_owned()),
            ("UNRELATED".to_owned(), "x".to_owned()),
        ];
        apply_env(&mut t, vars.into_iter()).unwrap();
        let s: Settings = toml::Value::Table(t).try_into().unwrap();
        assert_eq!(s.metrics.suppression_threshold, 5);
        assert_eq!(s.metrics.reference_group, "black");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let t: toml::Table = "[metrics]\nsupression_threshold = 5\n".parse().unwrap();
        assert!(toml::Value::Table(t).try_into::<Settings>().is_err());
    }
}
