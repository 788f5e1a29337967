//! `oversight analyze threshold`: the threshold test's result as a table (or JSON).

use crate::output::{table, thousands};
use anyhow::Result;
use oversight_metrics::analysis::ThresholdResult;
use oversight_metrics::analysis::threshold::Estimate;

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

fn interval(e: &Estimate) -> String {
    format!("{} – {}", pct(e.ci_low), pct(e.ci_high))
}

fn count(n: Option<u64>) -> String {
    n.map_or_else(|| "withheld".to_owned(), |n| thousands(n as i64))
}

pub(crate) fn print(r: &ThresholdResult, cells: bool, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(r)?);
        return Ok(());
    }
    let span = match (r.from, r.to) {
        (Some(a), Some(b)) => format!("{a} to {b}"),
        _ => "every stop".to_owned(),
    };
    println!("Threshold test: {}, {span}; {} district(s)", r.jurisdiction, r.districts);
    println!("{}", r.method);
    println!();
    let level = format!("{:.0}% interval", r.level * 100.0);
    let rows: Vec<Vec<String>> = r
        .thresholds
        .iter()
        .map(|t| {
            let (diff, ci, lower) = match (&t.difference, t.probability_lower) {
                (Some(d), Some(p)) => (format!("{:+.1} pts", d.mean * 100.0), interval(d), format!("{p:.3}")),
                _ => ("reference".into(), String::new(), String::new()),
            };
            vec![
                t.race.clone(),
                count(t.stops),
                count(t.searches),
                count(t.hits),
                pct(t.threshold.mean),
                interval(&t.threshold),
                diff,
                ci,
                lower,
            ]
        })
        .collect();
    table(&["", "stops", "searches", "hits", "threshold", &level, "vs reference", &level, "P(lower)"], &rows);
    let p = &r.predictive_check;
    println!();
    println!(
        "Posterior predictive check: RMS error {:.2} pts (search rates), {:.2} pts (hit rates); observed inside the \
         95% replicated interval in {:.0}% and {:.0}% of cells",
        p.search_rate_rmse * 100.0,
        p.hit_rate_rmse * 100.0,
        p.search_covered * 100.0,
        p.hit_covered * 100.0
    );
    let d = &r.diagnostics;
    println!(
        "Sampler: {} chains × {} draws after {} warm-up, seed {}, {:.1} s; R-hat ≤ {:.3}, ESS bulk ≥ {:.0}, tail ≥ {:.0}; \
         {} divergent",
        d.chains, d.draws, d.tune, d.seed, d.seconds, d.max_r_hat, d.min_ess_bulk, d.min_ess_tail, d.divergences
    );
    if cells {
        println!();
        let rows: Vec<Vec<String>> = r
            .cells
            .iter()
            .map(|c| {
                let rate = |o: Option<f64>| o.map_or_else(|| "withheld".to_owned(), pct);
                vec![
                    c.district.clone(),
                    c.race.clone(),
                    count(c.stops),
                    count(c.searches),
                    count(c.hits),
                    pct(c.threshold.mean),
                    format!("{} / {}", rate(c.observed_search_rate), pct(c.predicted_search_rate)),
                    format!("{} / {}", rate(c.observed_hit_rate), pct(c.predicted_hit_rate)),
                ]
            })
            .collect();
        table(
            &[
                "district",
                "race",
                "stops",
                "searches",
                "hits",
                "threshold",
                "search rate obs / pred",
                "hit rate obs / pred",
            ],
            &rows,
        );
    }
    for n in &r.notes {
        println!("Note: {n}");
    }
    Ok(())
}
