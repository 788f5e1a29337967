//! Data drawn from the threshold model itself, with known parameters: the recovery test fits it and checks
//! each true threshold lies in its credible interval, and `tests/reference/threshold_pymc.py` fits the
//! same data with PyMC.

use crate::{Cell, Data};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Binomial, Distribution, Normal};

/// Known parameters of each race: ln δ and logit φ at the first district, and the signal threshold t.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrueRace {
    pub name: &'static str,
    pub phi: f64,
    pub delta: f64,
    pub t: f64,
}

/// A simulated data set and its true stop-weighted thresholds per race (probability scale).
#[derive(Debug, Clone)]
pub struct Simulated {
    pub data: Data,
    pub thresholds: Vec<f64>,
}

/// Draws `districts` districts: district effects on φ and δ from N(0, 0.1) (the model's prior), each cell's
/// threshold t_r + N(0, sigma_t), stops from `stops` (cycled), then searches and hits from the model.
pub fn simulate(races: &[TrueRace], districts: usize, stops: &[u64], sigma_t: f64, seed: u64) -> Simulated {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let sd = Normal::new(0.0, 0.1).expect("valid normal");
    let unit = Normal::new(0.0, 1.0).expect("valid normal");
    let mut cells = Vec::new();
    let mut truth = vec![vec![0.0; districts]; races.len()];
    for d in 0..districts {
        let (pd, dd) = if d == 0 { (0.0, 0.0) } else { (sd.sample(&mut rng), sd.sample(&mut rng)) };
        for (r, race) in races.iter().enumerate() {
            let n = stops[(d * races.len() + r) % stops.len()];
            let a = race.phi + pd;
            let delta = (race.delta + dd).exp();
            let t = race.t + sigma_t * unit.sample(&mut rng);
            let phi = crate::normal::sigmoid(a);
            let q = |x: f64| (crate::normal::log_cdf(-x)).exp();
            let search = phi * q(t - delta) + (1.0 - phi) * q(t);
            let hit = phi * q(t - delta) / search;
            let s = Binomial::new(n, search).expect("a probability").sample(&mut rng);
            let h = Binomial::new(s, hit).expect("a probability").sample(&mut rng);
            truth[r][d] = crate::normal::sigmoid(a + delta * t - 0.5 * delta * delta);
            cells.push(Cell { race: r, district: d, stops: n, searches: s, hits: h });
        }
    }
    let weights: Vec<f64> =
        (0..districts).map(|d| cells.iter().filter(|c| c.district == d).map(|c| c.stops as f64).sum()).collect();
    let total: f64 = weights.iter().sum();
    let thresholds = truth.iter().map(|t| t.iter().zip(&weights).map(|(p, w)| p * w).sum::<f64>() / total).collect();
    Simulated {
        data: Data {
            races: races.iter().map(|r| r.name.to_owned()).collect(),
            districts: (0..districts).map(|d| format!("d{d:03}")).collect(),
            cells,
        },
        thresholds,
    }
}
