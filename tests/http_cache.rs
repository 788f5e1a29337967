//! HTTP for dashboards: CORS for configured origins only, `ETag` / `If-None-Match` until the next write,
//! compression as the client prefers, and `.csv` siblings of the disparity tables.

use crate::fixtures::import_fixture;
use crate::helpers::{Scratch, Server, repo, spawn_server};
use std::io::{Read, Write};

/// One HTTP/1.0 request (the body ends with the connection): status, head, body bytes.
fn raw(srv: &Server, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String, Vec<u8>) {
    let addr = srv.base.trim_start_matches("http://").to_owned();
    let mut c = std::net::TcpStream::connect(&addr).unwrap();
    let mut req = format!("{method} {path} HTTP/1.0\r\nHost: x\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    c.write_all(req.as_bytes()).unwrap();
    c.write_all(body).unwrap();
    let mut out = Vec::new();
    c.read_to_end(&mut out).unwrap();
    let split = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&out[..split]).into_owned();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, head, out[split + 4..].to_vec())
}

/// A header's value (names compared without case).
fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(": ")?;
        k.eq_ignore_ascii_case(name).then_some(v)
    })
}

#[test]
fn cors_only_for_configured_origins_etags_until_the_next_import_and_compression_as_asked() {
    let s = Scratch::new();
    import_fixture(&s, "stops", &["stops.csv"]);
    s.ok(&["compute"]);
    let analyst = s.ok(&["keys", "create", "--role", "analyst", "--name", "t"]).stdout().trim().to_owned();
    let srv = spawn_server(&s, &["serve"], None, &[("OVERSIGHT__API__CORS_ORIGINS", r#"["https://dash.example"]"#)]);
    let series = "/v1/indicators/stops.search_rate/series?jurisdiction=demo-city&grain=year";

    // CORS: the configured origin gets the headers (and a preflight answer), another origin does not.
    let (st, head, _) = raw(&srv, "GET", series, &[("Origin", "https://dash.example")], b"");
    assert_eq!(st, 200);
    assert_eq!(header(&head, "access-control-allow-origin"), Some("https://dash.example"), "{head}");
    assert!(
        header(&head, "access-control-expose-headers").is_some_and(|h| h.to_lowercase().contains("etag")),
        "{head}"
    );
    let (_, head, _) = raw(&srv, "GET", series, &[("Origin", "https://evil.example")], b"");
    assert_eq!(header(&head, "access-control-allow-origin"), None, "{head}");
    let pre = [("Origin", "https://dash.example"), ("Access-Control-Request-Method", "GET")];
    let (st, head, _) = raw(&srv, "OPTIONS", series, &pre, b"");
    assert!(st < 300 && header(&head, "access-control-allow-methods").is_some(), "{st} {head}");

    // ETag: the same answer is 304 until the next import; then 200 with a new tag.
    let (_, head, first) = raw(&srv, "GET", series, &[], b"");
    let tag = header(&head, "etag").expect("an etag").to_owned();
    assert_eq!(header(&head, "cache-control"), Some("public, no-cache"), "{head}");
    let (st, _, body) = raw(&srv, "GET", series, &[("If-None-Match", &tag)], b"");
    assert_eq!((st, body.len()), (304, 0));
    // Another representation of the same URL is another tag.
    let (_, head, _) = raw(&srv, "GET", series, &[("Accept", "text/csv")], b"");
    assert_ne!(header(&head, "etag"), Some(tag.as_str()));
    let crime = std::fs::read(repo().join("fixtures/crime_reports.csv")).unwrap();
    let auth = format!("Bearer {analyst}");
    let up = [("Authorization", auth.as_str()), ("Content-Type", "text/csv")];
    let (st, _, _) = raw(&srv, "POST", "/v1/imports/crime-reports?profile=canonical&filename=crime.csv", &up, &crime);
    assert_eq!(st, 201);
    let (st, head, again) = raw(&srv, "GET", series, &[("If-None-Match", &tag)], b"");
    assert_eq!(st, 200, "after an import the old tag is stale");
    assert_ne!(header(&head, "etag"), Some(tag.as_str()));
    assert_eq!(again, first, "the stops series did not change; only its tag did");

    // Compression: gzip or brotli as asked, the same bytes once decoded; a CSV extract too.
    let (_, _, plain) = raw(&srv, "GET", "/v1/indicators", &[], b"");
    let (_, head, br) = raw(&srv, "GET", "/v1/indicators", &[("Accept-Encoding", "br")], b"");
    assert_eq!(header(&head, "content-encoding"), Some("br"), "{head}");
    let mut decoded = Vec::new();
    brotli::Decompressor::new(&br[..], 4096).read_to_end(&mut decoded).unwrap();
    assert_eq!(decoded, plain);
    assert!(br.len() < plain.len() / 3, "{} of {}", br.len(), plain.len());
    let extract = "/v1/extracts/stops?jurisdiction=demo-city&columns=date,district,subject_race";
    let (_, _, csv) = raw(&srv, "GET", extract, &[], b"");
    let (_, head, gz) = raw(&srv, "GET", extract, &[("Accept-Encoding", "gzip")], b"");
    assert_eq!(header(&head, "content-encoding"), Some("gzip"), "{head}");
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(&gz[..]).read_to_end(&mut unzipped).unwrap();
    assert!(unzipped == csv && gz.len() < csv.len() / 3, "{} of {}", gz.len(), csv.len());

    // The disparity table's CSV has a URL of its own: the same bytes as asking with Accept.
    let q = "jurisdiction=demo-city&outcome=search";
    let (st, head, by_url) = raw(&srv, "GET", &format!("/v1/disparities/stops.csv?{q}"), &[], b"");
    assert_eq!(st, 200, "{}", String::from_utf8_lossy(&by_url));
    assert!(header(&head, "content-type").is_some_and(|c| c.starts_with("text/csv")), "{head}");
    let (_, _, by_accept) = raw(&srv, "GET", &format!("/v1/disparities/stops?{q}"), &[("Accept", "text/csv")], b"");
    assert_eq!(by_url, by_accept);
    drop(srv);

    // Without cors_origins, no origin gets CORS headers; a bad origin is refused at start-up.
    let srv = spawn_server(&s, &["serve"], None, &[]);
    let (_, head, _) = raw(&srv, "GET", series, &[("Origin", "https://dash.example")], b"");
    assert_eq!(header(&head, "access-control-allow-origin"), None, "{head}");
    drop(srv);
    let r = s
        .cmd()
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("OVERSIGHT__API__CORS_ORIGINS", r#"["dash.example/x"]"#)
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(2), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(String::from_utf8_lossy(&r.stderr).contains("cors_origins"));
}
