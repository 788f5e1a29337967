//! The threshold model of Simoiu, Corbett-Davies & Goel (2017) with the discriminant distribution of
//! Pierson, Simoiu, Overgoor, Corbett-Davies et al. (2018), hierarchical over districts, written as the
//! Stanford Open Policing Project's `threshold_test.stan` writes it.
//!
//! Each stopped person of race r in district d carries contraband with probability φ_rd = logit⁻¹(φ_r +
//! φ_d). The officer sees a signal: N(δ_rd, 1) for those who carry it, N(0, 1) for the others, δ_rd =
//! exp(δ_r + δ_d). The officer searches when the signal exceeds t_rd = t_r + σ_t·z_rd. So
//! the search rate is φ·Q(t − δ) + (1 − φ)·Q(t) and the hit rate φ·Q(t − δ) / search rate (Q = 1 − Φ);
//! searches ~ Binomial(stops, search rate), hits ~ Binomial(searches, hit rate). The threshold on the
//! probability scale, what the test compares, is the probability of contraband at the signal t:
//! logit p = logit φ + δ·t − δ²/2.
//!
//! Priors as in OPP: σ_t ~ N⁺(0, 1); t_r ~ N(0, 1); t_rd ~ N(t_r, σ_t); μ_φ, μ_δ ~ N(0, 1); φ_r ~ N(μ_φ, 0.1);
//! δ_r ~ N(μ_δ, 0.1); φ_d, δ_d ~ N(0, 0.1) for every district but the first (pinned at 0).
//!
//! The two binomial likelihoods multiply to a multinomial over (hit, search without hit, no search):
//! ℓ = h·ln A + (s − h)·ln B + (n − s)·ln C with A = φ·Q(t − δ), B = (1 − φ)·Q(t), C = 1 − A − B,
//! each evaluated in log space, and the gradient is written out by hand (checked against finite
//! differences in the tests).

use crate::normal::{d_log_cdf, log_add_exp, log_cdf, log_sigmoid, sigmoid};

/// One race × district cell of the data: counts of stops, searches among them, and hits among those.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Cell {
    pub race: usize,
    pub district: usize,
    pub stops: u64,
    pub searches: u64,
    pub hits: u64,
}

/// Where each parameter lives in the unconstrained vector the sampler moves.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layout {
    pub races: usize,
    pub districts: usize,
    pub cells: usize,
}

impl Layout {
    /// ln σ_t.
    pub(crate) const LOG_SIGMA: usize = 0;
    pub(crate) fn t_race(&self) -> usize {
        1
    }
    pub(crate) fn z(&self) -> usize {
        self.t_race() + self.races
    }
    pub(crate) fn phi_race(&self) -> usize {
        self.z() + self.cells
    }
    pub(crate) fn phi_district(&self) -> usize {
        self.phi_race() + self.races
    }
    pub(crate) fn mu_phi(&self) -> usize {
        self.phi_district() + self.districts - 1
    }
    pub(crate) fn delta_race(&self) -> usize {
        self.mu_phi() + 1
    }
    pub(crate) fn delta_district(&self) -> usize {
        self.delta_race() + self.races
    }
    pub(crate) fn mu_delta(&self) -> usize {
        self.delta_district() + self.districts - 1
    }
    pub(crate) fn dim(&self) -> usize {
        self.mu_delta() + 1
    }

    /// The name of each coordinate, for diagnostics.
    pub(crate) fn name(&self, i: usize) -> String {
        let ranges = [
            (self.t_race(), self.races, "t_race"),
            (self.z(), self.cells, "t_cell"),
            (self.phi_race(), self.races, "phi_race"),
            (self.phi_district(), self.districts - 1, "phi_district"),
            (self.delta_race(), self.races, "delta_race"),
            (self.delta_district(), self.districts - 1, "delta_district"),
        ];
        if i == Self::LOG_SIGMA {
            return "log_sigma_t".into();
        }
        if i == self.mu_phi() {
            return "mu_phi".into();
        }
        if i == self.mu_delta() {
            return "mu_delta".into();
        }
        for (start, len, name) in ranges {
            if (start..start + len).contains(&i) {
                return format!("{name}[{}]", i - start);
            }
        }
        format!("theta[{i}]")
    }
}

/// The cell-level quantities of one parameter draw.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct CellState {
    /// Probability of contraband at the search threshold.
    pub threshold: f64,
    pub search_rate: f64,
    pub hit_rate: f64,
}

/// How the cells' thresholds are parametrised. The posterior is the same; how well the sampler moves is
/// not. Non-centred (OPP's `t_r + σ_t·z`) suits few cells, where σ_t is loosely known and the centred form
/// has a funnel; centred (`t ~ N(t_r, σ_t)`) suits many, where the data pin each cell's threshold and the
/// non-centred form makes the sampler move t_r against every z at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Parametrisation {
    Centred,
    NonCentred,
    /// One cell per race (a jurisdiction-wide test): the cell's threshold is the race's, t = t_r. There is no
    /// spread between cells to estimate, and with it free t_r and σ_t·z would trade off without end.
    /// (σ_t and z keep their priors and are sampled from them; they enter nothing.)
    Pooled,
}

