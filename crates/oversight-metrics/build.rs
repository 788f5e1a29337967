//! Records the git commit the crate is built from, for the code version every metric run stores.
fn main() {
    // A build without the repository (a container's) is told the commit: `OVERSIGHT_GIT_HASH`.
    println!("cargo:rerun-if-env-changed=OVERSIGHT_GIT_HASH");
    let given = std::env::var("OVERSIGHT_GIT_HASH").ok().filter(|h| !h.trim().is_empty());
    let hash = given
        .or_else(|| {
            std::process::Command::new("git")
                .args(["rev-parse", "--short=12", "HEAD"])
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        })
        .unwrap_or_else(|| "unknown commit".to_owned());
    println!("cargo:rustc-env=OVERSIGHT_GIT_HASH={hash}");
    for p in ["../../.git/HEAD", "../../.git/refs/heads"] {
        if std::path::Path::new(p).exists() {
            println!("cargo:rerun-if-changed={p}");
        }
    }
}
