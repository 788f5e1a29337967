//! Coverage of the policy-impact intervals (issue 17): simulated monthly counts with a known effect, fitted
//! as the ITS and the DiD fit them, and the share of 95% intervals that cover the true rate ratio (and, with
//! no effect, the share called significant), for the old default and the new one.
//!
//! The data (as the issue specifies): `T` months (36, 60, 120), mean about 55, an AR(1) process with
//! coefficient 0.3 in the log mean (innovation sd 0.1 unless the third argument says otherwise; the issue
//! leaves it open: 0.1 gives a marginal variance about 2× the mean with the overdispersion below),
//! negative-binomial counts with variance 1.5× the (latent) mean (gamma–Poisson, shape 2μ), a level change
//! of rate ratio 0.75 from month ⌊0.6·T⌋ on, and a no-effect variant.
//!
//! **ITS**: the ITS's Poisson GLM (const, t, post, t since the event, one pair of harmonics). **DiD**: a
//! second, independent series of the same kind as the comparison group (no effect), and the DiD's Poisson
//! GLM (group + period fixed effects + group:post). Methods (same fits, different intervals):
//! - `hac-normal` (ITS) / `dk-normal` (DiD): the old defaults, Newey–West (Bartlett, ⌊4(T/100)^(2/9)⌋ lags,
//!   n/(n−k)) or Driscoll–Kraay errors, normal critical values;
//! - `hac-t`, `hac-fixed-b` (ITS): the same errors with t(T−k) or Kiefer–Vogelsang fixed-b critical values
//!   (1.96 + 2.9694·b + 0.4160·b² − 0.5324·b³, b = (lags+1)/T), for comparison;
//! - `quasi-ar1` (both): the new default, `CovType::QuasiAr1` (the Pearson dispersion and the residuals'
//!   design-corrected lag-1 autocorrelation, in a sandwich) with Student-t critical values on each
//!   coefficient's Satterthwaite degrees of freedom (`Reference::Satterthwaite`: the sampling error of both
//!   estimated parameters);
//! - `quasi-ar1, t(resid)` (both): the same covariance with the t reference it was first paired with,
//!   (n − k)(1 − ρ²)/(1 + ρ²) degrees of freedom (the dispersion's sampling error only), for comparison.
//!
//! Seeded and re-runnable: `cargo run --example its_coverage -- [SERIES] [SEED] [SIGMA]` (defaults 2000, 17,
//! 0.1); with `cargo build --workspace --examples`, `$CARGO_TARGET_DIR/debug/examples/its_coverage`.
//! `its_coverage time` times the fits on a 120-month series instead.

use oversight_stats::regression::{CovType, Design, Family, Fit, GroupsumCorrection, Reference, default_maxlags, glm};

const SIGMA_DEFAULT: f64 = 0.1;
const PHI: f64 = 0.3;
const MEAN: f64 = 55.0;
const EFFECT: f64 = 0.75;

/// xoshiro256** (seeded by SplitMix64): a small, reproducible generator with no dependency.
struct Rng([u64; 4]);

