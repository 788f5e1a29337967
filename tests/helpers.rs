//! Shared test helpers: the binary, a fresh database per test, the shared real data.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub(crate) fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

/// `../shared/data` beside the checkout, if present. Missing data skips the calling test with a printed
/// reason, except under CI (`CI=true`), where it is a failure.
pub(crate) fn shared_data() -> Option<PathBuf> {
    let dir = repo().join("../shared/data");
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{} is missing and CI=true: the real-data tests cannot run", dir.display());
    }
    eprintln!("skipped: {} is absent (real-data tests need ../shared/data beside the checkout)", dir.display());
    None
}

/// A scratch directory with a database path in it.
pub(crate) struct Scratch {
    pub(crate) dir: tempfile::TempDir,
}

impl Scratch {
    pub(crate) fn new() -> Self {
        Self { dir: tempfile::tempdir().expect("temp dir") }
    }
    pub(crate) fn db(&self) -> PathBuf {
        self.dir.path().join("oversight.duckdb")
    }
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    pub(crate) fn write(&self, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, content).expect("write file");
        p
    }
    /// The `oversight` command on this scratch database.
    pub(crate) fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_oversight"));
        c.env("OVERSIGHT_DB", self.db()).env_remove("OVERSIGHT_CONFIG").env("OVERSIGHT_LOG", "warn");
        c
    }
    /// Runs `oversight ARGS` and returns its output (any exit status).
    pub(crate) fn run(&self, args: &[&str]) -> Run {
        let out = self.cmd().args(args).output().expect("run oversight");
        Run(out)
    }
    /// Runs and asserts success.
    pub(crate) fn ok(&self, args: &[&str]) -> Run {
        let r = self.run(args);
        assert!(
            r.0.status.success(),
            "oversight {args:?} failed ({:?}):\n{}\n{}",
            r.0.status.code(),
            r.stdout(),
            r.stderr()
        );
        r
    }
    /// Opens the database (after the command released it).
    pub(crate) fn store(&self) -> oversight_store::Store {
        oversight_store::Store::open(self.db()).expect("open test database")
    }
}

pub(crate) struct Run(pub(crate) Output);

impl Run {
    pub(crate) fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }
    pub(crate) fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }
    pub(crate) fn code(&self) -> Option<i32> {
        self.0.status.code()
    }
}

pub(crate) fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// A running `oversight serve` (or `demo`), killed when dropped.
pub(crate) struct Server {
    pub(crate) child: std::process::Child,
    /// `http://127.0.0.1:PORT`.
    pub(crate) base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `oversight ARGS --bind 127.0.0.1:0` (in `cwd` if given, with extra environment) and reads the URL
/// from its first line.
pub(crate) fn spawn_server(s: &Scratch, args: &[&str], cwd: Option<&Path>, env: &[(&str, &str)]) -> Server {
    spawn_server_logging(s, args, cwd, env, std::process::Stdio::null())
}

/// [`spawn_server`] with its standard error (the log) going to `log`.
pub(crate) fn spawn_server_logging(
    s: &Scratch,
    args: &[&str],
    cwd: Option<&Path>,
    env: &[(&str, &str)],
    log: std::process::Stdio,
) -> Server {
    use std::io::{BufRead, BufReader};
    let mut cmd = s.cmd();
    cmd.args(args).args(["--bind", "127.0.0.1:0"]).envs(env.iter().copied());
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    let mut child = cmd.stdout(std::process::Stdio::piped()).stderr(log).spawn().expect("start oversight");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("read the listening line");
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("oversight {args:?}: unexpected first line {line:?}"))
        .to_owned();
    Server { child, base }
}

/// An HTTP client that returns error statuses as responses.
pub(crate) fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

/// A tmpfs mounted for a test (root only: `None` otherwise), unmounted when dropped.
pub(crate) struct Tmpfs(pub(crate) PathBuf);

impl Tmpfs {
    pub(crate) fn mount(dir: PathBuf, bytes: u64) -> Option<Self> {
        Self::mount_with(dir, &format!("size={bytes}"))
    }

    /// With mount options (`size=1m,ro`).
    pub(crate) fn mount_with(dir: PathBuf, options: &str) -> Option<Self> {
        std::fs::create_dir_all(&dir).ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs", p(&dir)])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Self(dir))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}
