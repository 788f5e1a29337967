//! Confidence intervals for proportions, rates, and their ratios and differences. Each function returns
//! `None` where the estimate is undefined (a zero count where a logarithm or division needs a positive one);
//! callers report that as "undefined" with a reason, never as NaN.

use statrs::distribution::{ChiSquared, ContinuousCDF, Normal};

/// An estimate with its two-sided confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

/// Interval methods, named as reports cite them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Wilson score interval for a proportion.
    Wilson,
    /// Katz log interval for a ratio of two proportions.
    KatzLog,
    /// Log-Wald interval for a ratio of two Poisson rates.
    PoissonLogWald,
    /// Exact (Garwood) interval for a Poisson count, scaled to a rate.
    PoissonExact,
    /// Wald interval for a difference of two proportions.
    WaldDifference,
    /// Distribution-free interval for a quantile from order statistics (binomial).
    OrderStatistic,
    /// Student-t interval for a mean: x̄ ± t(n−1)·s/√n.
    StudentT,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Wilson => "wilson",
            Self::KatzLog => "katz-log",
            Self::PoissonLogWald => "poisson-log-wald",
            Self::PoissonExact => "poisson-exact-garwood",
            Self::WaldDifference => "wald-difference",
            Self::OrderStatistic => "order-statistic",
            Self::StudentT => "student-t",
        }
    }
}

/// The two-sided normal quantile for `level` (0.95 -> 1.959964).
pub fn z_for(level: f64) -> f64 {
    let n = Normal::new(0.0, 1.0).expect("standard normal");
    n.inverse_cdf(0.5 + level / 2.0)
}

/// Two-sided p-value of a standard normal statistic.
pub fn two_sided_p(z: f64) -> f64 {
    let n = Normal::new(0.0, 1.0).expect("standard normal");
    2.0 * (1.0 - n.cdf(z.abs()))
}

/// Two-sided p-value of a Student-t statistic with `df` degrees of freedom.
pub fn two_sided_p_t(t: f64, df: f64) -> f64 {
    match statrs::distribution::StudentsT::new(0.0, 1.0, df.max(1.0)) {
        Ok(d) => 2.0 * (1.0 - d.cdf(t.abs())),
        Err(_) => f64::NAN,
    }
}

/// Wilson score interval for `x` successes out of `n`.
pub fn wilson(x: f64, n: f64, level: f64) -> Option<Estimate> {
    if n <= 0.0 || x < 0.0 || x > n {
        return None;
    }
    let z = z_for(level);
    let p = x / n;
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denom;
    Some(Estimate { value: p, low: (centre - half).max(0.0), high: (centre + half).min(1.0) })
}

/// Events out of a base: trials for a proportion, exposure (e.g. person-years) for a rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Counts {
    pub events: f64,
    pub base: f64,
}

impl Counts {
    pub fn new(events: f64, base: f64) -> Self {
        Self { events, base }
    }
}

/// A group's counts beside a reference group's: what every ratio and difference compares (group over
/// reference, group minus reference).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Comparison {
    pub group: Counts,
    pub reference: Counts,
}

impl Comparison {
    pub fn new(group: Counts, reference: Counts) -> Self {
        Self { group, reference }
    }
    /// `[a, n1, c, n2]`: the group's events and base, the reference's events and base.
    pub fn counts(&self) -> [f64; 4] {
        [self.group.events, self.group.base, self.reference.events, self.reference.base]
    }
    /// [`katz_ratio`] of the two proportions.
    pub fn katz_ratio(&self, level: f64) -> Option<Estimate> {
        let [a, n1, c, n2] = self.counts();
        katz_ratio(a, n1, c, n2, level)
    }
    /// [`katz_log_se`] of the two proportions.
    pub fn katz_log_se(&self) -> Option<f64> {
        let [a, n1, c, n2] = self.counts();
        katz_log_se(a, n1, c, n2)
    }
    /// [`poisson_rate_ratio`] of the two rates.
    pub fn poisson_rate_ratio(&self, level: f64) -> Option<Estimate> {
        let [a, t1, c, t2] = self.counts();
        poisson_rate_ratio(a, t1, c, t2, level)
    }
    /// The standard error of the log rate ratio, sqrt(1/a + 1/c).
    pub fn poisson_log_se(&self) -> f64 {
        (1.0 / self.group.events + 1.0 / self.reference.events).sqrt()
    }
    /// [`wald_difference`] of the two proportions.
    pub fn wald_difference(&self, level: f64) -> Option<Estimate> {
        let [x1, n1, x2, n2] = self.counts();
        wald_difference(x1, n1, x2, n2, level)
    }
}

/// Ratio of two proportions a/n1 over c/n2 with the Katz log interval:
/// SE(ln RR) = sqrt(1/a - 1/n1 + 1/c - 1/n2).
pub fn katz_ratio(a: f64, n1: f64, c: f64, n2: f64, level: f64) -> Option<Estimate> {
    if a <= 0.0 || c <= 0.0 || n1 <= 0.0 || n2 <= 0.0 || a > n1 || c > n2 {
        return None;
    }
    let rr = (a / n1) / (c / n2);
    let se = (1.0 / a - 1.0 / n1 + 1.0 / c - 1.0 / n2).max(0.0).sqrt();
    let z = z_for(level);
    Some(Estimate { value: rr, low: (rr.ln() - z * se).exp(), high: (rr.ln() + z * se).exp() })
}