/// The posterior density of the model over a data set.
#[derive(Debug, Clone)]
pub(crate) struct Posterior {
    pub layout: Layout,
    pub cells: Vec<Cell>,
    pub form: Parametrisation,
}

const RACE_SD: f64 = 0.1;
const DISTRICT_SD: f64 = 0.1;

/// φ, δ and t of a cell.
struct Params {
    a: f64,
    delta: f64,
    t: f64,
}

impl Posterior {
    pub(crate) fn new(races: usize, districts: usize, cells: Vec<Cell>, form: Parametrisation) -> Self {
        Self { layout: Layout { races, districts, cells: cells.len() }, cells, form }
    }

    fn params(&self, x: &[f64], i: usize, c: &Cell) -> Params {
        let l = &self.layout;
        let (pd, dd) = if c.district == 0 {
            (0.0, 0.0)
        } else {
            (x[l.phi_district() + c.district - 1], x[l.delta_district() + c.district - 1])
        };
        Params {
            a: x[l.phi_race() + c.race] + pd,
            delta: (x[l.delta_race() + c.race] + dd).exp(),
            t: match self.form {
                Parametrisation::Centred => x[l.z() + i],
                Parametrisation::NonCentred => x[l.t_race() + c.race] + x[Layout::LOG_SIGMA].exp() * x[l.z() + i],
                Parametrisation::Pooled => x[l.t_race() + c.race],
            },
        }
    }

    /// The log posterior density (up to a constant) and its gradient.
    pub(crate) fn logp(&self, x: &[f64], grad: &mut [f64]) -> f64 {
        let l = &self.layout;
        grad.fill(0.0);
        let mut lp = 0.0;
        // Priors.
        let u = x[Layout::LOG_SIGMA];
        let sigma = u.exp();
        lp += -0.5 * sigma * sigma + u;
        grad[Layout::LOG_SIGMA] += -sigma * sigma + 1.0;
        let normal = |i: usize, mean: f64, sd: f64, grad: &mut [f64]| -> f64 {
            let d = (x[i] - mean) / sd;
            grad[i] -= d / sd;
            -0.5 * d * d
        };
        for (mu, start) in [(l.mu_phi(), l.phi_race()), (l.mu_delta(), l.delta_race())] {
            lp += normal(mu, 0.0, 1.0, grad);
            for r in 0..l.races {
                let d = (x[start + r] - x[mu]) / RACE_SD;
                lp += -0.5 * d * d;
                grad[start + r] -= d / RACE_SD;
                grad[mu] += d / RACE_SD;
            }
        }
        for r in 0..l.races {
            lp += normal(l.t_race() + r, 0.0, 1.0, grad);
        }
        // Cell thresholds, centred: t_i ~ N(t_r, σ_t). (OPP writes t_r + σ_t·z_i; the posterior is the same,
        // but with hundreds of stops per cell the data pin each t_i, and the centred form then mixes far
        // better: the sampler need not move t_r against every z_i at once.)
        for (i, c) in self.cells.iter().enumerate() {
            match self.form {
                Parametrisation::Centred => {
                    let d = (x[l.z() + i] - x[l.t_race() + c.race]) / sigma;
                    lp += -0.5 * d * d - u;
                    grad[l.z() + i] -= d / sigma;
                    grad[l.t_race() + c.race] += d / sigma;
                    grad[Layout::LOG_SIGMA] += d * d - 1.0;
                }
                Parametrisation::NonCentred | Parametrisation::Pooled => lp += normal(l.z() + i, 0.0, 1.0, grad),
            }
        }
        for d in 0..l.districts - 1 {
            lp += normal(l.phi_district() + d, 0.0, DISTRICT_SD, grad);
            lp += normal(l.delta_district() + d, 0.0, DISTRICT_SD, grad);
        }
        // Likelihood.
        for (i, c) in self.cells.iter().enumerate() {
            let Params { a, delta, t } = self.params(x, i, c);
            let (h, s, n) = (c.hits as f64, c.searches as f64, c.stops as f64);
            let (lphi, l1phi, phi) = (log_sigmoid(a), log_sigmoid(-a), sigmoid(a));
            let (mut ga, mut gdelta, mut gt) = (0.0, 0.0, 0.0);
            if h > 0.0 {
                lp += h * (lphi + log_cdf(delta - t));
                let m = d_log_cdf(delta - t);
                gt -= h * m;
                gdelta += h * m;
                ga += h * (1.0 - phi);
            }
            if s - h > 0.0 {
                lp += (s - h) * (l1phi + log_cdf(-t));
                gt -= (s - h) * d_log_cdf(-t);
                ga -= (s - h) * phi;
            }
            if n - s > 0.0 {
                let c1 = lphi + log_cdf(t - delta);
                let c2 = l1phi + log_cdf(t);
                let lc = log_add_exp(c1, c2);
                let (wa, wb) = ((c1 - lc).exp(), (c2 - lc).exp());
                lp += (n - s) * lc;
                let m1 = d_log_cdf(t - delta);
                gt += (n - s) * (wa * m1 + wb * d_log_cdf(t));
                gdelta -= (n - s) * wa * m1;
                ga += (n - s) * (wa - phi);
            }
            let gb = gdelta * delta;
            match self.form {
                Parametrisation::Centred => grad[l.z() + i] += gt,
                Parametrisation::NonCentred => {
                    grad[l.t_race() + c.race] += gt;
                    grad[l.z() + i] += gt * sigma;
                    grad[Layout::LOG_SIGMA] += gt * sigma * x[l.z() + i];
                }
                Parametrisation::Pooled => grad[l.t_race() + c.race] += gt,
            }
            grad[l.phi_race() + c.race] += ga;
            grad[l.delta_race() + c.race] += gb;
            if c.district > 0 {
                grad[l.phi_district() + c.district - 1] += ga;
                grad[l.delta_district() + c.district - 1] += gb;
            }
        }
        lp
    }

