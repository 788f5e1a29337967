//! Query parameters as typed structs: `Query<T>` deserialises the query string into `T` (whose fields are the
//! names the endpoint takes, documented by its `IntoParams`), and every refusal is the project's error body
//! naming the parameter: an unknown name (listing the ones the endpoint takes), a name given twice, an empty
//! or over-long value, a value of the wrong kind, a missing required one.

use crate::error::{ApiError, ApiResult};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::NaiveDate;
use oversight_core::ErrorCode;
use serde::de::{self, DeserializeOwned, Deserializer, IntoDeserializer, MapAccess, Visitor};
use std::fmt;

/// `limit` of a list when none is given (at most 1,000: `PageQuery`).
pub(crate) const DEFAULT_LIMIT: usize = 100;

/// The longest value a parameter may have.
const MAX_VALUE_LEN: usize = 200;

/// An endpoint's query parameters, typed. `T` is a struct (with `#[serde(default)]` or `Option` fields for the
/// optional ones); its field names are the only names accepted.
pub(crate) struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parse(parts.uri.query()).map(Query)
    }
}

/// Parses a query string into `T`.
pub(crate) fn parse<T: DeserializeOwned>(raw: Option<&str>) -> ApiResult<T> {
    let pairs = form_urlencoded(raw.unwrap_or(""));
    T::deserialize(Pairs { pairs }).map_err(QueryError::into_api)
}

/// Parses a query string whose parameters are `T`'s fields (`known`, as `T` spells them) and any others,
/// which come back as pairs for the caller to read (an extract's row filters). A repeated, empty or over-long
/// parameter is refused either way.
pub(crate) fn parse_open<T: DeserializeOwned>(
    raw: Option<&str>,
    known: &[&str],
) -> ApiResult<(T, Vec<(String, String)>)> {
    let (mine, rest): (Vec<_>, Vec<_>) =
        form_urlencoded(raw.unwrap_or("")).into_iter().partition(|(k, _)| known.contains(&k.as_str()));
    for (i, (name, value)) in rest.iter().enumerate() {
        let refuse = |message: &str| QueryError::Param { name: name.clone(), message: message.into() }.into_api();
        if rest[..i].iter().any(|(n, _)| n == name) {
            return Err(refuse("given more than once"));
        }
        if value.trim().is_empty() {
            return Err(refuse("empty value"));
        }
        if value.len() > MAX_VALUE_LEN {
            return Err(refuse("longer than 200 characters"));
        }
    }
    let t = T::deserialize(Pairs { pairs: mine }).map_err(QueryError::into_api)?;
    Ok((t, rest))
}

/// Why a query string was refused, with the parameter at fault where there is one.
#[derive(Debug)]
pub(crate) enum QueryError {
    Unknown {
        name: String,
        takes: &'static [&'static str],
    },
    Param {
        name: String,
        message: String,
    },
    /// A value's own complaint, before [`Pairs`] adds which parameter it was.
    Value(String),
}

