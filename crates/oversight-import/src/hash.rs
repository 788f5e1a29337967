//! Hashes: file identity (sha256) and the keyed hash applied to officer identifiers.

use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// sha256 of a file's bytes, and its length.
pub(crate) fn sha256_file(path: &Path) -> std::io::Result<(String, u64)> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf)?;
        if k == 0 {
            break;
        }
        n += k as u64;
        h.update(&buf[..k]);
    }
    Ok((hex::encode(h.finalize()), n))
}

/// The identity of a multi-file input: sha256 over `role:sha256` lines in role order. A single file's
/// identity is its own sha256, so it can be checked with `sha256sum`.
pub(crate) fn combined_sha256(files: &[(String, String)]) -> String {
    if let [(_, sha)] = files {
        return sha.clone();
    }
    let mut h = Sha256::new();
    for (role, sha) in files {
        h.update(role.as_bytes());
        h.update(b":");
        h.update(sha.as_bytes());
        h.update(b"\n");
    }
    hex::encode(h.finalize())
}

/// Keyed hash of an identifier: the first 16 hex digits of sha256(key ":" value). The key is per database,
/// so the same officer maps to the same value within it, and the raw id cannot be recovered by hashing
/// guesses without the key.
#[derive(Debug, Clone)]
pub(crate) struct KeyedHasher {
    prefix: Sha256,
    /// Identifiers repeat (an officer makes many stops): hash each once, and share the text.
    memo: rustc_hash::FxHashMap<String, std::sync::Arc<str>>,
}

impl KeyedHasher {
    pub(crate) fn new(key: &str) -> Self {
        let mut prefix = Sha256::new();
        prefix.update(key.as_bytes());
        prefix.update(b":");
        Self { prefix, memo: Default::default() }
    }

    pub(crate) fn hash(&mut self, value: &str) -> std::sync::Arc<str> {
        if let Some(h) = self.memo.get(value) {
            return h.clone();
        }
        let mut h = self.prefix.clone();
        h.update(value.as_bytes());
        let out: std::sync::Arc<str> = hex::encode(&h.finalize()[..8]).into();
        if self.memo.len() < 1_000_000 {
            self.memo.insert(value.to_owned(), out.clone());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_hashes_depend_on_the_key_and_are_stable() {
        let mut a = KeyedHasher::new("k1");
        let mut b = KeyedHasher::new("k2");
        assert_eq!(a.hash("15646"), a.hash("15646"));
        assert_ne!(a.hash("15646"), b.hash("15646"));
        assert_eq!(a.hash("x").len(), 16);
    }

    #[test]
    fn a_single_file_is_identified_by_its_own_hash() {
        assert_eq!(combined_sha256(&[("main".into(), "abc".into())]), "abc");
        assert_ne!(combined_sha256(&[("a".into(), "1".into()), ("b".into(), "2".into())]), "1");
    }
}