impl Rng {
    fn new(seed: u64) -> Self {
        let mut z = seed;
        let mut next = || {
            z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut x = z;
            x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            x ^ (x >> 31)
        };
        Rng([next(), next(), next(), next()])
    }
    fn u64(&mut self) -> u64 {
        let s = &mut self.0;
        let r = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        r
    }
    fn uniform(&mut self) -> f64 {
        ((self.u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
    /// Gamma(shape, 1) by Marsaglia and Tsang.
    fn gamma(&mut self, shape: f64) -> f64 {
        if shape < 1.0 {
            return self.gamma(shape + 1.0) * self.uniform().powf(1.0 / shape);
        }
        let d = shape - 1.0 / 3.0;
        let c = 1.0 / (9.0 * d).sqrt();
        loop {
            let x = self.normal();
            let v = (1.0 + c * x).powi(3);
            if v > 0.0 && self.uniform().ln() < 0.5 * x * x + d - d * v + d * v.ln() {
                return d * v;
            }
        }
    }
    /// Poisson by inversion (means here are below a few hundred).
    fn poisson(&mut self, mu: f64) -> f64 {
        let u = self.uniform();
        let (mut k, mut p) = (0.0, (-mu).exp());
        let mut cdf = p;
        while u > cdf && k < 10_000.0 {
            k += 1.0;
            p *= mu / k;
            cdf += p;
        }
        k
    }
}

/// One simulated series: counts, and the first post-event index.
fn series(rng: &mut Rng, t: usize, ratio: f64, sigma: f64) -> (Vec<f64>, usize) {
    let t0 = (0.6 * t as f64).floor() as usize;
    let mut e = rng.normal() * sigma / (1.0 - PHI * PHI).sqrt();
    let y = (0..t)
        .map(|i| {
            if i > 0 {
                e = PHI * e + sigma * rng.normal();
            }
            let mu = MEAN * (e + if i >= t0 { ratio.ln() } else { 0.0 }).exp();
            // Variance 1.5 μ: gamma–Poisson with shape 2μ (variance μ + μ²/(2μ)).
            let lambda = rng.gamma(2.0 * mu) / (2.0 * mu) * mu;
            rng.poisson(lambda)
        })
        .collect();
    (y, t0)
}

fn design(t: usize, t0: usize) -> Design {
    let col = |f: &dyn Fn(usize) -> f64| (0..t).map(f).collect::<Vec<f64>>();
    let post = |i: usize| f64::from(u8::from(i >= t0));
    Design::from_columns(vec![
        ("const".into(), col(&|_| 1.0)),
        ("t".into(), col(&|i| i as f64)),
        ("post".into(), col(&post)),
        ("t_since_event".into(), col(&|i| (i as f64 - t0 as f64) * post(i))),
        ("season_sin".into(), col(&|i| (std::f64::consts::TAU * (i % 12) as f64 / 12.0).sin())),
        ("season_cos".into(), col(&|i| (std::f64::consts::TAU * (i % 12) as f64 / 12.0).cos())),
    ])
}

const ITS_METHODS: [&str; 5] = ["hac-normal", "hac-t", "hac-fixed-b", "quasi-ar1, t(resid)", "quasi-ar1"];
const DID_METHODS: [&str; 3] = ["dk-normal", "quasi-ar1, t(resid)", "quasi-ar1"];

/// The t reference the AR(1) covariance was first paired with: (n − k)(1 − ρ²)/(1 + ρ²) degrees of freedom for
/// every coefficient (the dispersion's sampling error only).
fn resid_df(fit: &Fit, series: Option<&[i64]>) -> f64 {
    let (_, rho) = fit.dispersion_ar1(series);
    let m = (fit.nobs() - fit.names.len()) as f64;
    (m * (1.0 - rho * rho) / (1.0 + rho * rho)).max(1.0)
}

/// (estimate, standard error, critical value) of `term` under a covariance and reference distribution.
fn interval(fit: &Fit, cov: &CovType, reference: Reference, term: &str) -> Option<(f64, f64, f64)> {
    let c = fit.coefficients_with(cov, 0.95, reference).into_iter().find(|c| c.name == term)?;
    let crit = (c.ci_high - c.estimate) / c.se;
    Some((c.estimate, c.se, crit))
}

fn its_intervals(y: &[f64], t0: usize) -> Option<Vec<(f64, f64, f64)>> {
    let n = y.len();
    let d = design(n, t0);
    let k = d.names.len();
    let fit = glm(&d, y, Family::Poisson, None).ok()?;
    let lags = default_maxlags(n);
    let hac = CovType::Hac { maxlags: Some(lags), correction: true };
    let b = (lags + 1) as f64 / n as f64;
    let fixed_b = 1.96 + 2.9694 * b + 0.4160 * b * b - 0.5324 * b * b * b;
    let (est, se, _) = interval(&fit, &hac, Reference::Normal, "post")?;
    let t = Reference::StudentT((n - k) as f64);
    let quasi = CovType::QuasiAr1 { series: None };
    Some(vec![
        interval(&fit, &hac, Reference::Normal, "post")?,
        interval(&fit, &hac, t, "post")?,
        (est, se, fixed_b),
        interval(&fit, &quasi, Reference::StudentT(resid_df(&fit, None)), "post")?,
        interval(&fit, &quasi, Reference::Satterthwaite, "post")?,
    ])
}

/// The DiD's stacked design: rows (treated, comparison) per month; group, month fixed effects, group:post.
fn did_intervals(treated: &[f64], comparison: &[f64], t0: usize) -> Option<Vec<(f64, f64, f64)>> {
    let t = treated.len();
    let n = 2 * t;
    let group: Vec<f64> = (0..n).map(|i| f64::from(u8::from(i % 2 == 0))).collect();
    let period = |i: usize| i / 2;
    let mut cols = vec![("const".to_owned(), vec![1.0; n]), ("group".to_owned(), group.clone())];
    for p in 1..t {
        cols.push((format!("period_{p}"), (0..n).map(|i| f64::from(u8::from(period(i) == p))).collect()));
    }
    cols.push(("group:post".to_owned(), (0..n).map(|i| group[i] * f64::from(u8::from(period(i) >= t0))).collect()));
    let y: Vec<f64> = (0..n).map(|i| if i % 2 == 0 { treated[i / 2] } else { comparison[i / 2] }).collect();
    let d = Design::from_columns(cols);
    let fit = glm(&d, &y, Family::Poisson, None).ok()?;
    let dk = CovType::HacGroupsum {
        time: (0..n).map(|i| period(i) as i64).collect(),
        maxlags: Some(default_maxlags(t)),
        correction: GroupsumCorrection::Cluster,
    };
    let labels: Vec<i64> = group.iter().map(|g| *g as i64).collect();
    let df = resid_df(&fit, Some(&labels));
    let series = CovType::QuasiAr1 { series: Some(labels) };
    Some(vec![
        interval(&fit, &dk, Reference::Normal, "group:post")?,
        interval(&fit, &series, Reference::StudentT(df), "group:post")?,
        interval(&fit, &series, Reference::Satterthwaite, "group:post")?,
    ])
}

#[derive(Default)]
struct Tally {
    cover: Vec<usize>,
    power: Vec<usize>,
    false_pos: Vec<usize>,
    fits: usize,
}

impl Tally {
    fn new(m: usize) -> Self {
        Tally { cover: vec![0; m], power: vec![0; m], false_pos: vec![0; m], fits: 0 }
    }
    fn add(&mut self, effect: &[(f64, f64, f64)], null: &[(f64, f64, f64)]) {
        self.fits += 1;
        for (m, ((est, se, c), (est0, se0, c0))) in effect.iter().zip(null).enumerate() {
            let (lo, hi) = (est - c * se, est + c * se);
            self.cover[m] += usize::from(lo <= EFFECT.ln() && EFFECT.ln() <= hi);
            self.power[m] += usize::from(hi < 0.0);
            self.false_pos[m] += usize::from((est0 / se0).abs() > *c0);
        }
    }
    fn print(&self, analysis: &str, t: usize, names: &[&str]) {
        let pct = |x: usize| format!("{:.1}%", 100.0 * x as f64 / self.fits as f64);
        for (m, name) in names.iter().enumerate() {
            println!(
                "| {analysis} | {t} | {name} | {} | {} | {} |",
                pct(self.cover[m]),
                pct(self.false_pos[m]),
                pct(self.power[m])
            );
        }
    }
}

/// `its_coverage time`: how long the new default takes on a 120-month series: the ITS's fit with its
/// intervals, and the DiD's (each fitted twice, as the analyses also fit a placebo or a pre-trend model), the
/// median of 31 runs.
fn timing() {
    let mut rng = Rng::new(7);
    let (y, t0) = series(&mut rng, 120, EFFECT, SIGMA_DEFAULT);
    let (c, _) = series(&mut rng, 120, 1.0, SIGMA_DEFAULT);
    let median = |f: &dyn Fn()| {
        let mut ms: Vec<f64> = (0..31)
            .map(|_| {
                let t = std::time::Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        ms.sort_by(f64::total_cmp);
        ms[15]
    };
    let its = median(&|| {
        for _ in 0..2 {
            std::hint::black_box(its_intervals(&y, t0));
        }
    });
    let did = median(&|| {
        for _ in 0..2 {
            std::hint::black_box(did_intervals(&y, &c, t0));
        }
    });
    println!("120 months, two fits each (every method's intervals): ITS {its:.2} ms, DiD {did:.2} ms (median of 31)");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("time") {
        return timing();
    }
    let reps: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(2000);
    let seed: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(17);
    let sigma: f64 = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(SIGMA_DEFAULT);
    println!(
        "{reps} series per cell, seed {seed}; AR(1) {PHI} (innovation sd {sigma}) in the log mean, mean {MEAN}, \
         variance 1.5 × the latent mean; effect IRR {EFFECT} from 0.6·T"
    );
    println!("| analysis | T | method | coverage of IRR {EFFECT} | false positives (no effect) | power |");
    println!("|---|---|---|---|---|---|");
    for t in [36, 60, 120] {
        let mut rng = Rng::new(seed ^ (t as u64).wrapping_mul(0x9E37_79B9));
        let (mut its, mut did) = (Tally::new(ITS_METHODS.len()), Tally::new(DID_METHODS.len()));
        for _ in 0..reps {
            let (y, t0) = series(&mut rng, t, EFFECT, sigma);
            let (y0, _) = series(&mut rng, t, 1.0, sigma);
            let (c1, _) = series(&mut rng, t, 1.0, sigma);
            let (c0, _) = series(&mut rng, t, 1.0, sigma);
            if let (Some(a), Some(b)) = (its_intervals(&y, t0), its_intervals(&y0, t0)) {
                its.add(&a, &b);
            }
            if let (Some(a), Some(b)) = (did_intervals(&y, &c1, t0), did_intervals(&y0, &c0, t0)) {
                did.add(&a, &b);
            }
        }
        its.print("ITS", t, &ITS_METHODS);
        did.print("DiD", t, &DID_METHODS);
    }
}