impl QueryError {
    fn into_api(self) -> ApiError {
        match self {
            Self::Unknown { name, takes } => {
                let mut e = ApiError::new(
                    ErrorCode::UnknownParameter,
                    format!("{name}: unknown parameter (this endpoint takes: {})", takes.join(", ")),
                );
                e.details = Some(serde_json::json!({ "parameter": name }));
                e
            }
            Self::Param { name, message } => ApiError::param(&name, message),
            Self::Value(m) => ApiError::new(ErrorCode::InvalidParameter, m),
        }
    }
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unknown { name, .. } => write!(f, "{name}: unknown parameter"),
            Self::Param { name, message } => write!(f, "{name}: {message}"),
            Self::Value(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for QueryError {}

impl de::Error for QueryError {
    fn custom<M: fmt::Display>(msg: M) -> Self {
        Self::Value(msg.to_string())
    }
    fn missing_field(field: &'static str) -> Self {
        Self::Param { name: field.to_owned(), message: "required".into() }
    }
    fn duplicate_field(field: &'static str) -> Self {
        Self::Param { name: field.to_owned(), message: "given more than once".into() }
    }
    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        Self::Value(format!("expected one of {}, got {variant:?}", expected.join(", ")))
    }
}

/// The query string's pairs, deserialised as a struct.
struct Pairs {
    pairs: Vec<(String, String)>,
}

impl<'de> Deserializer<'de> for Pairs {
    type Error = QueryError;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, QueryError> {
        Err(QueryError::Value("query parameters are read into a struct".into()))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, QueryError> {
        let mut seen: Vec<&str> = Vec::with_capacity(self.pairs.len());
        for (name, value) in &self.pairs {
            if !fields.contains(&name.as_str()) {
                return Err(QueryError::Unknown { name: name.clone(), takes: fields });
            }
            if seen.contains(&name.as_str()) {
                return Err(QueryError::Param { name: name.clone(), message: "given more than once".into() });
            }
            seen.push(name);
            let refuse = |message: &str| QueryError::Param { name: name.clone(), message: message.into() };
            if value.trim().is_empty() {
                return Err(refuse("empty value"));
            }
            if value.len() > MAX_VALUE_LEN {
                return Err(refuse("longer than 200 characters"));
            }
        }
        visitor.visit_map(PairsAccess { pairs: self.pairs.into_iter(), current: None })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

struct PairsAccess {
    pairs: std::vec::IntoIter<(String, String)>,
    current: Option<(String, String)>,
}

impl<'de> MapAccess<'de> for PairsAccess {
    type Error = QueryError;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, QueryError> {
        let Some((name, value)) = self.pairs.next() else { return Ok(None) };
        let key = seed.deserialize(name.as_str().into_deserializer())?;
        self.current = Some((name, value));
        Ok(Some(key))
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, QueryError> {
        let (name, value) = self.current.take().ok_or_else(|| QueryError::Value("a value without a name".into()))?;
        seed.deserialize(Value(&value)).map_err(|e| match e {
            QueryError::Value(message) => QueryError::Param { name, message },
            other => other,
        })
    }
}

/// One parameter's value: text that reads as whatever the field's type asks for.
struct Value<'a>(&'a str);

impl Value<'_> {
    fn wrong(&self, expected: &str) -> QueryError {
        QueryError::Value(format!("expected {expected}, got {:?}", self.0))
    }
}

macro_rules! integer {
    ($($method:ident => $visit:ident: $t:ty),*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, QueryError> {
            match self.0.parse::<$t>() {
                Ok(n) => visitor.$visit(n),
                Err(_) => Err(self.wrong("a whole number")),
            }
        }
    )*};
}

impl<'de> Deserializer<'de> for Value<'_> {
    type Error = QueryError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, QueryError> {
        visitor.visit_str(self.0)
    }
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, QueryError> {
        visitor.visit_some(self)
    }
    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, QueryError> {
        match self.0 {
            "true" | "1" => visitor.visit_bool(true),
            "false" | "0" => visitor.visit_bool(false),
            _ => Err(self.wrong("true or false")),
        }
    }
    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, QueryError> {
        match self.0.parse::<f64>() {
            Ok(x) if x.is_finite() => visitor.visit_f64(x),
            _ => Err(self.wrong("a number")),
        }
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value, QueryError> {
        visitor.visit_newtype_struct(self)
    }
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, QueryError> {
        visitor.visit_enum(self.0.into_deserializer())
    }

    integer!(deserialize_i32 => visit_i32: i32, deserialize_i64 => visit_i64: i64, deserialize_u32 => visit_u32: u32,
        deserialize_u64 => visit_u64: u64);

    serde::forward_to_deserialize_any! {
        i8 i16 i128 u8 u16 u128 f32 char str string bytes byte_buf unit unit_struct seq tuple tuple_struct map
        struct identifier ignored_any
    }
}

// ------------------------------------------------------------------ value types shared by endpoints

/// `from` / `to`: a calendar date.
pub(crate) fn date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
    let s = String::deserialize(d)?;
    NaiveDate::parse_from_str(&s, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| de::Error::custom(format!("expected a date (YYYY-MM-DD), got {s:?}")))
}

use serde::Deserialize;

/// A whole number in [MIN, MAX].
pub(crate) fn int_in<'de, const MIN: i64, const MAX: i64, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let s = String::deserialize(d)?;
    match s.parse::<i64>() {
        Ok(n) if (MIN..=MAX).contains(&n) => Ok(Some(n)),
        _ => Err(de::Error::custom(format!("expected a whole number from {MIN} to {MAX}, got {s:?}"))),
    }
}

