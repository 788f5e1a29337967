//! From the chains to the answer: diagnostics of every parameter and of the reported thresholds (refusing
//! when they fail), each race's stop-weighted threshold and its difference from the reference group with
//! credible intervals, and the posterior predictive check.

use crate::diagnostics::{Diagnostic, diagnose, mcse_mean, quantile_of_sorted};
use crate::model::{Layout, Posterior};
use crate::sampler::ChainRun;
use crate::{Data, Settings, ThresholdError};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Binomial, Distribution};
use serde::Serialize;
use std::time::Duration;

/// When the fit is refused.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Limits {
    /// Largest split R-hat accepted (Vehtari et al. 2021 recommend 1.01).
    pub max_r_hat: f64,
    /// Smallest bulk and tail effective sample size accepted (Vehtari et al.: 100 per chain, 400 for 4).
    pub min_ess: f64,
    /// Largest share of kept draws that ended in a divergent transition.
    pub max_divergent_share: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_r_hat: 1.01, min_ess: 400.0, max_divergent_share: 0.01 }
    }
}

/// A posterior summary: mean, median, equal-tailed credible interval, Monte Carlo error of the mean.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    pub mean: f64,
    pub median: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub mcse: f64,
}

/// One group's inferred threshold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RaceThreshold {
    pub race: String,
    pub stops: u64,
    pub searches: u64,
    pub hits: u64,
    /// Probability of contraband at which officers search, averaged over districts weighted by each
    /// district's stops of all groups (the same weights for every group).
    pub threshold: Estimate,
    /// This group's threshold minus the reference group's (None for the reference).
    pub difference: Option<Estimate>,
    /// Posterior probability that this group's threshold is below the reference group's.
    pub probability_lower: Option<f64>,
}

/// One race × district cell: the data, the inferred threshold, and the posterior predictive check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CellFit {
    pub race: String,
    pub district: String,
    pub stops: u64,
    pub searches: u64,
    pub hits: u64,
    pub threshold: Estimate,
    pub observed_search_rate: f64,
    /// Posterior mean of the model's search rate.
    pub predicted_search_rate: f64,
    /// 95% interval of the search rate of data replicated from the posterior (searches / stops).
    pub replicated_search_rate: (f64, f64),
    pub observed_hit_rate: Option<f64>,
    pub predicted_hit_rate: f64,
    pub replicated_hit_rate: Option<(f64, f64)>,
}

/// The paper's posterior predictive check, summarised over cells.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PredictiveCheck {
    /// Root mean square of (predicted − observed) over cells, search rates and hit rates (cells with
    /// searches), in proportion points.
    pub search_rate_rmse: f64,
    pub hit_rate_rmse: f64,
    /// Share of cells whose observed searches (hits) lie inside the 95% interval of replicated data.
    pub search_covered: f64,
    pub hit_covered: f64,
}

/// How the sampler ran and how well it converged.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnostics {
    pub sampler: String,
    pub parametrisation: crate::Parametrisation,
    pub chains: usize,
    pub tune: u64,
    pub draws: u64,
    pub seed: u64,
    pub target_accept: f64,
    pub parameters: usize,
    pub divergences: u64,
    pub max_tree_depth_hits: u64,
    pub step_sizes: Vec<f64>,
    pub gradient_evaluations: u64,
    pub seconds: f64,
    /// The worst value over every parameter and every reported threshold, and whose it is.
    pub max_r_hat: f64,
    pub max_r_hat_of: String,
    pub min_ess_bulk: f64,
    pub min_ess_bulk_of: String,
    pub min_ess_tail: f64,
    pub min_ess_tail_of: String,
    pub limits: Limits,
}

/// The whole answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThresholdFit {
    pub reference: String,
    pub level: f64,
    pub races: Vec<RaceThreshold>,
    pub cells: Vec<CellFit>,
    pub predictive_check: PredictiveCheck,
    pub diagnostics: Diagnostics,
}

/// Draws of one scalar as `[chain][draw]`.
type Chains = Vec<Vec<f64>>;

fn estimate(chains: &Chains, level: f64) -> Estimate {
    let mut all: Vec<f64> = chains.iter().flatten().copied().collect();
    all.sort_by(f64::total_cmp);
    let q = |p: f64| quantile_of_sorted(&all, p);
    let a = (1.0 - level) / 2.0;
    Estimate {
        mean: all.iter().sum::<f64>() / all.len() as f64,
        median: q(0.5),
        ci_low: q(a),
        ci_high: q(1.0 - a),
        mcse: mcse_mean(chains),
    }
}

/// `x` exceeds `limit`, or is not a number (a statistic that cannot be computed fails).
fn above(x: f64, limit: f64) -> bool {
    x.is_nan() || x > limit
}

/// `x` is under `limit`, or is not a number.
fn below(x: f64, limit: f64) -> bool {
    x.is_nan() || x < limit
}

struct Worst {
    r_hat: (f64, String),
    bulk: (f64, String),
    tail: (f64, String),
}