    /// Threshold, search rate and hit rate of cell `i` at parameters `x`.
    pub(crate) fn cell_state(&self, x: &[f64], i: usize) -> CellState {
        let c = &self.cells[i];
        let Params { a, delta, t } = self.params(x, i, c);
        let la = log_sigmoid(a) + log_cdf(delta - t);
        let lb = log_sigmoid(-a) + log_cdf(-t);
        let ls = log_add_exp(la, lb);
        CellState {
            threshold: sigmoid(a + delta * t - 0.5 * delta * delta),
            search_rate: ls.exp(),
            hit_rate: (la - ls).exp(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn posterior() -> Posterior {
        let cells = vec![
            Cell { race: 0, district: 0, stops: 1000, searches: 40, hits: 12 },
            Cell { race: 1, district: 0, stops: 800, searches: 90, hits: 20 },
            Cell { race: 0, district: 1, stops: 500, searches: 0, hits: 0 },
            Cell { race: 1, district: 1, stops: 300, searches: 300, hits: 100 },
            Cell { race: 2, district: 2, stops: 2000, searches: 3, hits: 3 },
        ];
        Posterior::new(3, 3, cells, Parametrisation::Centred)
    }

    #[test]
    fn the_gradient_is_the_slope_of_the_log_density() {
        for form in [Parametrisation::Centred, Parametrisation::NonCentred, Parametrisation::Pooled] {
            gradient_matches(&Posterior { form, ..posterior() });
        }
    }

    fn gradient_matches(p: &Posterior) {
        let dim = p.layout.dim();
        assert_eq!(dim, 1 + 3 + 5 + 3 + 2 + 1 + 3 + 2 + 1);
        for seed in 0..5u32 {
            let x: Vec<f64> =
                (0..dim).map(|i| (((i as u32 * 7919 + seed * 104_729) % 1000) as f64 / 500.0 - 1.0) * 1.5).collect();
            let mut g = vec![0.0; dim];
            p.logp(&x, &mut g);
            for i in 0..dim {
                let h = 1e-6;
                let (mut xp, mut xm) = (x.clone(), x.clone());
                xp[i] += h;
                xm[i] -= h;
                let mut scratch = vec![0.0; dim];
                let fd = (p.logp(&xp, &mut scratch) - p.logp(&xm, &mut scratch)) / (2.0 * h);
                assert!((fd - g[i]).abs() <= 1e-5 * fd.abs().max(1.0), "{}: {fd} vs {}", p.layout.name(i), g[i]);
            }
        }
    }

    #[test]
    fn rates_follow_the_signal_model() {
        let p = posterior();
        let l = p.layout;
        let mut x = vec![0.0; l.dim()];
        // φ = 0.5, δ = 1, t = 1 for cell 0 (race 0, district 0).
        x[l.z()] = 1.0;
        let s = p.cell_state(&x, 0);
        let q = |v: f64| 0.5 * statrs::function::erf::erfc(v / std::f64::consts::SQRT_2);
        let want_search = 0.5 * q(0.0) + 0.5 * q(1.0);
        assert!((s.search_rate - want_search).abs() < 1e-12);
        assert!((s.hit_rate - 0.5 * q(0.0) / want_search).abs() < 1e-12);
        // logit p = 0 + 1·1 − 1/2.
        assert!((s.threshold - 1.0 / (1.0 + (-0.5f64).exp())).abs() < 1e-12);
    }
}