/// `limit` and `cursor` of a list.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct PageQuery {
    /// At most this many items (1 to 1000, default 100).
    #[serde(default, deserialize_with = "int_in::<1, 1000, _>")]
    #[param(value_type = Option<usize>, minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    #[serde(default, deserialize_with = "cursor")]
    #[param(value_type = Option<String>)]
    pub cursor: Option<i64>,
}

impl PageQuery {
    pub(crate) fn limit(&self) -> usize {
        limit(self.limit)
    }
}

/// A list's `limit`, or the default.
pub(crate) fn limit(given: Option<i64>) -> usize {
    given.map(|n| n as usize).unwrap_or(DEFAULT_LIMIT)
}

/// `cursor`: an opaque token this API handed out (an id in hex).
pub(crate) fn cursor<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let s = String::deserialize(d)?;
    decode_cursor(&s).map(Some).ok_or_else(|| de::Error::custom("not a cursor this API returned"))
}

/// [from, to] with from ≤ to.
pub(crate) fn range(
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> ApiResult<(Option<NaiveDate>, Option<NaiveDate>)> {
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(ApiError::param("from", format!("{f} is after to={t}")));
    }
    Ok((from, to))
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

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Q {
        jurisdiction: String,
        #[serde(default, deserialize_with = "date")]
        from: Option<NaiveDate>,
        #[serde(default, deserialize_with = "int_in::<1, 1000, _>")]
        limit: Option<i64>,
        #[serde(default)]
        flag: bool,
        group: Option<String>,
    }

    fn err(raw: &str) -> ApiError {
        parse::<Q>(Some(raw)).unwrap_err()
    }

    #[test]
    fn unknown_repeated_missing_and_empty_parameters_are_refused_by_name() {
        let e = err("jurisdiction=a&colour=red");
        assert_eq!(e.code, ErrorCode::UnknownParameter);
        assert_eq!(
            e.message,
            "colour: unknown parameter (this endpoint takes: jurisdiction, from, limit, flag, group)"
        );
        assert_eq!(e.details.unwrap()["parameter"], "colour");
        let e = err("jurisdiction=a&jurisdiction=b");
        assert_eq!((e.code, e.message.as_str()), (ErrorCode::InvalidParameter, "jurisdiction: given more than once"));
        assert_eq!(err("from=2020-01-01").message, "jurisdiction: required");
        assert_eq!(err("jurisdiction=").message, "jurisdiction: empty value");
        assert!(err(&format!("jurisdiction={}", "x".repeat(201))).message.ends_with("longer than 200 characters"));
    }

    #[test]
    fn values_are_decoded_and_checked_naming_the_parameter() {
        let q: Q = parse(Some("jurisdiction=a&group=race%3Ablack&from=2020-01-01&limit=5&flag=true")).unwrap();
        assert_eq!((q.jurisdiction.as_str(), q.group.as_deref()), ("a", Some("race:black")));
        assert_eq!(q.from, NaiveDate::from_ymd_opt(2020, 1, 1));
        assert_eq!((q.limit, q.flag), (Some(5), true));
        let e = err("jurisdiction=a&from=2020-13-01");
        assert_eq!(e.message, "from: expected a date (YYYY-MM-DD), got \"2020-13-01\"");
        assert_eq!(e.details.unwrap()["parameter"], "from");
        assert_eq!(err("jurisdiction=a&limit=0").message, "limit: expected a whole number from 1 to 1000, got \"0\"");
        assert_eq!(err("jurisdiction=a&flag=maybe").message, "flag: expected true or false, got \"maybe\"");
        assert_eq!(decode_cursor(&encode_cursor(4711)), Some(4711));
    }

    #[test]
    fn an_enum_parameter_lists_its_values() {
        #[derive(Debug, serde::Deserialize)]
        struct G {
            grain: Option<oversight_core::Grain>,
        }
        let g: G = parse(Some("grain=week")).unwrap();
        assert_eq!(g.grain, Some(oversight_core::Grain::Week));
        let e = parse::<G>(Some("grain=fortnight")).unwrap_err();
        assert_eq!(e.message, "grain: expected one of week, month, quarter, year, all, got \"fortnight\"");
    }
}
