//! Code and text maps with trimming, case folding and `*` wildcards, memoised per distinct source value.

use rustc_hash::FxHashMap as HashMap;

/// Normal form of a value for map lookups: trimmed, lower case, inner blanks collapsed.
pub(crate) fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for ch in s.trim().chars() {
        if ch.is_whitespace() {
            space = true;
            continue;
        }
        if space && !out.is_empty() {
            out.push(' ');
        }
        space = false;
        for l in ch.to_lowercase() {
            out.push(l);
        }
    }
    out
}

/// `*` matches any run, `?` one character.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let (mut star, mut mark) = (None, 0usize);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// What a map does with a value it lacks.
#[derive(Debug, Clone)]
pub(crate) enum Unmapped<T> {
    Reject,
    Null,
    Keep,
    Value(T),
}

/// Result of a lookup.
#[derive(Debug, Clone)]
pub(crate) enum Lookup<T> {
    Found(T),
    /// The map sends the value to "no value".
    Null,
    /// Not in the map and the field keeps the source text.
    Keep,
    Missing,
}

/// A map from source values to targets.
#[derive(Debug, Clone)]
pub(crate) struct ValueMap<T> {
    exact: HashMap<String, Option<T>>,
    globs: Vec<(String, Option<T>)>,
    pub(crate) unmapped: Unmapped<T>,
    memo: HashMap<String, Lookup<T>>,
    /// Code columns have few distinct values: the first ones are found here without hashing.
    hot: ShortMemo<Lookup<T>>,
}

/// Values up to this long are compared as one 128-bit number.
pub(crate) const SHORT: usize = 16;

/// A value of up to [`SHORT`] bytes, zero-padded, as a number (compare the lengths too).
pub(crate) fn packed(s: &str) -> u128 {
    let mut buf = [0u8; SHORT];
    buf[..s.len()].copy_from_slice(s.as_bytes());
    u128::from_le_bytes(buf)
}

/// What the first few short values a column holds came to, spelled exactly as they were: a column of codes
/// or booleans uses a handful of spellings, which are then found by comparing numbers.
#[derive(Debug, Clone)]
pub(crate) struct ShortMemo<T> {
    entries: Vec<(u128, usize, T)>,
}

impl<T> Default for ShortMemo<T> {
    fn default() -> Self {
        Self { entries: Vec::new() }
    }
}

impl<T> ShortMemo<T> {
    /// How many values it keeps.
    const MAX: usize = 8;

    #[inline]
    pub(crate) fn get(&self, s: &str) -> Option<&T> {
        if s.len() > SHORT {
            return None;
        }
        let (v, n) = (packed(s), s.len());
        self.entries.iter().find(|e| e.0 == v && e.1 == n).map(|e| &e.2)
    }

    /// Keeps `s`'s result if `s` is short and there is room; returns whether it was kept.
    pub(crate) fn keep(&mut self, s: &str, result: T) -> bool {
        if s.len() > SHORT || self.entries.len() >= Self::MAX {
            return false;
        }
        self.entries.push((packed(s), s.len(), result));
        true
    }
}

const MEMO_LIMIT: usize = 100_000;

impl<T: Clone> ValueMap<T> {
    /// `entries` are (source value, target or None for "no value").
    pub(crate) fn new(entries: Vec<(String, Option<T>)>, unmapped: Unmapped<T>) -> Self {
        let mut exact = HashMap::default();
        let mut globs = Vec::new();
        for (k, v) in entries {
            let k = normalize(&k);
            if k.contains('*') || k.contains('?') {
                globs.push((k, v));
            } else {
                exact.insert(k, v);
            }
        }
        Self { exact, globs, unmapped, memo: HashMap::default(), hot: ShortMemo::default() }
    }

    pub(crate) fn lookup(&mut self, raw: &str) -> Lookup<T> {
        if let Some(hit) = self.hot.get(raw) {
            return hit.clone();
        }
        if let Some(hit) = self.memo.get(raw) {
            return hit.clone();
        }
        let key = normalize(raw);
        let found = self
            .exact
            .get(&key)
            .cloned()
            .or_else(|| self.globs.iter().find(|(g, _)| glob_match(g, &key)).map(|(_, v)| v.clone()));
        let res = match found {
            Some(Some(v)) => Lookup::Found(v),
            Some(None) => Lookup::Null,
            None => match &self.unmapped {
                Unmapped::Reject => Lookup::Missing,
                Unmapped::Null => Lookup::Null,
                Unmapped::Keep => Lookup::Keep,
                Unmapped::Value(v) => Lookup::Found(v.clone()),
            },
        };
        if !self.hot.keep(raw, res.clone()) && self.memo.len() < MEMO_LIMIT {
            self.memo.insert(raw.to_owned(), res.clone());
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_fold_case_and_blanks_and_fall_back_to_wildcards() {
        let mut m = ValueMap::new(
            vec![("Task Force Model".into(), Some("tf")), ("* Mexico".into(), Some("mexico")), ("NA".into(), None)],
            Unmapped::Reject,
        );
        assert!(matches!(m.lookup("task  force model "), Lookup::Found("tf")));
        assert!(matches!(m.lookup("Guanajuato, Mexico"), Lookup::Found("mexico")));
        assert!(matches!(m.lookup("na"), Lookup::Null));
        assert!(matches!(m.lookup("Texas"), Lookup::Missing));
        assert!(matches!(m.lookup("Texas"), Lookup::Missing));
    }

    #[test]
    fn globs_match_runs_and_single_characters() {
        assert!(glob_match("*charges*", "travis_detainer_charges.csv"));
        assert!(glob_match("f?", "f1"));
        assert!(!glob_match("f?", "f12"));
        assert!(glob_match("*", ""));
        assert!(!glob_match("a*b", "acd"));
    }
}
