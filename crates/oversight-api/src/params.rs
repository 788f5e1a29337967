//! Typed, validated query parameters: an unknown parameter or a bad value is a 400 naming it.

use crate::error::{ApiError, ApiResult};
use chrono::NaiveDate;
use oversight_core::ErrorCode;
use std::collections::HashMap;

/// The upper bound of `limit` on every list.
pub(crate) const MAX_LIMIT: usize = 1000;
pub(crate) const DEFAULT_LIMIT: usize = 100;

/// A request's query parameters, checked against the names an endpoint takes.
#[derive(Debug, Default)]
pub(crate) struct Params {
    values: HashMap<String, String>,
}

impl Params {
    /// Parses `raw` (the query string) and refuses names outside `allowed` and repeated names.
    pub(crate) fn parse(raw: Option<&str>, allowed: &[&str]) -> ApiResult<Self> {
        let mut values = HashMap::new();
        for (k, v) in form_urlencoded(raw.unwrap_or("")) {
            if !allowed.contains(&k.as_str()) {
                let mut e = ApiError::new(
                    ErrorCode::UnknownParameter,
                    format!("{k}: unknown parameter (this endpoint takes: {})", allowed.join(", ")),
                );
                e.details = Some(serde_json::json!({ "parameter": k }));
                return Err(e);
            }
            if values.insert(k.clone(), v).is_some() {
                return Err(ApiError::param(&k, "given more than once"));
            }
        }
        Ok(Self { values })
    }

    /// A present parameter: an empty value is refused.
    pub(crate) fn str(&self, name: &str) -> ApiResult<Option<&str>> {
        match self.values.get(name) {
            None => Ok(None),
            Some(v) if v.trim().is_empty() => Err(ApiError::param(name, "empty value")),
            Some(v) if v.len() > 200 => Err(ApiError::param(name, "longer than 200 characters")),
            Some(v) => Ok(Some(v.as_str())),
        }
    }

    pub(crate) fn required(&self, name: &str) -> ApiResult<&str> {
        self.str(name)?.ok_or_else(|| ApiError::param(name, "required"))
    }

    pub(crate) fn date(&self, name: &str) -> ApiResult<Option<NaiveDate>> {
        self.str(name)?
            .map(|v| {
                NaiveDate::parse_from_str(v, "%Y-%m-%d")
                    .map_err(|_| ApiError::param(name, format!("expected a date (YYYY-MM-DD), got {v:?}")))
            })
            .transpose()
    }

    pub(crate) fn int(&self, name: &str, min: i64, max: i64) -> ApiResult<Option<i64>> {
        self.str(name)?
            .map(|v| match v.parse::<i64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(n),
                _ => Err(ApiError::param(name, format!("expected a whole number from {min} to {max}, got {v:?}"))),
            })
            .transpose()
    }

    pub(crate) fn bool(&self, name: &str) -> ApiResult<bool> {
        match self.str(name)? {
            None | Some("false") | Some("0") => Ok(false),
            Some("true") | Some("1") => Ok(true),
            Some(v) => Err(ApiError::param(name, format!("expected true or false, got {v:?}"))),
        }
    }

    /// One of fixed choices.
    pub(crate) fn choice<'a>(&self, name: &str, choices: &[&'a str]) -> ApiResult<Option<&'a str>> {
        match self.str(name)? {
            None => Ok(None),
            Some(v) => choices
                .iter()
                .find(|c| **c == v)
                .copied()
                .map(Some)
                .ok_or_else(|| ApiError::param(name, format!("expected one of {}, got {v:?}", choices.join(", ")))),
        }
    }

    /// `limit`, bounded.
    pub(crate) fn limit(&self) -> ApiResult<usize> {
        Ok(self.int("limit", 1, MAX_LIMIT as i64)?.map(|n| n as usize).unwrap_or(DEFAULT_LIMIT))
    }

    /// `cursor`: an opaque token this API handed out (an id in hex).
    pub(crate) fn cursor(&self) -> ApiResult<Option<i64>> {
        self.str("cursor")?
            .map(|c| decode_cursor(c).ok_or_else(|| ApiError::param("cursor", "not a cursor this API returned")))
            .transpose()
    }

    /// [from, to] with from ≤ to.
    pub(crate) fn range(&self) -> ApiResult<(Option<NaiveDate>, Option<NaiveDate>)> {
        let (from, to) = (self.date("from")?, self.date("to")?);
        if let (Some(f), Some(t)) = (from, to)
            && f > t
        {
            return Err(ApiError::param("from", format!("{f} is after to={t}")));
        }
        Ok((from, to))
    }
}

pub(crate) fn encode_cursor(id: i64) -> String {
    format!("c{:x}", id)
}

fn decode_cursor(c: &str) -> Option<i64> {
    i64::from_str_radix(c.strip_prefix('c')?, 16).ok()
}

/// Decodes `application/x-www-form-urlencoded` pairs (what a query string holds).
fn form_urlencoded(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => match (b.get(i + 1).and_then(|&c| hex(c)), b.get(i + 2).and_then(|&c| hex(c))) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_and_repeated_parameters_are_refused_by_name() {
        let e = Params::parse(Some("jurisdiction=a&colour=red"), &["jurisdiction"]).unwrap_err();
        assert_eq!(e.code, ErrorCode::UnknownParameter);
        assert!(e.message.starts_with("colour"));
        let e = Params::parse(Some("a=1&a=2"), &["a"]).unwrap_err();
        assert!(e.message.contains("more than once"));
    }

    #[test]
    fn values_are_decoded_and_checked() {
        let p =
            Params::parse(Some("group=race%3Ablack&from=2020-01-01&limit=5&x=%zz"), &["group", "from", "limit", "x"])
                .unwrap();
        assert_eq!(p.str("group").unwrap(), Some("race:black"));
        assert_eq!(p.date("from").unwrap(), NaiveDate::from_ymd_opt(2020, 1, 1));
        assert_eq!(p.limit().unwrap(), 5);
        assert_eq!(p.str("x").unwrap(), Some("%zz"));
        let p = Params::parse(Some("limit=0&from=2020-13-01"), &["limit", "from"]).unwrap();
        assert!(p.limit().is_err());
        assert!(p.date("from").unwrap_err().message.starts_with("from:"));
        assert_eq!(decode_cursor(&encode_cursor(4711)), Some(4711));
    }
}