/// Standard error of ln RR for [`katz_ratio`].
pub fn katz_log_se(a: f64, n1: f64, c: f64, n2: f64) -> Option<f64> {
    (a > 0.0 && c > 0.0).then(|| (1.0 / a - 1.0 / n1 + 1.0 / c - 1.0 / n2).max(0.0).sqrt())
}

/// Ratio of two Poisson rates a/t1 over c/t2 (t = exposure, e.g. person-years) with the log-Wald interval:
/// exp(ln RR ± z·sqrt(1/a + 1/c)).
pub fn poisson_rate_ratio(a: f64, t1: f64, c: f64, t2: f64, level: f64) -> Option<Estimate> {
    if a <= 0.0 || c <= 0.0 || t1 <= 0.0 || t2 <= 0.0 {
        return None;
    }
    let rr = (a / t1) / (c / t2);
    let se = (1.0 / a + 1.0 / c).sqrt();
    let z = z_for(level);
    Some(Estimate { value: rr, low: (rr.ln() - z * se).exp(), high: (rr.ln() + z * se).exp() })
}

/// A Poisson count `x` over exposure `t`, as a rate per `per` units, with the exact (Garwood) interval.
pub fn poisson_rate(x: f64, t: f64, per: f64, level: f64) -> Option<Estimate> {
    if t <= 0.0 || x < 0.0 {
        return None;
    }
    let alpha = 1.0 - level;
    let low = if x == 0.0 { 0.0 } else { ChiSquared::new(2.0 * x).ok()?.inverse_cdf(alpha / 2.0) / 2.0 };
    let high = ChiSquared::new(2.0 * (x + 1.0)).ok()?.inverse_cdf(1.0 - alpha / 2.0) / 2.0;
    Some(Estimate { value: x / t * per, low: low / t * per, high: high / t * per })
}

/// Difference of two proportions x1/n1 - x2/n2 with the Wald interval.
pub fn wald_difference(x1: f64, n1: f64, x2: f64, n2: f64, level: f64) -> Option<Estimate> {
    if n1 <= 0.0 || n2 <= 0.0 {
        return None;
    }
    let (p1, p2) = (x1 / n1, x2 / n2);
    let se = (p1 * (1.0 - p1) / n1 + p2 * (1.0 - p2) / n2).sqrt();
    let z = z_for(level);
    let d = p1 - p2;
    Some(Estimate { value: d, low: d - z * se, high: d + z * se })
}

/// The mean of `values` with a Student-t interval at `level` (None for fewer than two values).
pub fn mean_with_interval(values: &[f64], level: f64) -> Option<Estimate> {
    let n = values.len();
    if n < 2 {
        return None;
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let t = statrs::distribution::StudentsT::new(0.0, 1.0, (n - 1) as f64).ok()?.inverse_cdf(0.5 + level / 2.0);
    let half = t * (var / n as f64).sqrt();
    Some(Estimate { value: mean, low: mean - half, high: mean + half })
}

/// The `q` quantile of `sorted` (ascending) with a distribution-free interval from order statistics: the
/// ranks whose binomial(n, q) probabilities bracket the quantile at `level`. The point estimate is the
/// linear-interpolation quantile (numpy's default).
pub fn quantile_with_interval(sorted: &[f64], q: f64, level: f64) -> Option<Estimate> {
    let n = sorted.len();
    if n == 0 || !(0.0..=1.0).contains(&q) {
        return None;
    }
    let pos = q * (n - 1) as f64;
    let (lo_i, hi_i) = (pos.floor() as usize, pos.ceil() as usize);
    let value = sorted[lo_i] + (sorted[hi_i] - sorted[lo_i]) * (pos - lo_i as f64);
    let bin = statrs::distribution::Binomial::new(q, n as u64).ok()?;
    use statrs::distribution::DiscreteCDF;
    let alpha = 1.0 - level;
    // Smallest l with P(B <= l-1) >= alpha/2 ... take ranks as in Conover (1999): l = inverse cdf at alpha/2,
    // u = inverse cdf at 1 - alpha/2, then 1-based ranks l and u + 1, clamped.
    let l = bin.inverse_cdf(alpha / 2.0) as usize;
    let u = bin.inverse_cdf(1.0 - alpha / 2.0) as usize + 1;
    let low = sorted[l.saturating_sub(1).min(n - 1)];
    let high = sorted[u.saturating_sub(1).min(n - 1)];
    Some(Estimate { value, low: low.min(value), high: high.max(value) })
}

/// Relative standard error of a proportion x/n.
pub fn proportion_rse(x: f64, n: f64) -> Option<f64> {
    (x > 0.0 && n > 0.0).then(|| {
        let p = x / n;
        (p * (1.0 - p) / n).sqrt() / p
    })
}

/// Relative standard error of a Poisson count.
pub fn count_rse(x: f64) -> Option<f64> {
    (x > 0.0).then(|| 1.0 / x.sqrt())
}
