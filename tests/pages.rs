//! What a committee member sees: the pages in a real browser (no console errors, no request leaving the
//! machine, the numbers equal to the API's), and the charts as SVG (well-formed, event markers at their dates,
//! withheld periods as gaps, a "no data" image where there is nothing to draw).

use crate::browser::{Browser, chromium};
use crate::fixtures::import_fixtures;
use crate::helpers::{Scratch, Server, agent, spawn_server};
use chrono::{Datelike, NaiveDate};
use serde_json::Value;
use std::collections::HashMap;

fn get(srv: &Server, path: &str) -> (u16, String, String) {
    let mut r = agent().get(format!("{}{path}", srv.base)).call().expect("request");
    let status = r.status().as_u16();
    let ct = r.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let body = r.body_mut().with_config().limit(64 << 20).read_to_string().unwrap();
    (status, ct, body)
}

fn json(srv: &Server, path: &str) -> Value {
    let (status, _, body) = get(srv, path);
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// The SVG at `path`, parsed (so well-formed), with its title and description checked.
fn svg(srv: &Server, path: &str) -> String {
    let (status, ct, body) = get(srv, path);
    assert_eq!((status, ct.as_str()), (200, "image/svg+xml"), "{path}: {body}");
    let doc = roxmltree::Document::parse(&body).unwrap_or_else(|e| panic!("{path}: not well-formed XML: {e}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    for child in ["title", "desc"] {
        let el = root.children().find(|n| n.tag_name().name() == child);
        assert!(el.and_then(|n| n.text()).is_some_and(|t| !t.trim().is_empty()), "{path}: no <{child}>");
    }
    body
}

/// The `points` of every `<polyline>` drawn in `stroke`.
fn polylines(body: &str, stroke: &str) -> Vec<Vec<(f64, f64)>> {
    let doc = roxmltree::Document::parse(body).unwrap();
    doc.descendants()
        .filter(|n| n.has_tag_name("polyline") && n.attribute("stroke") == Some(stroke))
        .map(|n| {
            n.attribute("points")
                .unwrap_or("")
                .split_whitespace()
                .map(|xy| {
                    let (x, y) = xy.split_once(',').unwrap();
                    (x.parse().unwrap(), y.parse().unwrap())
                })
                .collect()
        })
        .collect()
}

/// The x extent of every `<rect>` filled with `fill`.
fn rects(body: &str, fill: &str) -> Vec<(f64, f64)> {
    let doc = roxmltree::Document::parse(body).unwrap();
    doc.descendants()
        .filter(|n| n.has_tag_name("rect") && n.attribute("fill") == Some(fill))
        .map(|n| {
            let x: f64 = n.attribute("x").unwrap().parse().unwrap();
            let w: f64 = n.attribute("width").unwrap().parse().unwrap();
            (x, x + w)
        })
        .collect()
}

/// Days from the common era, as the charts' x axis counts them, at the middle of a month.
fn month_mid(d: NaiveDate) -> f64 {
    let next = if d.month() == 12 {
        NaiveDate::from_ymd_opt(d.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(d.year(), d.month() + 1, 1)
    }
    .unwrap();
    f64::from((d.num_days_from_ce() + next.num_days_from_ce()) / 2)
}

const EVENT: &str = "#B00020";
const FIRST_LINE: &str = "#005AB5";
const WITHHELD: &str = "#E4E4E4";

#[test]
fn charts_are_svg_with_events_at_their_dates_withheld_periods_as_gaps_and_no_data_as_an_image() {
    let s = Scratch::new();
    import_fixtures(&s);
    s.ok(&["compute"]);
    s.ok(&["jurisdictions", "set", "empty-town", "--name", "Empty Town"]);
    // The command line fits a small group's series on every count (before the server owns the file).
    let local = s.ok(&[
        "analyze",
        "its",
        "--indicator",
        "crime_reports.count",
        "--event",
        "1",
        "--group",
        "race:other",
        "--json",
    ]);
    let local: Value = serde_json::from_str(&local.stdout()).unwrap();
    let srv = spawn_server(&s, &["serve"], None, &[]);

    // A monthly count with no withheld month: one line, and a marker per policy event.
    let q = "jurisdiction=demo-city&group=all";
    let body = svg(&srv, &format!("/v1/indicators/stops.count/series.svg?{q}"));
    let points = json(&srv, &format!("/v1/indicators/stops.count/series?{q}"));
    let points = points.as_array().unwrap();
    assert!(points.iter().all(|p| p["suppressed"] == false), "the planted monthly stop counts are all published");
    let line = polylines(&body, FIRST_LINE);
    assert_eq!(line.len(), 1, "one unbroken line");
    let line = &line[0];
    assert_eq!(line.len(), points.len(), "a vertex per published month");
    // x is linear in days: the first and last month's middles fix the scale.
    let date = |p: &Value| NaiveDate::parse_from_str(p["period_start"].as_str().unwrap(), "%Y-%m-%d").unwrap();
    let (d0, d1) = (month_mid(date(&points[0])), month_mid(date(points.last().unwrap())));
    let (x0, x1) = (line[0].0, line.last().unwrap().0);
    let x_at = |days: f64| x0 + (days - d0) * (x1 - x0) / (d1 - d0);
    for (p, v) in points.iter().zip(line) {
        assert!((x_at(month_mid(date(p))) - v.0).abs() <= 1.0, "{p} drawn at x {}", v.0);
    }
    let events = json(&srv, "/v1/policy-events?jurisdiction=demo-city");
    let events = events["items"].as_array().unwrap();
    let markers = polylines(&body, EVENT);
    assert_eq!(markers.len(), events.len(), "a marker per policy event");
    for e in events {
        let d = NaiveDate::parse_from_str(e["effective_date"].as_str().unwrap(), "%Y-%m-%d").unwrap();
        let want = x_at(f64::from(d.num_days_from_ce()));
        assert!(
            markers.iter().any(|m| m.iter().all(|(x, _)| (x - want).abs() <= 1.0)),
            "no marker at x {want:.1} for {e}: {markers:?}"
        );
        assert!(body.contains(&format!("{} ({})", e["title"].as_str().unwrap(), d)), "the marker is labelled");
    }

    // The town's monthly search rate is mostly withheld: shaded spans, and no vertex of the line inside one.
    let q = "jurisdiction=demo-town&group=all";
    let body = svg(&srv, &format!("/v1/indicators/stops.search_rate/series.svg?{q}"));
    let points = json(&srv, &format!("/v1/indicators/stops.search_rate/series?{q}"));
    let withheld = points.as_array().unwrap().iter().filter(|p| p["suppressed"] == true).count();
    assert!(withheld > 10, "the fixture withholds most months of the town: {withheld}");
    let gaps = rects(&body, WITHHELD);
    assert!(!gaps.is_empty(), "withheld months are drawn as shaded gaps");
    assert!(body.contains("withheld"), "and say so");
    for v in polylines(&body, FIRST_LINE).iter().flatten() {
        assert!(!gaps.iter().any(|(a, b)| *a < v.0 && v.0 < *b), "a line vertex at x {} inside a gap", v.0);
    }

    // Nothing to draw: a clear image, not an error.
    for path in [
        "/v1/indicators/stops.count/series.svg?jurisdiction=empty-town",
        "/v1/disparities/detainers.svg?jurisdiction=demo-town",
        "/v1/indicators/stops.count/compare.svg?period=1990-01-01",
    ] {
        let body = svg(&srv, path);
        assert!(body.contains("No data:"), "{path}: {body}");
    }
    assert_eq!(get(&srv, "/v1/indicators/stops.count/series.svg?jurisdiction=atlantis").0, 404);

    // The forest plot: a row per group, the reference named, ratios with intervals as the table has them.
    let table = json(&srv, "/v1/disparities/stops?jurisdiction=demo-city&outcome=search");
    let body = svg(&srv, "/v1/disparities/stops.svg?jurisdiction=demo-city&outcome=search");
    for r in table["rows"].as_array().unwrap() {
        if let (Some(v), Some(lo), Some(hi)) =
            (r["ratio"].as_f64(), r["ratio_ci_low"].as_f64(), r["ratio_ci_high"].as_f64())
        {
            assert!(body.contains(&format!("{v:.2} ({lo:.2}–{hi:.2})")), "{r} not in the forest plot");
        }
    }
    assert!(body.contains("reference group"));

    // The impact chart: the estimate in words in its caption, from the same fit as the JSON.
    let q = "indicator=crime_reports.count&group=race:hispanic";
    let fit = json(&srv, &format!("/v1/policy-events/1/impact?{q}"));
    let body = svg(&srv, &format!("/v1/policy-events/1/impact.svg?{q}"));
    let pct = ((1.0 - fit["level_change"]["ratio"].as_f64().unwrap()) * 100.0).round();
    assert!(body.contains(&format!("{pct}% fewer reports")), "{pct}% not in the caption");
    assert_eq!(polylines(&body, EVENT).len(), 1);
    // A small group's series has withheld months. A fit on it would give them back (a Poisson fit's fitted values
    // add up to the observed counts: with the published months, the withheld ones' sum), so the API publishes
    // none, and its chart says why; the command line, on the database, fits every count.
    for model in ["its", "did"] {
        let q = format!("indicator=crime_reports.count&group=race:other&model={model}");
        let r = get(&srv, &format!("/v1/policy-events/1/impact?{q}"));
        assert_eq!(r.0, 422, "{model}: {}", r.2);
        assert!(r.2.contains("under the suppression threshold") && r.2.contains("worked out"), "{}", r.2);
    }
    let body = svg(&srv, "/v1/policy-events/1/impact.svg?indicator=crime_reports.count&group=race:other");
    assert!(body.contains("under the suppression threshold") && polylines(&body, EVENT).is_empty(), "{body}");
    let withheld: Vec<&Value> =
        local["series"].as_array().unwrap().iter().filter(|p| p["suppressed"] == true).collect();
    assert!(!withheld.is_empty(), "the fixture has withheld months here");
    // What the published fit would have given away: the withheld months' sum, from the fitted values.
    let all = local["series"].as_array().unwrap();
    let fitted: f64 = all.iter().map(|p| p["fitted"].as_f64().unwrap()).sum();
    let published: f64 = all.iter().filter(|p| p["suppressed"] == false).map(|p| p["count"].as_f64().unwrap()).sum();
    let hidden: f64 = withheld.iter().map(|p| p["count"].as_f64().unwrap()).sum();
    assert!((fitted - published - hidden).abs() < 1e-6, "{fitted} − {published} vs {hidden}");
}

#[test]
fn the_comparison_is_the_series_value_of_every_jurisdiction_with_a_ratio_to_the_others() {
    let s = Scratch::new();
    import_fixtures(&s);
    s.ok(&["compute"]);
    let srv = spawn_server(&s, &["serve"], None, &[]);
    let q = "grain=year&period=2019-06-30&group=all";
    let c = json(&srv, &format!("/v1/indicators/stops.search_rate/compare?{q}&sort=jurisdiction&order=asc"));
    assert_eq!(c["period"], "2019");
    let rows = c["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{c}");
    assert_eq!(rows[0]["jurisdiction"], "demo-city", "sorted by name, ascending");
    let mut published = HashMap::new();
    for r in rows {
        let j = r["jurisdiction"].as_str().unwrap();
        let series = json(
            &srv,
            &format!(
                "/v1/indicators/stops.search_rate/series?jurisdiction={j}&grain=year&group=all&from=2019-01-01&to=2019-01-01"
            ),
        );
        let p = &series[0];
        for f in ["numerator", "denominator", "value", "ci_low", "ci_high", "suppressed"] {
            assert_eq!(r[f], p[f], "{j} {f}");
        }
        if r["suppressed"] == false {
            published.insert(j.to_owned(), (r["numerator"].as_f64().unwrap(), r["denominator"].as_f64().unwrap()));
        }
    }
    // Each one's ratio to the other (the only other one here), Katz's log interval, computed here.
    assert_eq!(published.len(), 2, "{c}");
    {
        for r in rows {
            let j = r["jurisdiction"].as_str().unwrap();
            let (a, n1) = published[j];
            let (c_, n2) = published.iter().find(|(k, _)| *k != j).map(|(_, v)| *v).unwrap();
            let rr = (a / n1) / (c_ / n2);
            let se = (1.0 / a - 1.0 / n1 + 1.0 / c_ - 1.0 / n2).sqrt();
            assert!((r["ratio"].as_f64().unwrap() - rr).abs() < 1e-9, "{r}");
            assert!((r["ratio_ci_low"].as_f64().unwrap() - (rr.ln() - 1.959963984540054 * se).exp()).abs() < 1e-6);
            assert_eq!(r["ratio_method"], "katz-log");
        }
    }
    // A withheld jurisdiction is in no pool: with the town's Black drivers withheld, the city has nothing to be
    // compared with, and the town's row gives nothing back.
    let c = json(&srv, "/v1/indicators/stops.search_rate/compare?grain=year&period=2019-01-01&group=race:black");
    let town = c["rows"].as_array().unwrap().iter().find(|r| r["jurisdiction"] == "demo-town").unwrap().clone();
    assert_eq!(
        (town["suppressed"].as_bool(), town["numerator"].is_null(), town["ratio"].is_null()),
        (Some(true), true, true)
    );
    let city = c["rows"].as_array().unwrap().iter().find(|r| r["jurisdiction"] == "demo-city").unwrap().clone();
    assert!(city["value"].is_number() && city["ratio"].is_null(), "{city}");
    // CSV at its own URL and by Accept; the chart.
    let (st, ct, csv) =
        get(&srv, &format!("/v1/indicators/stops.search_rate/compare.csv?{q}&sort=jurisdiction&order=asc"));
    assert_eq!((st, ct.starts_with("text/csv")), (200, true));
    assert!(csv.starts_with("jurisdiction,name,numerator,denominator,value"), "{csv}");
    assert_eq!(csv.lines().count(), 3);
    let body = svg(&srv, &format!("/v1/indicators/stops.search_rate/compare.svg?{q}"));
    assert!(body.contains("Demo City"));
    // Sorting by value, descending, puts the larger first; withheld rows last.
    let c = json(&srv, &format!("/v1/indicators/stops.search_rate/compare?{q}&sort=value&order=desc"));
    let vals: Vec<f64> = c["rows"].as_array().unwrap().iter().filter_map(|r| r["value"].as_f64()).collect();
    assert!(vals.windows(2).all(|w| w[0] >= w[1]), "{vals:?}");
    assert_eq!(get(&srv, "/v1/indicators/stops.nothing/compare").0, 404);
    assert_eq!(get(&srv, "/v1/indicators/stops.search_rate/compare?sort=colour").0, 400);
}

/// The `data-value`s of the cells `selector` finds, per row key.
fn cells(b: &mut Browser, rows: &str, key: &str) -> Vec<Value> {
    let js = format!(
        "[...document.querySelectorAll('{rows}')].map(tr => ({{key: tr.dataset.{key}, cells: Object.fromEntries(\
         [...tr.querySelectorAll('[data-field]')].map(td => [td.dataset.field, td.dataset.value ?? td.textContent.trim()]))}}))"
    );
    b.eval(&js).as_array().unwrap().clone()
}

/// A number from the page's `data-value` equals the API's.
fn same(page: &Value, api: &Value, what: &str) {
    match (page.as_str().and_then(|s| s.parse::<f64>().ok()), api.as_f64()) {
        (Some(p), Some(a)) => assert!((p - a).abs() <= 1e-12 * a.abs().max(1.0), "{what}: page {p}, API {a}"),
        (None, None) => {}
        _ => panic!("{what}: page {page}, API {api}"),
    }
}

#[test]
fn the_pages_load_in_a_browser_with_the_apis_numbers_nothing_from_elsewhere_and_fit_a_phone() {
    let Some(path) = chromium() else { return };
    let s = Scratch::new();
    import_fixtures(&s);
    s.ok(&["compute"]);
    let srv = spawn_server(&s, &["serve"], None, &[]);
    let shots = std::path::PathBuf::from(std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into()))
        .join("screenshots");
    let mut b = Browser::start(path, 1100, 6000);
    let check_clean = |b: &Browser, page: &str| {
        let problems = b.problems();
        assert!(problems.is_empty(), "{page}: console errors or failed loads: {problems:#?}");
        let requests = b.requests();
        assert!(requests.len() > 1, "{page}: {requests:?}");
        for r in &requests {
            assert!(r.starts_with(&srv.base) || r.starts_with("data:"), "{page} asked for {r}");
        }
    };

    // `/`: every jurisdiction's records per dataset, as the store counts them.
    b.load(&format!("{}/", srv.base));
    check_clean(&b, "/");
    b.screenshot(&shots.join("home.png"));
    let rows = cells(&mut b, "#jurisdictions tr[data-dataset]", "dataset");
    let mut per_dataset: HashMap<String, f64> = HashMap::new();
    for r in &rows {
        *per_dataset.entry(r["key"].as_str().unwrap().to_owned()).or_default() +=
            r["cells"]["rows"].as_str().unwrap().parse::<f64>().unwrap();
    }
    for d in json(&srv, "/v1/datasets").as_array().unwrap() {
        let n = d["rows"].as_f64().unwrap();
        if ["stops", "detainers", "crime-reports", "complaints"].contains(&d["dataset"].as_str().unwrap()) {
            assert_eq!(per_dataset.get(d["dataset"].as_str().unwrap()).copied().unwrap_or(0.0), n, "{d}");
        }
    }

    // A jurisdiction page: headline values = the series' latest point; disparity cells = the tables.
    b.load(&format!("{}/jurisdictions/demo-city", srv.base));
    check_clean(&b, "/jurisdictions/demo-city");
    b.screenshot(&shots.join("jurisdiction.png"));
    // The charts are in the page, drawn: each one's box has a size and a title to read out.
    let charts = b.eval(
        "[...document.querySelectorAll('figure.chart svg')].map(s => ({w: s.getBoundingClientRect().width, \
         title: s.querySelector('title')?.textContent ?? ''}))",
    );
    let charts = charts.as_array().unwrap();
    assert!(charts.len() >= 6, "{charts:?}");
    assert!(
        charts.iter().all(|c| c["w"].as_f64().unwrap() > 100.0 && !c["title"].as_str().unwrap().is_empty()),
        "{charts:?}"
    );
    let headlines = b.eval(
        "[...document.querySelectorAll('.headline-card')].map(c => ({indicator: c.dataset.indicator, \
         value: c.querySelector('[data-field=value]')?.dataset.value ?? null, period: c.querySelector('[data-field=period]')?.textContent ?? null}))",
    );
    for h in headlines.as_array().unwrap() {
        let id = h["indicator"].as_str().unwrap();
        let grain = if h["period"].as_str().is_some_and(|p| p.contains('Q')) { "quarter" } else { "month" };
        let series = json(&srv, &format!("/v1/indicators/{id}/series?jurisdiction=demo-city&group=all&grain={grain}"));
        let last = series.as_array().unwrap().last().unwrap();
        same(&h["value"], &last["value"], id);
    }
    for (measure, table) in [("search", "stops"), ("hit", "stops"), ("sustain", "complaints")] {
        let api = json(&srv, &format!("/v1/disparities/{table}?jurisdiction=demo-city&outcome={measure}"));
        let page = cells(&mut b, &format!("section[data-measure={measure}] tr[data-group]"), "group");
        assert_eq!(page.len(), api["rows"].as_array().unwrap().len(), "{measure}");
        for (p, a) in page.iter().zip(api["rows"].as_array().unwrap()) {
            assert_eq!(p["key"], a["group"]);
            for f in ["numerator", "denominator", "rate", "ratio"] {
                if a["suppressed"] == true {
                    assert_eq!(p["cells"][f], "withheld", "{measure} {f}: {p}");
                } else if p["cells"].get(f).is_some() {
                    same(&p["cells"][f], &a[f], &format!("{measure} {} {f}", a["group"]));
                }
            }
        }
    }
    let impact = b.eval("document.querySelector('p.impact')?.textContent ?? ''");
    let fit = json(
        &srv,
        "/v1/policy-events/1/impact?indicator=crime_reports.count&jurisdiction=demo-city&group=race:hispanic",
    );
    let pct = ((1.0 - fit["level_change"]["ratio"].as_f64().unwrap()) * 100.0).round();
    assert!(impact.as_str().unwrap().contains(&format!("{pct}% fewer reports")), "{impact}");
    // With its charts the page stays under 150 KB.
    let weight: f64 = serde_json::from_value(b.eval(
        "performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource')).reduce((s, e) => s + e.decodedBodySize, 0)",
    ))
    .unwrap();
    assert!(weight < 150_000.0, "the page and its charts weigh {weight} bytes");
    // On a phone: one column, nothing wider than the screen.
    b.call(
        "Emulation.setDeviceMetricsOverride",
        serde_json::json!({"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": true}),
    );
    let columns = b.eval("getComputedStyle(document.querySelector('.grid')).gridTemplateColumns.split(' ').length");
    assert_eq!(columns, 1);
    let wide = b.eval("document.documentElement.scrollWidth");
    assert!(wide.as_f64().unwrap() <= 390.0, "the page is {wide} px wide on a 390 px screen");
    b.screenshot(&shots.join("jurisdiction-phone.png"));
    b.call(
        "Emulation.setDeviceMetricsOverride",
        serde_json::json!({"width": 1100, "height": 6000, "deviceScaleFactor": 1, "mobile": false}),
    );

    // The comparison page: each row = the API's comparison; sorting links work.
    let q = "indicator=stops.search_rate&grain=year&period=2019-01-01&group=all";
    b.load(&format!("{}/compare?{q}", srv.base));
    check_clean(&b, "/compare");
    b.screenshot(&shots.join("compare.png"));
    let api = json(&srv, "/v1/indicators/stops.search_rate/compare?grain=year&period=2019-01-01&group=all");
    let page = cells(&mut b, "#comparison tr[data-jurisdiction]", "jurisdiction");
    assert_eq!(page.len(), api["rows"].as_array().unwrap().len());
    for (p, a) in page.iter().zip(api["rows"].as_array().unwrap()) {
        assert_eq!(p["key"], a["jurisdiction"]);
        for f in ["numerator", "denominator", "value", "ratio"] {
            if a["suppressed"] == true {
                assert_eq!(p["cells"][f], "withheld");
            } else {
                same(&p["cells"][f], &a[f], &format!("{} {f}", a["jurisdiction"]));
            }
        }
    }
    let href = b.eval("document.querySelector('#comparison th a').getAttribute('href')");
    assert!(href.as_str().unwrap().contains("sort=jurisdiction"), "{href}");
    b.load(&format!("{}{}", srv.base, href.as_str().unwrap()));
    check_clean(&b, "/compare sorted");
    let names = b.eval(
        "[...document.querySelectorAll('#comparison tr[data-jurisdiction] td:first-child')].map(t => t.textContent)",
    );
    let names: Vec<String> = serde_json::from_value(names).unwrap();
    let mut sorted = names.clone();
    sorted.sort();
    sorted.reverse();
    assert_eq!(names, sorted, "sorted by name, descending");

    // The threshold test's page, linked from the jurisdiction's stops: every number is the API's.
    b.load(&format!("{}/jurisdictions/demo-city", srv.base));
    let linked = b.eval("document.querySelector('a[href=\"/jurisdictions/demo-city/threshold-test\"]') !== null");
    assert_eq!(linked, true, "the jurisdiction page links the threshold test");
    b.load(&format!("{}/jurisdictions/demo-city/threshold-test", srv.base));
    check_clean(&b, "/jurisdictions/demo-city/threshold-test");
    b.screenshot(&shots.join("threshold-test.png"));
    let api = json(&srv, "/v1/threshold-test?jurisdiction=demo-city");
    let rows = api["thresholds"].as_array().unwrap();
    let page = cells(&mut b, "#thresholds tr[data-race]", "race");
    assert_eq!(page.len(), rows.len());
    for (p, a) in page.iter().zip(rows) {
        assert_eq!(p["key"], a["race"]);
        same(&p["cells"]["threshold"], &a["threshold"]["mean"], "threshold");
        for f in ["stops", "searches", "hits"] {
            if a["suppressed"] == true {
                assert_eq!(p["cells"][f], "withheld", "{f}: {p}");
            } else {
                same(&p["cells"][f], &a[f], f);
            }
        }
        if a["race"] != "white" {
            same(&p["cells"]["difference"], &a["difference"]["mean"], "difference");
            same(&p["cells"]["probability_lower"], &a["probability_lower"], "probability lower");
        }
    }
    // One sentence per group against white drivers; the fixture's equal hit rates: no difference found.
    let words = b.eval("[...document.querySelectorAll('#threshold-words p')].map(p => p.textContent)");
    let words = words.as_array().unwrap();
    assert_eq!(words.len(), 2, "{words:?}");
    assert!(words.iter().all(|w| w.as_str().unwrap().contains("cannot tell the two apart")), "{words:?}");
    let chart = b.eval("document.querySelector('figure.chart svg title')?.textContent ?? ''");
    assert!(chart.as_str().unwrap().contains("Threshold test"), "{chart}");
}

#[test]
fn pages_follow_public_reads_and_say_what_is_missing() {
    let s = Scratch::new();
    import_fixtures(&s);
    s.ok(&["compute"]);
    let cfg = s.write("private.toml", "[api]\npublic_reads = false\n");
    let srv = spawn_server(&s, &["--config", cfg.to_str().unwrap(), "serve"], None, &[]);
    for path in
        ["/", "/jurisdictions/demo-city", "/compare", "/v1/indicators/stops.count/series.svg?jurisdiction=demo-city"]
    {
        let (status, _, body) = get(&srv, path);
        assert_eq!(status, 401, "{path}: {body}");
        assert!(!body.contains("Demo City") || path.starts_with("/v1"), "{path} shows data without a key");
    }
    drop(srv);
    // Text from the data is text on the page and in its charts, never markup.
    let title = "<script>alert(1)</script> & <b>order</b>";
    s.ok(&[
        "events",
        "add",
        "--jurisdiction",
        "demo-town",
        "--date",
        "2018-03-01",
        "--kind",
        "other",
        "--title",
        title,
    ]);
    let srv2 = spawn_server(&s, &["serve"], None, &[]);
    let (status, _, page) = get(&srv2, "/jurisdictions/demo-town");
    assert_eq!(status, 200, "{page}");
    assert!(!page.contains("<script>") && !page.contains("<b>order"), "markup from the data reached the page");
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;order&lt;/b&gt;"),
        "the title is shown as text"
    );
    let (status, ct, body) = get(&srv2, "/jurisdictions/atlantis");
    assert_eq!((status, ct.starts_with("text/html")), (404, true), "{body}");
    assert!(body.contains("atlantis"), "{body}");
    let (status, ct, css) = get(&srv2, "/static/oversight.css");
    assert_eq!((status, ct.starts_with("text/css")), (200, true));
    assert!(css.contains("@media (max-width: 600px)"));
    let (status, _, body) = get(&srv2, "/compare?indicator=stops.search_rate&colour=red");
    assert_eq!(status, 400, "{body}");
}
