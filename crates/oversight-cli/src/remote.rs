//! Where an operator's command goes: the database file, or the server that owns it while it runs.
//!
//! `oversight serve` holds the DuckDB file for as long as it runs, and notes its address beside the file
//! (`<db>.server`). A command that reads or writes records (keys, events, jurisdictions, rejects, batches,
//! series, quality, compute) goes to [`Target::Local`] when it can open the file, and to [`Target::Remote`]
//! when `[client] server` (or `OVERSIGHT_SERVER`) names a server or the file is held by a server that left
//! its note; there it is sent through the API with `[client] key` (or `OVERSIGHT_KEY`). Both give the
//! command the same data types, so it prints the same either way.

use crate::config::ClientConfig;
use crate::support::{open, open_writable};
use anyhow::{Context, Result};
use oversight_store::{Store, StoreError};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// What the server answered when it refused a command: its status and its message.
#[derive(Debug)]
pub(crate) struct RemoteError {
    pub(crate) status: u16,
    pub(crate) message: String,
}

impl std::fmt::Display for RemoteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}
impl std::error::Error for RemoteError {}

/// The server could not be reached at all.
#[derive(Debug)]
pub(crate) struct Unreachable(pub(crate) String);

impl std::fmt::Display for Unreachable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for Unreachable {}

/// A running server's API, as one key.
pub(crate) struct Remote {
    pub(crate) base: String,
    key: Option<String>,
    agent: ureq::Agent,
}

/// Where a command goes.
pub(crate) enum Target {
    Local(Store),
    Remote(Remote),
}

/// The note `oversight serve` leaves beside the database while it runs.
pub(crate) fn note_path(db: &Path) -> PathBuf {
    let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".server");
    db.with_file_name(name)
}

/// The address of the server the note beside `db` names, if there is one.
fn noted_server(db: &Path) -> Option<String> {
    let text = std::fs::read_to_string(note_path(db)).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    v["url"].as_str().map(str::to_owned)
}

impl Target {
    /// The server `[client]` names; else the file (`writes`: refused up front when read-only); else, when a
    /// server holds the file, that server.
    pub(crate) fn open(db: &Path, client: &ClientConfig, writes: bool) -> Result<Self> {
        if let Some(server) = &client.server {
            return Ok(Self::Remote(Remote::new(server, client.key.clone())));
        }
        let opened = if writes { open_writable(db) } else { open(db) };
        match opened {
            Ok(s) => Ok(Self::Local(s)),
            Err(e) => {
                let locked = matches!(e.downcast_ref::<StoreError>(), Some(StoreError::Locked { .. }));
                match noted_server(db).filter(|_| locked) {
                    Some(url) => {
                        tracing::info!("{} is held by the server at {url}: sending the command there", db.display());
                        Ok(Self::Remote(Remote::new(&url, client.key.clone())))
                    }
                    None => Err(e),
                }
            }
        }
    }
}

impl Remote {
    pub(crate) fn new(base: &str, key: Option<String>) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(std::time::Duration::from_secs(10)))
            .build()
            .into();
        Self { base: base.trim_end_matches('/').to_owned(), key, agent }
    }

    /// Sends a request; a 2xx answer's body, or the server's refusal as a [`RemoteError`].
    fn call(&self, method: &str, path: &str, body: Option<&Value>, accept: &str) -> Result<String> {
        let url = format!("{}{path}", self.base);
        let mut req = ureq::http::Request::builder().method(method).uri(&url).header("Accept", accept);
        if let Some(k) = &self.key {
            req = req.header("Authorization", format!("Bearer {k}"));
        }
        let sent = match body {
            Some(b) => {
                let req = req.header("Content-Type", "application/json").body(b.to_string()).context("request")?;
                self.agent.run(req)
            }
            None => self.agent.run(req.body(()).context("request")?),
        };
        let resp = sent.map_err(|e| Unreachable(format!("cannot reach the server at {}: {e}", self.base)))?;
        let status = resp.status().as_u16();
        let text = resp.into_body().with_config().limit(1 << 30).read_to_string().unwrap_or_default();
        if (200..300).contains(&status) {
            return Ok(text);
        }
        let said = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
            .unwrap_or(text);
        let hint = match status {
            401 if self.key.is_none() => " (give a key with OVERSIGHT_KEY or `key` in [client] of oversight.toml)",
            _ => "",
        };
        Err(RemoteError { status, message: format!("the server at {} answered {status}: {said}{hint}", self.base) }
            .into())
    }

    pub(crate) fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let text = self.call("GET", path, None, "application/json")?;
        serde_json::from_str(&text).with_context(|| format!("reading the server's answer to GET {path}"))
    }

    /// GET with `Accept: text/csv`: the body as it is.
    pub(crate) fn get_csv(&self, path: &str) -> Result<String> {
        self.call("GET", path, None, "text/csv")
    }

    pub(crate) fn send<T: DeserializeOwned>(&self, method: &str, path: &str, body: Option<&Value>) -> Result<T> {
        let text = self.call(method, path, body, "application/json")?;
        serde_json::from_str(&text).with_context(|| format!("reading the server's answer to {method} {path}"))
    }

    /// Every item of a paged list (`items` and `next_cursor`), following the cursor; `query` without `?`.
    pub(crate) fn all<T: DeserializeOwned>(&self, path: &str, query: &str, at_most: usize) -> Result<Vec<T>> {
        let mut out: Vec<T> = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let limit = (at_most - out.len()).clamp(1, 1000);
            let mut q = format!("limit={limit}");
            if !query.is_empty() {
                q = format!("{query}&{q}");
            }
            if let Some(c) = &cursor {
                q.push_str(&format!("&cursor={}", enc(c)));
            }
            let page: Value = self.get(&format!("{path}?{q}"))?;
            let items: Vec<T> = serde_json::from_value(page["items"].clone())
                .with_context(|| format!("reading the items of GET {path}"))?;
            out.extend(items);
            cursor = page["next_cursor"].as_str().map(str::to_owned);
            if cursor.is_none() || out.len() >= at_most {
                return Ok(out);
            }
        }
    }

    /// Whether the server knows this jurisdiction.
    pub(crate) fn has_jurisdiction(&self, id: &str) -> Result<bool> {
        match self.get::<Value>(&format!("/v1/jurisdictions/{}", enc(id))) {
            Ok(_) => Ok(true),
            Err(e) if e.downcast_ref::<RemoteError>().is_some_and(|r| r.status == 404) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// Percent-encodes a path segment or query value.
pub(crate) fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// `name=value` pairs as a query string (without `?`), values encoded, absent ones left out.
pub(crate) fn query(pairs: &[(&str, Option<String>)]) -> String {
    pairs.iter().filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", enc(v)))).collect::<Vec<_>>().join("&")
}
