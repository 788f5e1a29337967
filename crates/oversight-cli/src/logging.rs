//! The log on standard error: `OVERSIGHT_LOG`, else `[log] level`, else `info` for the server and `warn`
//! for other commands; text or JSON lines (`[log] format`), times in UTC, colours only on a terminal.
//!
//! A server writes a line per request. Handing each line to a writer thread costs a wake-up (a system call
//! and a context switch) per request, and writing each one directly a system call: together most of what a
//! cached read costs. So the server's lines go into a shared buffer that is written out when it holds
//! 64 KiB, and by a flusher thread every 100 ms otherwise (a line reaches the log within 100 ms), and when
//! the server ends. Other commands write each line at once, so their log and their messages keep order.

use crate::config::{LogConfig, LogFormat};
use crate::support::refuse;
use anyhow::Result;
use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

/// Past this, a writer writes the buffer out itself.
const FULL: usize = 64 << 10;
const EVERY: std::time::Duration = std::time::Duration::from_millis(100);

/// Lines waiting to be written to standard error.
#[derive(Clone, Default)]
struct Batched(Arc<Mutex<Vec<u8>>>);

impl Batched {
    /// Adds a line; writes the buffer out when it is full.
    fn push(&self, line: &[u8]) -> std::io::Result<()> {
        let full = {
            let mut buf = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            buf.extend_from_slice(line);
            (buf.len() >= FULL).then(|| std::mem::take(&mut *buf))
        };
        match full {
            Some(out) => std::io::stderr().lock().write_all(&out),
            None => Ok(()),
        }
    }

    fn flush_now(&self) {
        let out = std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner));
        if !out.is_empty() {
            let _ = std::io::stderr().lock().write_all(&out);
        }
    }
}

impl Write for Batched {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        self.push(line)?;
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Batched {
    type Writer = Batched;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Writes out what the server's log holds when dropped (at the end of the command).
pub(crate) struct LogGuard(Option<Batched>);

/// The server's log buffer and format, once [`init`] made them.
static SERVER_LOG: std::sync::OnceLock<(Batched, LogFormat)> = std::sync::OnceLock::new();

/// The server's access lines, written straight into the log's buffer in the log's format (the same fields
/// as an `info` event of target `oversight::access`), when that target logs at `info`.
pub(crate) fn access_sink() -> Option<Box<dyn oversight_api::AccessSink>> {
    let (batched, format) = SERVER_LOG.get()?.clone();
    let on = tracing::enabled!(target: "oversight::access", tracing::Level::INFO);
    on.then(|| {
        Box::new(AccessWriter { batched, json: format == LogFormat::Json }) as Box<dyn oversight_api::AccessSink>
    })
}

struct AccessWriter {
    batched: Batched,
    json: bool,
}

thread_local! {
    /// A thread's access line as it is made, and the second its timestamp prefix was made for.
    static LINE: std::cell::RefCell<(String, i64, String)> = const { std::cell::RefCell::new((String::new(), i64::MIN, String::new())) };
}

impl oversight_api::AccessSink for AccessWriter {
    fn line(&self, a: &oversight_api::AccessLine<'_>) {
        LINE.with_borrow_mut(|(s, second, prefix)| {
            s.clear();
            let now = chrono::Utc::now();
            if now.timestamp() != *second {
                *second = now.timestamp();
                *prefix = now.format("%Y-%m-%dT%H:%M:%S").to_string();
            }
            self.format(s, &format_args!("{prefix}.{:06}Z", now.timestamp_subsec_micros()), a);
            let _ = self.batched.push(s.as_bytes());
        });
    }
}

impl AccessWriter {
    fn format(&self, s: &mut String, now: &std::fmt::Arguments<'_>, a: &oversight_api::AccessLine<'_>) {
        use std::fmt::Write as _;
        if self.json {
            let q = |v: &str| serde_json::to_string(v).unwrap_or_else(|_| "\"\"".into());
            let _ = writeln!(
                s,
                r#"{{"timestamp":"{now}","level":"INFO","target":"oversight::access","request_id":{},"method":{},"path":{},"status":{},"duration_ms":{},"key":{}}}"#,
                q(a.request_id),
                q(a.method),
                q(a.path),
                a.status,
                a.duration_ms,
                q(a.key)
            );
        } else {
            let _ = writeln!(
                s,
                "{now}  INFO oversight::access: request_id={} method={} path={} status={} duration_ms={} key={:?}",
                a.request_id, a.method, a.path, a.status, a.duration_ms, a.key
            );
        }
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        if let Some(b) = &self.0 {
            b.flush_now();
        }
    }
}

/// Installs the log; `serving`: the server's batched writer and `info` by default.
pub(crate) fn init(cfg: &LogConfig, serving: bool) -> Result<LogGuard> {
    let level = std::env::var("OVERSIGHT_LOG")
        .ok()
        .or_else(|| cfg.level.clone())
        .unwrap_or_else(|| if serving { "info" } else { "warn" }.to_owned());
    let filter = match tracing_subscriber::EnvFilter::try_new(&level) {
        Ok(f) => f,
        Err(e) => return refuse(format!("[log] level {level:?}: {e}")),
    };
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(ansi);
    macro_rules! install {
        ($b:expr) => {{
            let b = $b;
            let _ = match cfg.format {
                LogFormat::Text => b.try_init(),
                LogFormat::Json => {
                    b.json().flatten_event(true).with_current_span(true).with_span_list(false).try_init()
                }
            };
        }};
    }
    if !serving {
        install!(builder.with_writer(std::io::stderr));
        return Ok(LogGuard(None));
    }
    let batched = Batched::default();
    let flusher = batched.clone();
    std::thread::Builder::new().name("log-flush".into()).spawn(move || {
        loop {
            std::thread::sleep(EVERY);
            flusher.flush_now();
        }
    })?;
    install!(builder.with_writer(batched.clone()));
    let _ = SERVER_LOG.set((batched.clone(), cfg.format));
    Ok(LogGuard(Some(batched)))
}
