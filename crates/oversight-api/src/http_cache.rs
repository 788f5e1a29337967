//! HTTP that dashboards and browsers can cache: every successful read of `/v1/…` carries an `ETag` made of
//! the server's start and the database's write generation (and the representation asked for), and a
//! request whose `If-None-Match` holds it gets `304 Not Modified` without running the read; nothing changes
//! between writes, and every write (an import, a recompute, a policy event) moves the generation on.
//! `Cache-Control: no-cache` lets a cache keep the response and ask again each time (a 304 is cheap).

use crate::state::AppState;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The tag of a read at `generation`: weak (the same data compressed or not), and different per `Accept`.
fn etag(boot: u32, generation: u64, accept: Option<&HeaderValue>) -> String {
    let accept = accept
        .map_or(0u32, |a| a.as_bytes().iter().fold(2166136261u32, |h, b| (h ^ u32::from(*b)).wrapping_mul(16777619)));
    format!("W/\"{boot:08x}-{generation}-{accept:08x}\"")
}

/// Whether `If-None-Match` holds the tag (compared weakly, as RFC 9110 says for `If-None-Match`), or `*`.
fn matches(headers: &HeaderMap, tag: &str) -> bool {
    let weak = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    let want = weak(tag);
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|t| t.trim() == "*" || weak(t) == want))
}

fn cache_headers(h: &mut HeaderMap, tag: Option<&str>, public: bool) {
    if let Some(v) = tag.and_then(|t| HeaderValue::from_str(t).ok()) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if public { "public, no-cache" } else { "private, no-cache" }),
    );
    h.append(header::VARY, HeaderValue::from_static("Accept, Accept-Encoding"));
}

/// A read's tag, made before it runs (see [`before`]).
pub(crate) struct Conditional {
    tag: String,
    generation: u64,
    public: bool,
}

/// Before a request: for a read of `/v1/…`, its tag, or — when `If-None-Match` already holds it — the 304
/// to answer instead of running it.
pub(crate) async fn before(
    state: &AppState,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
) -> Result<Option<Conditional>, Response> {
    if !matches!(*method, Method::GET | Method::HEAD) || !path.starts_with("/v1/") {
        return Ok(None);
    }
    let public = state.cfg().public_reads && !headers.contains_key(header::AUTHORIZATION);
    let generation = state.generation();
    let tag = etag(state.0.boot, generation, headers.get(header::ACCEPT));
    if headers.contains_key(header::IF_NONE_MATCH) && matches(headers, &tag) {
        // The key is still checked: a 304 says nothing a 401 would not, but a read that needs a key needs it.
        if let Err(e) = state.authorize(headers, None).await {
            return Err(e.into_response());
        }
        let mut resp = StatusCode::NOT_MODIFIED.into_response();
        cache_headers(resp.headers_mut(), Some(&tag), public);
        return Err(resp);
    }
    Ok(Some(Conditional { tag, generation, public }))
}

/// After a read: its tag (unless a write ran meanwhile: its answer may be of either moment) and
/// `Cache-Control`, on a 200.
pub(crate) fn after(state: &AppState, c: Option<Conditional>, resp: &mut Response) {
    if let Some(c) = c
        && resp.status() == StatusCode::OK
    {
        let same = state.generation() == c.generation;
        cache_headers(resp.headers_mut(), same.then_some(c.tag.as_str()), c.public);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_compares_weakly_and_takes_lists_and_star() {
        let tag = etag(1, 7, None);
        let mut h = HeaderMap::new();
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(&format!("\"x\", {}", tag.trim_start_matches("W/"))).unwrap(),
        );
        assert!(matches(&h, &tag));
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(matches(&h, &tag));
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_str(&etag(1, 8, None)).unwrap());
        assert!(!matches(&h, &tag));
        assert_ne!(etag(1, 7, Some(&HeaderValue::from_static("text/csv"))), tag);
        assert_ne!(etag(2, 7, None), tag, "another start of the server, another tag");
    }
}

/// What a client takes besides identity, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    Brotli,
    Gzip,
}

/// The encoding to answer with: brotli when asked for (and not refused with `q=0`), else gzip, else none.
pub(crate) fn accepted(headers: &HeaderMap) -> Option<Encoding> {
    let v = headers.get(header::ACCEPT_ENCODING)?.to_str().ok()?;
    let takes = |name: &str| {
        v.split(',').any(|part| {
            let mut it = part.split(';');
            let coding = it.next().unwrap_or("").trim();
            let q = it.find_map(|p| p.trim().strip_prefix("q=")).and_then(|q| q.trim().parse::<f32>().ok());
            coding.eq_ignore_ascii_case(name) && q.is_none_or(|q| q > 0.0)
        })
    };
    if takes("br") {
        Some(Encoding::Brotli)
    } else if takes("gzip") {
        Some(Encoding::Gzip)
    } else {
        None
    }
}

/// Compresses a whole answer the client can take compressed: of known size between 256 bytes and 64 MiB,
/// not already encoded, not Parquet or an image. A streamed answer (an extract) is left alone: it compresses
/// itself as it streams. A wrapper on every response would cost every read (its size unknown to hyper), so
/// this runs only when the request asked.
pub(crate) async fn compress(resp: Response, enc: Encoding) -> Response {
    let size = axum::body::HttpBody::size_hint(resp.body()).exact();
    let compressible = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|c| c.to_str().ok())
        .is_some_and(|c| c.starts_with("application/json") || c.starts_with("text/") || c.starts_with("image/svg"));
    if !size.is_some_and(|n| (256..64 << 20).contains(&n))
        || !compressible
        || resp.headers().contains_key(header::CONTENT_ENCODING)
    {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 << 20).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let packed = match enc {
        Encoding::Gzip => {
            let mut e = flate2::write::GzEncoder::new(Vec::with_capacity(bytes.len() / 4), flate2::Compression::fast());
            std::io::Write::write_all(&mut e, &bytes).and_then(|_| e.finish())
        }
        Encoding::Brotli => {
            let mut out = Vec::with_capacity(bytes.len() / 4);
            let params = brotli::enc::BrotliEncoderParams { quality: 4, ..Default::default() };
            brotli::BrotliCompress(&mut &bytes[..], &mut out, &params).map(|_| out)
        }
    };
    let Ok(packed) = packed else { return (parts, axum::body::Body::from(bytes)).into_response() };
    parts
        .headers
        .insert(header::CONTENT_ENCODING, HeaderValue::from_static(if enc == Encoding::Gzip { "gzip" } else { "br" }));
    parts.headers.remove(header::CONTENT_LENGTH);
    let varies = parts
        .headers
        .get_all(header::VARY)
        .iter()
        .any(|v| v.as_bytes().windows(15).any(|w| w.eq_ignore_ascii_case(b"accept-encoding")));
    if !varies {
        parts.headers.append(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    }
    (parts, axum::body::Body::from(packed)).into_response()
}
