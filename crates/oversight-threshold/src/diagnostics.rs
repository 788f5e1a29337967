//! Convergence diagnostics of Vehtari, Gelman, Simpson, Carpenter & Bürkner (2021), as Stan, ArviZ and
//! PyMC compute them: rank-normalised split R-hat (the larger of the bulk and the folded-tail value), bulk
//! effective sample size, and tail effective sample size (the smaller of those of the 5% and 95%
//! quantile indicators), with Geyer's initial monotone sequence over the chains' autocorrelations.

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal};

/// The diagnostics of one quantity.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Diagnostic {
    pub r_hat: f64,
    pub ess_bulk: f64,
    pub ess_tail: f64,
}

/// Diagnostics of draws laid out as `chains[c][i]` (every chain the same length, at least 4 draws).
pub fn diagnose(chains: &[Vec<f64>]) -> Diagnostic {
    let split = split_chains(chains);
    let z = rank_normalise(&split);
    let mut sorted: Vec<f64> = split.iter().flatten().copied().collect();
    sorted.sort_by(f64::total_cmp);
    let median = quantile_of_sorted(&sorted, 0.5);
    let folded: Vec<Vec<f64>> = split.iter().map(|c| c.iter().map(|x| (x - median).abs()).collect()).collect();
    let r_hat = r_hat(&z).max(r_hat(&rank_normalise(&folded)));
    let ess_bulk = ess(&z);
    let tail = |p: f64| {
        let q = quantile_of_sorted(&sorted, p);
        let ind: Vec<Vec<f64>> =
            split.iter().map(|c| c.iter().map(|&x| if x <= q { 1.0 } else { 0.0 }).collect()).collect();
        ess(&ind)
    };
    Diagnostic { r_hat, ess_bulk, ess_tail: tail(0.05).min(tail(0.95)) }
}

/// Monte Carlo standard error of the posterior mean: sd / √ESS of the split (not rank-normalised) draws, as
/// ArviZ's `mcse(method="mean")`.
pub fn mcse_mean(chains: &[Vec<f64>]) -> f64 {
    let split = split_chains(chains);
    let all: Vec<f64> = split.iter().flatten().copied().collect();
    (variance(&all) / ess(&split)).sqrt()
}

fn split_chains(chains: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let half = chains[0].len() / 2;
    let n = chains[0].len();
    chains.iter().flat_map(|c| [c[..half].to_vec(), c[n - half..].to_vec()]).collect()
}

