//! The files of a folder an import takes (`oversight import --dir`, uploads, scheduled runs).

use std::path::{Path, PathBuf};

/// The regular files of `dir` whose names do not start with a dot and that `keep` accepts, in name order.
pub fn files_in(dir: &Path, keep: impl Fn(&str) -> bool) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
            !name.starts_with('.') && keep(&name)
        })
        .collect();
    files.sort();
    Ok(files)
}
