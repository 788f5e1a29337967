//! `oversight events …` and `oversight analyze …`: policy events and the analyses run around them.

use crate::cli::{AnalyzeCmd, ImpactArgs};
use crate::output::{table, thousands};
use crate::support::refuse;
use anyhow::Result;
use oversight_core::Grain;
use oversight_metrics::AnalysisConfig;
use oversight_metrics::analysis::{self, DidRequest, Effect, ItsRequest, VodRequest};
use oversight_store::Store;
use std::process::ExitCode;

fn config(base: &AnalysisConfig, c: &ImpactArgs) -> Result<AnalysisConfig> {
    let mut cfg = base.clone();
    if c.maxlags.is_some() {
        cfg.hac_maxlags = c.maxlags;
    }
    if let Some(i) = &c.inference {
        cfg.inference = match i.parse() {
            Ok(i) => i,
            Err(e) => return refuse(format!("--inference: {e}")),
        };
    }
    cfg.min_pre_periods = c.min_pre.unwrap_or(cfg.min_pre_periods);
    cfg.min_post_periods = c.min_post.unwrap_or(cfg.min_post_periods);
    Ok(cfg)
}

fn grain(s: &str) -> Result<Grain> {
    match s.parse::<Grain>() {
        Ok(g) => Ok(g),
        Err(e) => refuse(format!("--grain: {e}")),
    }
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

fn p(x: f64) -> String {
    if x < 0.001 { "<0.001".to_owned() } else { format!("{x:.3}") }
}

fn ratio_row(label: &str, e: &Effect) -> Vec<String> {
    vec![
        label.to_owned(),
        format!("{:.4}", e.ratio),
        format!("{:.4} – {:.4}", e.ratio_ci_low, e.ratio_ci_high),
        format!("{:+.4}", e.estimate),
        format!("{:.4}", e.se),
        p(e.p_value),
    ]
}

const EFFECT_HEADER: [&str; 6] = ["", "ratio", "CI", "log estimate", "SE", "p"];

pub(crate) fn analyze(store: &Store, base: &AnalysisConfig, suppression: u32, cmd: AnalyzeCmd) -> Result<ExitCode> {
    match cmd {
        AnalyzeCmd::Threshold { jurisdiction, year, races, reference, no_districts, draws, seed, cells, json } => {
            let years = match year.as_deref().map(|y| parse_years(y).ok_or(y)) {
                None => None,
                Some(Ok(y)) => Some(y),
                Some(Err(y)) => return refuse(format!("--year {y:?}: expected a year (2018) or a range (2016-2020)")),
            };
            let req = analysis::ThresholdRequest {
                jurisdiction,
                years,
                races,
                reference,
                districts: !no_districts,
                draws,
                seed,
                suppression_threshold: suppression,
            };
            crate::threshold::print(&analysis::threshold(store, &req)?, cells, json)?;
        }
        AnalyzeCmd::Its { common, group, model } => {
            let cfg = config(base, &common)?;
            let Ok(model) = model.parse() else { return refuse(format!("--model {model:?}: expected ols or poisson")) };
            let req = ItsRequest {
                indicator: common.indicator.clone(),
                event_id: common.event,
                jurisdiction: common.jurisdiction.clone(),
                group,
                model,
                grain: grain(&common.grain)?,
            };
            let r = analysis::its(store, &req, &cfg)?;
            if common.json {
                println!("{}", serde_json::to_string_pretty(&r)?);
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "Interrupted time series: {} in {}, group {}, by {}",
                r.indicator, r.jurisdiction, r.group, r.grain
            );
            println!("Event {}: {} {} — {}", r.event.id, r.event.effective_date, r.event.kind, r.event.title);
            println!("Model: {} ({}), {}; {}", r.model, r.formula, r.covariance, r.reference_distribution);
            println!(
                "Periods: {} ({} before, {} from {} on), {:.0}% intervals",
                r.n,
                r.n_pre,
                r.n_post,
                r.t0_period,
                r.confidence * 100.0
            );
            println!();
            table(
                &EFFECT_HEADER,
                &[
                    ratio_row("level change at the event", &r.level_change),
                    ratio_row("slope change per period", &r.slope_change),
                    ratio_row("trend before, per period", &r.pre_trend),
                ],
            );
            println!();
            match (&r.placebo.level_change, &r.placebo.reason) {
                (Some(e), _) => println!(
                    "Placebo (event moved to {}, pre-event data only): level ratio {:.4} ({:.4} – {:.4}), p {}",
                    r.placebo.t0_period.map(|d| d.to_string()).unwrap_or_default(),
                    e.ratio,
                    e.ratio_ci_low,
                    e.ratio_ci_high,
                    p(e.p_value)
                ),
                (None, Some(reason)) => println!("Placebo: not run — {reason}"),
                _ => {}
            }
            if let Some(u) = &r.unknown_race {
                println!(
                    "Unknown race/ethnicity: {} of {} records before, {} of {} after (difference {:+.2} points, {:+.2} to {:+.2})",
                    pct(u.pre_share),
                    thousands(u.pre_records as i64),
                    pct(u.post_share),
                    thousands(u.post_records as i64),
                    u.difference * 100.0,
                    u.ci_low * 100.0,
                    u.ci_high * 100.0
                );
            }
            for d in &r.dropped_periods {
                println!("Left out {}: {}", d.period_start, d.reason);
            }
            for n in &r.notes {
                println!("Note: {n}");
            }
            println!();
            let unit = if r.outcome == "rate" { "rate" } else { "count" };
            let rows: Vec<Vec<String>> = r
                .series
                .iter()
                .map(|s| {
                    vec![
                        s.period_start.to_string(),
                        if s.post { "after" } else { "before" }.to_owned(),
                        format!("{:.4}", s.observed),
                        format!("{:.4}", s.fitted),
                        format!("{:.4}", s.counterfactual),
                    ]
                })
                .collect();
            table(&["period", "", &format!("observed {unit}"), "fitted", "counterfactual"], &rows);
        }
        AnalyzeCmd::Did { common, group, reference } => {
            let cfg = config(base, &common)?;
            let req = DidRequest {
                indicator: common.indicator.clone(),
                event_id: common.event,
                jurisdiction: common.jurisdiction.clone(),
                group,
                reference,
                grain: grain(&common.grain)?,
            };
            let r = analysis::did(store, &req, &cfg)?;
            if common.json {
                println!("{}", serde_json::to_string_pretty(&r)?);
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "Difference in differences: {} in {}, {} vs {}, by {}",
                r.indicator, r.jurisdiction, r.group, r.reference, r.grain
            );
            println!("Event {}: {} {} — {}", r.event.id, r.event.effective_date, r.event.kind, r.event.title);
            println!(
                "Periods: {} before, {} from {} on; {:.0}% intervals",
                r.n_pre,
                r.n_post,
                r.t0_period,
                r.confidence * 100.0
            );
            println!();
            let c = &r.counts;
            table(
                &["", "before", "after"],
                &[
                    vec![r.group.clone(), thousands(c.group_pre as i64), thousands(c.group_post as i64)],
                    vec![r.reference.clone(), thousands(c.reference_pre as i64), thousands(c.reference_post as i64)],
                ],
            );
            println!();
            let q = &r.ratio_of_ratios;
            let g = &r.regression.interaction;
            table(
                &["", "ratio of ratios", "CI", "p", "method"],
                &[
                    vec![
                        "two-by-two".into(),
                        format!("{:.4}", q.estimate),
                        format!("{:.4} – {:.4}", q.ci_low, q.ci_high),
                        p(q.p_value),
                        q.method.clone(),
                    ],
                    vec![
                        "regression".into(),
                        format!("{:.4}", g.ratio),
                        format!("{:.4} – {:.4}", g.ratio_ci_low, g.ratio_ci_high),
                        p(g.p_value),
                        format!("{}; {}", r.regression.formula, r.regression.covariance),
                    ],
                ],
            );
            if let Some(t) = &r.pre_trend_difference {
                println!();
                println!(
                    "Pre-trend check (group × time before the event): {:.4} per period ({:.4} – {:.4}), p {}",
                    t.ratio,
                    t.ratio_ci_low,
                    t.ratio_ci_high,
                    p(t.p_value)
                );
            }
            for n in &r.notes {
                println!("Note: {n}");
            }
        }
        AnalyzeCmd::Vod { jurisdiction, year, group, reference, df, no_districts, json } => {
            let Some((year, to_year)) = parse_years(&year) else {
                return refuse(format!("--year {year:?}: expected a year (2018) or a range (2016-2020)"));
            };
            let req =
                VodRequest { jurisdiction, year, to_year, group, reference, spline_df: df, districts: !no_districts };
            let r = analysis::vod(store, &req, base)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
                return Ok(ExitCode::SUCCESS);
            }
            let years = if r.year == r.to_year { r.year.to_string() } else { format!("{}–{}", r.year, r.to_year) };
            println!("Veil of darkness: {} {years}, {} vs {}", r.jurisdiction, r.group, r.reference);
            println!(
                "Dusk at ({:.4}, {:.4}) ({}), {}",
                r.location.lat, r.location.lng, r.location.source, r.location.timezone
            );
            for w in &r.windows {
                println!("Inter-twilight window {}: {} – {}", w.year, w.earliest_dusk, w.latest_dusk);
            }
            println!("Model: {}; {:.0}% intervals", r.formula, r.confidence * 100.0);
            println!(
                "Stops with a time: {}; outside the window {}; between sunset and dusk (dropped) {}; other groups {}",
                thousands(r.stops_with_time as i64),
                thousands(r.outside_window as i64),
                thousands(r.twilight_dropped as i64),
                thousands(r.other_groups as i64)
            );
            let c = &r.counts;
            table(
                &["", "light", "dark"],
                &[
                    vec![r.group.clone(), thousands(c.group_light as i64), thousands(c.group_dark as i64)],
                    vec![r.reference.clone(), thousands(c.reference_light as i64), thousands(c.reference_dark as i64)],
                ],
            );
            println!();
            println!(
                "Dark odds ratio: {:.4} ({:.4} – {:.4}), p {}, n {}",
                r.dark.odds_ratio,
                r.dark.ci_low,
                r.dark.ci_high,
                p(r.dark.p_value),
                thousands(r.dark.n as i64)
            );
            println!();
            let rows: Vec<Vec<String>> = r
                .robustness
                .iter()
                .map(|e| match &e.error {
                    Some(err) => vec![e.spline_df.to_string(), "-".into(), err.clone(), String::new()],
                    None => vec![
                        e.spline_df.to_string(),
                        format!("{:.4}", e.odds_ratio),
                        format!("{:.4} – {:.4}", e.ci_low, e.ci_high),
                        p(e.p_value),
                    ],
                })
                .collect();
            println!("Robustness over spline degrees of freedom:");
            table(&["df", "odds ratio", "CI", "p"], &rows);
            for n in &r.notes {
                println!("Note: {n}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// "2018" or "2016-2020".
pub(crate) fn parse_years(s: &str) -> Option<(i32, i32)> {
    match s.split_once('-') {
        Some((a, b)) => Some((a.trim().parse().ok()?, b.trim().parse().ok()?)),
        None => {
            let y = s.trim().parse().ok()?;
            Some((y, y))
        }
    }
}