/// The `p` quantile of sorted values (linear interpolation, as numpy's default).
pub(crate) fn quantile_of_sorted(sorted: &[f64], p: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Φ⁻¹((rank − 3/8) / (S + 1/4)) with average ranks for ties.
fn rank_normalise(chains: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let n = chains[0].len();
    let mut idx: Vec<(f64, usize)> =
        chains.iter().enumerate().flat_map(|(c, v)| v.iter().enumerate().map(move |(i, &x)| (x, c * n + i))).collect();
    idx.sort_by(|a, b| a.0.total_cmp(&b.0));
    let s = idx.len();
    let mut ranks = vec![0.0; s];
    let mut i = 0;
    while i < s {
        let mut j = i;
        while j + 1 < s && idx[j + 1].0 == idx[i].0 {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for k in &idx[i..=j] {
            ranks[k.1] = avg;
        }
        i = j + 1;
    }
    let normal = Normal::standard();
    let total = s as f64;
    (0..chains.len())
        .map(|c| (0..n).map(|i| normal.inverse_cdf((ranks[c * n + i] - 0.375) / (total + 0.25))).collect())
        .collect()
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

fn variance(v: &[f64]) -> f64 {
    let m = mean(v);
    v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() - 1) as f64
}

fn r_hat(chains: &[Vec<f64>]) -> f64 {
    let n = chains[0].len() as f64;
    let means: Vec<f64> = chains.iter().map(|c| mean(c)).collect();
    let b = n * variance(&means);
    let w = mean(&chains.iter().map(|c| variance(c)).collect::<Vec<_>>());
    if w == 0.0 {
        return if b == 0.0 { 1.0 } else { f64::INFINITY };
    }
    (((n - 1.0) / n * w + b / n) / w).sqrt()
}

/// Autocovariance of one chain at `lag` (divided by n, as Stan does).
fn autocov(c: &[f64], m: f64, lag: usize) -> f64 {
    let n = c.len();
    (0..n - lag).map(|i| (c[i] - m) * (c[i + lag] - m)).sum::<f64>() / n as f64
}

/// Multi-chain effective sample size, as ArviZ's `_ess` computes it, with the autocovariances computed
/// lag by lag until Geyer's initial positive sequence stops (the chains are short).
fn ess(chains: &[Vec<f64>]) -> f64 {
    let n = chains[0].len();
    let nf = n as f64;
    let total = chains.len() as f64 * nf;
    let means: Vec<f64> = chains.iter().map(|c| mean(c)).collect();
    // W with n − 1 (ArviZ's `mean_var`), var⁺ = W·(n − 1)/n + the variance of the chain means.
    let mean_var = mean(&chains.iter().map(|c| variance(c)).collect::<Vec<_>>());
    let var_plus = mean_var * (nf - 1.0) / nf + if chains.len() > 1 { variance(&means) } else { 0.0 };
    if !(var_plus > 0.0 && var_plus.is_finite()) {
        return total;
    }
    let rho = |lag: usize| -> f64 {
        let acov = mean(&chains.iter().zip(&means).map(|(c, &mu)| autocov(c, mu, lag)).collect::<Vec<_>>());
        1.0 - (mean_var - acov) / var_plus
    };
    let mut rho_t = vec![0.0; n];
    rho_t[0] = 1.0;
    let (mut even, mut odd) = (1.0, rho(1));
    rho_t[1] = odd;
    let mut t = 1;
    while t + 3 < n && even + odd > 0.0 {
        even = rho(t + 1);
        odd = rho(t + 2);
        if even + odd >= 0.0 {
            rho_t[t + 1] = even;
            rho_t[t + 2] = odd;
        }
        t += 2;
    }
    let max_t = t.saturating_sub(2);
    if even > 0.0 {
        rho_t[max_t + 1] = even;
    }
    // Initial monotone sequence.
    let mut t = 1;
    while t + 2 <= max_t {
        if rho_t[t + 1] + rho_t[t + 2] > rho_t[t - 1] + rho_t[t] {
            rho_t[t + 1] = (rho_t[t - 1] + rho_t[t]) / 2.0;
            rho_t[t + 2] = rho_t[t + 1];
        }
        t += 2;
    }
    let tau = (-1.0 + 2.0 * rho_t[..=max_t].iter().sum::<f64>() + rho_t[max_t + 1]).max(1.0 / total.log10());
    total / tau
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn independent_draws_have_r_hat_one_and_full_ess() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let chains: Vec<Vec<f64>> = (0..4).map(|_| (0..1000).map(|_| rng.random::<f64>()).collect()).collect();
        let d = diagnose(&chains);
        assert!((d.r_hat - 1.0).abs() < 0.01, "{d:?}");
        assert!(d.ess_bulk > 3000.0 && d.ess_bulk < 5000.0, "{d:?}");
        assert!(d.ess_tail > 2500.0, "{d:?}");
    }

    #[test]
    fn chains_stuck_in_different_places_fail() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let chains: Vec<Vec<f64>> =
            (0..4).map(|c| (0..1000).map(|_| c as f64 + rng.random::<f64>()).collect()).collect();
        let d = diagnose(&chains);
        assert!(d.r_hat > 1.5, "{d:?}");
    }

    #[test]
    fn autocorrelated_draws_have_fewer_effective_samples() {
        // AR(1) with ρ = 0.9: ESS ≈ S·(1 − ρ)/(1 + ρ) ≈ 4000/19 ≈ 210.
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let normal = Normal::standard();
        let chains: Vec<Vec<f64>> = (0..4)
            .map(|_| {
                let mut x = 0.0;
                (0..1000)
                    .map(|_| {
                        x = 0.9 * x + (1.0f64 - 0.81).sqrt() * normal.inverse_cdf(rng.random::<f64>());
                        x
                    })
                    .collect()
            })
            .collect();
        let d = diagnose(&chains);
        assert!(d.ess_bulk > 120.0 && d.ess_bulk < 330.0, "{d:?}");
    }
}