impl Worst {
    fn add(&mut self, name: impl Fn() -> String, d: Diagnostic) {
        // NaN (a constant quantity) counts as failing.
        if above(d.r_hat, self.r_hat.0) {
            self.r_hat = (d.r_hat, name());
        }
        if below(d.ess_bulk, self.bulk.0) {
            self.bulk = (d.ess_bulk, name());
        }
        if below(d.ess_tail, self.tail.0) {
            self.tail = (d.ess_tail, name());
        }
    }
}

pub(crate) fn summarise(
    data: &Data,
    posterior: &Posterior,
    runs: &[ChainRun],
    reference: usize,
    s: &Settings,
    elapsed: Duration,
) -> Result<ThresholdFit, ThresholdError> {
    let layout: Layout = posterior.layout;
    let n_cells = data.cells.len();
    let mut worst = Worst {
        r_hat: (f64::NEG_INFINITY, String::new()),
        bulk: (f64::INFINITY, String::new()),
        tail: (f64::INFINITY, String::new()),
    };
    for i in 0..layout.dim() {
        let chains: Chains = runs.iter().map(|r| r.draws.iter().map(|d| d[i]).collect()).collect();
        worst.add(|| layout.name(i), diagnose(&chains));
    }
    // Cell states per chain and draw.
    let states: Vec<Vec<Vec<crate::model::CellState>>> = runs
        .iter()
        .map(|r| r.draws.iter().map(|d| (0..n_cells).map(|i| posterior.cell_state(d, i)).collect()).collect())
        .collect();
    let cell_chains = |i: usize, f: fn(&crate::model::CellState) -> f64| -> Chains {
        states.iter().map(|c| c.iter().map(|d| f(&d[i])).collect()).collect()
    };
    // Stop weights per district (all groups).
    let mut weight = vec![0.0; data.districts.len()];
    for c in &data.cells {
        weight[c.district] += c.stops as f64;
    }
    let race_chains: Vec<Chains> = (0..data.races.len())
        .map(|r| {
            let cells: Vec<usize> = (0..n_cells).filter(|&i| data.cells[i].race == r).collect();
            let total: f64 = cells.iter().map(|&i| weight[data.cells[i].district]).sum();
            states
                .iter()
                .map(|c| {
                    c.iter()
                        .map(|d| {
                            cells.iter().map(|&i| weight[data.cells[i].district] * d[i].threshold).sum::<f64>() / total
                        })
                        .collect()
                })
                .collect()
        })
        .collect();
    let mut races = Vec::new();
    for (r, name) in data.races.iter().enumerate() {
        worst.add(|| format!("threshold[{name}]"), diagnose(&race_chains[r]));
        let (difference, probability_lower) = if r == reference {
            (None, None)
        } else {
            let diff: Chains = race_chains[r]
                .iter()
                .zip(&race_chains[reference])
                .map(|(a, b)| a.iter().zip(b).map(|(x, y)| x - y).collect())
                .collect();
            worst.add(|| format!("difference[{name}]"), diagnose(&diff));
            let all: Vec<f64> = diff.iter().flatten().copied().collect();
            let lower = all.iter().filter(|&&x| x < 0.0).count() as f64 / all.len() as f64;
            (Some(estimate(&diff, s.level)), Some(lower))
        };
        let of = data.cells.iter().filter(|c| c.race == r);
        races.push(RaceThreshold {
            race: name.clone(),
            stops: of.clone().map(|c| c.stops).sum(),
            searches: of.clone().map(|c| c.searches).sum(),
            hits: of.map(|c| c.hits).sum(),
            threshold: estimate(&race_chains[r], s.level),
            difference,
            probability_lower,
        });
    }
    let divergences: u64 = runs.iter().map(|r| r.divergences).sum();
    let per_chain = runs[0].draws.len() as u64;
    let kept = (s.chains as u64 * per_chain) as f64;
    let diagnostics = Diagnostics {
        sampler: format!("NUTS (nuts-rs 0.19), diagonal mass matrix, target acceptance {}", s.target_accept),
        parametrisation: posterior.form,
        chains: s.chains,
        tune: s.tune,
        draws: per_chain,
        seed: s.seed,
        target_accept: s.target_accept,
        parameters: layout.dim(),
        divergences,
        max_tree_depth_hits: runs.iter().map(|r| r.max_depth_hits).sum(),
        step_sizes: runs.iter().map(|r| r.step_size).collect(),
        gradient_evaluations: runs.iter().map(|r| r.gradients).sum(),
        seconds: elapsed.as_secs_f64(),
        max_r_hat: worst.r_hat.0,
        max_r_hat_of: worst.r_hat.1,
        min_ess_bulk: worst.bulk.0,
        min_ess_bulk_of: worst.bulk.1,
        min_ess_tail: worst.tail.0,
        min_ess_tail_of: worst.tail.1,
        limits: s.limits,
    };
    let l = &s.limits;
    let mut reasons = Vec::new();
    if above(diagnostics.max_r_hat, l.max_r_hat) {
        reasons.push(format!(
            "R-hat {:.3} of {} exceeds {}",
            diagnostics.max_r_hat, diagnostics.max_r_hat_of, l.max_r_hat
        ));
    }
    for (what, ess, of) in [
        ("bulk", diagnostics.min_ess_bulk, &diagnostics.min_ess_bulk_of),
        ("tail", diagnostics.min_ess_tail, &diagnostics.min_ess_tail_of),
    ] {
        if below(ess, l.min_ess) {
            reasons.push(format!("{what} effective sample size {ess:.0} of {of} is below {}", l.min_ess));
        }
    }
    if divergences as f64 > l.max_divergent_share * kept {
        reasons.push(format!("{divergences} of {kept} draws diverged (limit {:.1}%)", l.max_divergent_share * 100.0));
    }
    if !reasons.is_empty() {
        return Err(ThresholdError::NotConverged {
            reason: format!("{}; try more draws (--draws) or another seed", reasons.join("; ")),
            diagnostics: Box::new(diagnostics),
        });
    }
    let (cells, predictive_check) = check_predictions(data, &states, &cell_chains, s);
    Ok(ThresholdFit {
        reference: data.races[reference].clone(),
        level: s.level,
        races,
        cells,
        predictive_check,
        diagnostics,
    })
}

