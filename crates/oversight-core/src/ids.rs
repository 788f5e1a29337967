//! Identifiers shared across layers.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A malformed identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} {value:?} is not valid: {reason}")]
pub struct IdError {
    pub what: &'static str,
    pub value: String,
    pub reason: &'static str,
}

/// A jurisdiction id: a short lower-case slug such as `ct-hartford` or `county-09003`.
///
/// Allowed characters are `a-z`, `0-9`, `-`, `_` and `.`; at most 120 characters. [`JurisdictionId::slug`]
/// turns free text (an agency name) into one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct JurisdictionId(String);

impl JurisdictionId {
    pub fn new(s: impl Into<String>) -> Result<Self, IdError> {
        let s = s.into();
        let err = |reason| IdError { what: "jurisdiction id", value: s.clone(), reason };
        if s.is_empty() {
            return Err(err("it is empty"));
        }
        if s.len() > 120 {
            return Err(err("it is longer than 120 characters"));
        }
        if !s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.')) {
            return Err(err("use only lower-case letters, digits, '-', '_' and '.'"));
        }
        Ok(Self(s))
    }

    /// Turns free text into an id: lower case, accents dropped, every run of other characters made one `-`.
    pub fn slug(text: &str) -> Result<Self, IdError> {
        let mut out = String::with_capacity(text.len());
        let mut dash = false;
        for ch in text.chars() {
            let ch = fold_accent(ch);
            if ch.is_ascii_alphanumeric() {
                out.push(ch.to_ascii_lowercase());
                dash = false;
            } else if ch == '\'' || ch == '\u{2019}' {
                // "Sheriff's" -> "sheriffs"
            } else if !dash && !out.is_empty() {
                out.push('-');
                dash = true;
            }
        }
        while out.ends_with('-') {
            out.pop();
        }
        out.truncate(120);
        Self::new(out)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn fold_accent(c: char) -> char {
    match c {
        'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' | 'Á' | 'À' | 'Â' | 'Ä' | 'Ã' | 'Å' => 'a',
        'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' | 'Ê' | 'Ë' => 'e',
        'í' | 'ì' | 'î' | 'ï' | 'Í' | 'Ì' | 'Î' | 'Ï' => 'i',
        'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'Ó' | 'Ò' | 'Ô' | 'Ö' | 'Õ' => 'o',
        'ú' | 'ù' | 'û' | 'ü' | 'Ú' | 'Ù' | 'Û' | 'Ü' => 'u',
        'ñ' | 'Ñ' => 'n',
        'ç' | 'Ç' => 'c',
        other => other,
    }
}

impl fmt::Display for JurisdictionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for JurisdictionId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<String> for JurisdictionId {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl From<JurisdictionId> for String {
    fn from(id: JurisdictionId) -> String {
        id.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_fold_case_accents_apostrophes_and_punctuation() {
        let id = JurisdictionId::slug("ALABAMA / Colbert County Sheriff's Office").unwrap();
        assert_eq!(id.as_str(), "alabama-colbert-county-sheriffs-office");
        assert_eq!(JurisdictionId::slug("Doña Ana County, New Mexico").unwrap().as_str(), "dona-ana-county-new-mexico");
    }

    #[test]
    fn ids_with_upper_case_or_spaces_are_refused_with_the_reason() {
        let e = JurisdictionId::new("CT Hartford").unwrap_err();
        assert!(e.to_string().contains("lower-case"), "{e}");
        assert!(JurisdictionId::new("").is_err());
        assert!(JurisdictionId::new("ct-hartford").is_ok());
    }
}
