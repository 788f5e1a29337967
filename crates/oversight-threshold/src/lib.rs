//! The threshold test for discrimination in search decisions (Simoiu, Corbett-Davies & Goel 2017), in the
//! fast form of Pierson, Simoiu, Overgoor, Corbett-Davies et al. (2018): from counts of stops, searches
//! and hits (searches that found contraband) by race and district, infer the probability of contraband at
//! which officers search each group. A lower threshold for a group means its members are searched on
//! less evidence, which is what discrimination in searching means; unlike comparing hit rates (the outcome
//! test), it does not mistake differences in who is stopped for differences in how searches are decided.
//!
//! The model ([`model`]) is the Stanford Open Policing Project's `threshold_test.stan`; it is fitted by
//! the No-U-Turn sampler of the maintained `nuts-rs` crate with analytic gradients ([`sampler`]), checked
//! with split R-hat and effective sample sizes ([`diagnostics`]) and refused when they fail, and checked
//! against the data with the paper's posterior predictive check (predicted vs observed search and hit
//! rates). `tests/reference/threshold_pymc.py` fits the same model with PyMC; the tests compare.

pub mod diagnostics;
mod model;
mod normal;
mod sampler;
pub mod simulate;
mod summary;

pub use diagnostics::Diagnostic;
pub use model::{Cell, Parametrisation};
pub use summary::{CellFit, Diagnostics, Estimate, Limits, PredictiveCheck, RaceThreshold, ThresholdFit};

use serde::Serialize;

/// Counts by race × district: the test's input.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Data {
    /// Race labels; `Cell::race` indexes them.
    pub races: Vec<String>,
    /// District labels; `Cell::district` indexes them (one district: a jurisdiction-wide test).
    pub districts: Vec<String>,
    pub cells: Vec<Cell>,
}

/// How to sample and when to refuse.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Settings {
    pub chains: usize,
    /// Warm-up draws per chain (discarded).
    pub tune: u64,
    /// Kept draws per chain to begin with.
    pub draws: u64,
    /// When R-hat or an effective sample size falls short (but nothing diverged), the chains are extended,
    /// doubling their kept draws, up to this many per chain; only then is the fit refused.
    pub max_draws: u64,
    pub seed: u64,
    /// The step size adaptation's target acceptance (Stan's and PyMC's default 0.8; OPP raised it to 0.95
    /// against divergences, which are counted and refused above 1% here).
    pub target_accept: f64,
    pub max_tree_depth: u64,
    /// Credible interval level.
    pub level: f64,
    pub limits: Limits,
    /// None: pooled with one cell per race, centred when every race has at least [`CENTRED_FROM`] cells,
    /// else non-centred.
    pub parametrisation: Option<Parametrisation>,
}

/// Cells per race from which the centred parametrisation is chosen.
pub const CENTRED_FROM: usize = 20;

impl Default for Settings {
    fn default() -> Self {
        Self {
            chains: 4,
            tune: 1000,
            draws: 3000,
            max_draws: 12_000,
            seed: 20_180_101,
            target_accept: 0.8,
            max_tree_depth: 10,
            level: 0.95,
            limits: Limits::default(),
            parametrisation: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ThresholdError {
    #[error("{0}")]
    Data(String),
    #[error("the sampler failed: {0}")]
    Sampler(String),
    /// The chains did not converge: no thresholds are reported, only why.
    #[error("the sampler did not converge, so no thresholds are reported: {reason}")]
    NotConverged { reason: String, diagnostics: Box<Diagnostics> },
}

/// The target acceptance a fit is retried at when divergences refused it (OPP's setting): smaller steps
/// follow a curved posterior where larger ones diverge.
pub const CAREFUL_TARGET_ACCEPT: f64 = 0.95;

/// Fits the model and summarises it, comparing every race with `reference` (an index into `data.races`).
/// Refused for divergences at the configured target acceptance, it is refitted once at
/// [`CAREFUL_TARGET_ACCEPT`] (the diagnostics say which was used).
pub fn fit(data: &Data, reference: usize, settings: &Settings) -> Result<ThresholdFit, ThresholdError> {
    check(data, reference, settings)?;
    match fit_once(data, reference, settings) {
        Err(ThresholdError::NotConverged { ref diagnostics, .. })
            if diagnostics.divergences > 0 && settings.target_accept < CAREFUL_TARGET_ACCEPT =>
        {
            fit_once(data, reference, &Settings { target_accept: CAREFUL_TARGET_ACCEPT, ..*settings })
        }
        answer => answer,
    }
}

fn fit_once(data: &Data, reference: usize, settings: &Settings) -> Result<ThresholdFit, ThresholdError> {
    let mut per_race = vec![0usize; data.races.len()];
    for c in &data.cells {
        per_race[c.race] += 1;
    }
    let (fewest, most) = (per_race.iter().copied().min().unwrap_or(0), per_race.iter().copied().max().unwrap_or(0));
    let form = settings.parametrisation.unwrap_or(if most <= 1 {
        Parametrisation::Pooled
    } else if fewest >= CENTRED_FROM {
        Parametrisation::Centred
    } else {
        Parametrisation::NonCentred
    });
    let posterior = model::Posterior::new(data.races.len(), data.districts.len(), data.cells.clone(), form);
    let started = std::time::Instant::now();
    sampler::run(&posterior, settings, |runs| {
        let kept = runs[0].draws.len() as u64;
        match summary::summarise(data, &posterior, runs, reference, settings, started.elapsed()) {
            // Short of effective draws, with nothing diverged: extend the chains (doubling) before refusing.
            Err(ThresholdError::NotConverged { ref diagnostics, .. })
                if diagnostics.divergences == 0 && kept * 2 <= settings.max_draws =>
            {
                Err(kept)
            }
            answer => Ok(answer),
        }
    })
    .map_err(|e| ThresholdError::Sampler(e.to_string()))?
}

fn check(data: &Data, reference: usize, s: &Settings) -> Result<(), ThresholdError> {
    let bad = |m: String| Err(ThresholdError::Data(m));
    if data.races.len() < 2 {
        return bad("the threshold test compares at least two groups".into());
    }
    if reference >= data.races.len() {
        return bad("the reference group is not among the groups".into());
    }
    if data.districts.is_empty() || data.cells.is_empty() {
        return bad("there are no stops to test".into());
    }
    if s.chains < 2 || s.draws < 100 || s.tune < 100 {
        return bad("the test needs at least 2 chains of 100 warm-up and 100 kept draws".into());
    }
    let mut seen = std::collections::HashSet::new();
    for c in &data.cells {
        if c.race >= data.races.len() || c.district >= data.districts.len() {
            return bad(format!("a cell names race {} / district {} beyond the labels", c.race, c.district));
        }
        if !seen.insert((c.race, c.district)) {
            return bad(format!("{} in {} appears twice", data.races[c.race], data.districts[c.district]));
        }
        if c.stops == 0 || c.searches > c.stops || c.hits > c.searches {
            return bad(format!(
                "{} in {}: {} stops, {} searches, {} hits (needs stops ≥ 1, searches ≤ stops, hits ≤ searches)",
                data.races[c.race], data.districts[c.district], c.stops, c.searches, c.hits
            ));
        }
    }
    for (r, name) in data.races.iter().enumerate() {
        if !data.cells.iter().any(|c| c.race == r && c.searches > 0) {
            return bad(format!("no {name} stop was searched: a threshold cannot be inferred from no searches"));
        }
    }
    Ok(())
}