type CellChains<'a> = dyn Fn(usize, fn(&crate::model::CellState) -> f64) -> Chains + 'a;

/// Per cell: predicted rates and the 95% interval of rates in data replicated from each draw (searches ~
/// Binomial(stops, search rate), hits ~ Binomial(searches, hit rate)); over cells: RMS errors and the
/// share of observed values inside their intervals.
fn check_predictions(
    data: &Data,
    states: &[Vec<Vec<crate::model::CellState>>],
    cell_chains: &CellChains<'_>,
    s: &Settings,
) -> (Vec<CellFit>, PredictiveCheck) {
    let mut rng = ChaCha8Rng::seed_from_u64(s.seed ^ 0x5eed_ca11);
    let (mut se_s, mut se_h, mut n_h) = (0.0, 0.0, 0usize);
    let (mut cov_s, mut cov_h) = (0usize, 0usize);
    let mut cells = Vec::with_capacity(data.cells.len());
    for (i, c) in data.cells.iter().enumerate() {
        let (mut rep_s, mut rep_h) = (Vec::new(), Vec::new());
        let (mut sum_s, mut sum_h, mut k) = (0.0, 0.0, 0.0);
        for d in states.iter().flatten() {
            let st = &d[i];
            sum_s += st.search_rate;
            sum_h += st.hit_rate;
            k += 1.0;
            let rs = Binomial::new(c.stops, st.search_rate.clamp(0.0, 1.0)).map_or(0, |b| b.sample(&mut rng));
            rep_s.push(rs as f64 / c.stops as f64);
            if c.searches > 0 {
                // Hits replicated among the observed searches, as the hit rate is read.
                let rh = Binomial::new(c.searches, st.hit_rate.clamp(0.0, 1.0)).map_or(0, |b| b.sample(&mut rng));
                rep_h.push(rh as f64 / c.searches as f64);
            }
        }
        let interval = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
            (q(0.025), q(0.975))
        };
        let observed_s = c.searches as f64 / c.stops as f64;
        let (pred_s, pred_h) = (sum_s / k, sum_h / k);
        let rs = interval(&mut rep_s);
        se_s += (pred_s - observed_s).powi(2);
        cov_s += usize::from(rs.0 <= observed_s && observed_s <= rs.1);
        let (observed_h, rh) = if c.searches > 0 {
            let o = c.hits as f64 / c.searches as f64;
            let rh = interval(&mut rep_h);
            se_h += (pred_h - o).powi(2);
            n_h += 1;
            cov_h += usize::from(rh.0 <= o && o <= rh.1);
            (Some(o), Some(rh))
        } else {
            (None, None)
        };
        cells.push(CellFit {
            race: data.races[c.race].clone(),
            district: data.districts[c.district].clone(),
            stops: c.stops,
            searches: c.searches,
            hits: c.hits,
            threshold: estimate(&cell_chains(i, |st| st.threshold), s.level),
            observed_search_rate: observed_s,
            predicted_search_rate: pred_s,
            replicated_search_rate: rs,
            observed_hit_rate: observed_h,
            predicted_hit_rate: pred_h,
            replicated_hit_rate: rh,
        });
    }
    let n = data.cells.len() as f64;
    let nh = n_h.max(1) as f64;
    let check = PredictiveCheck {
        search_rate_rmse: (se_s / n).sqrt(),
        hit_rate_rmse: (se_h / nh).sqrt(),
        search_covered: cov_s as f64 / n,
        hit_covered: cov_h as f64 / nh,
    };
    (cells, check)
}
