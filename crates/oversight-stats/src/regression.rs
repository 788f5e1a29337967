//! Linear and generalised linear models: OLS, Poisson (log link, optional offset) and logistic regression
//! by iteratively reweighted least squares, with non-robust, Newey–West (HAC) and Driscoll–Kraay
//! (HAC on per-period sums of scores) covariances.
//!
//! The covariances follow statsmodels exactly, so results can be checked against it:
//! `cov = H⁻¹ S H⁻¹` with `H⁻¹` the inverse information (`(XᵀX)⁻¹` for OLS, `(XᵀWX)⁻¹` for a GLM), and
//! `S = Σ_l w_l (Γ_l + Γ_lᵀ)` over the scores (`xᵢ·residᵢ` for OLS, `xᵢ·(yᵢ − μᵢ)` for the canonical GLMs),
//! Bartlett weights `w_l = 1 − l/(L+1)`, default `L = ⌊4·(T/100)^(2/9)⌋`. Tests and intervals are
//! normal-based (statsmodels' `use_t=False`).

use nalgebra::{DMatrix, DVector};
use statrs::distribution::{ContinuousCDF, Normal};

mod quasi_ar1;

/// Why a model could not be fitted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FitError {
    #[error("the design has {rows} rows and {cols} columns: a model needs more observations than parameters")]
    TooFewRows { rows: usize, cols: usize },
    #[error("the design matrix is singular (column '{0}' is collinear with others or constant)")]
    Singular(String),
    #[error("the response has {0} values but the design {1} rows")]
    Length(usize, usize),
    #[error("{0}")]
    InvalidResponse(String),
    #[error("the fit did not converge in {0} iterations (a degenerate response?)")]
    NoConvergence(usize),
    #[error("perfect separation: some observations are predicted with certainty, so the estimates are infinite")]
    Separation,
}

/// A design matrix with named columns.
#[derive(Debug, Clone)]
pub struct Design {
    pub names: Vec<String>,
    /// n × k, row-major semantics (one row per observation).
    pub x: DMatrix<f64>,
}

impl Design {
    /// Builds a design from named columns of equal length.
    pub fn from_columns(columns: Vec<(String, Vec<f64>)>) -> Self {
        let n = columns.first().map_or(0, |c| c.1.len());
        let k = columns.len();
        let mut x = DMatrix::zeros(n, k);
        let mut names = Vec::with_capacity(k);
        for (j, (name, col)) in columns.into_iter().enumerate() {
            assert_eq!(col.len(), n, "column {name} has {} values, expected {n}", col.len());
            x.column_mut(j).copy_from_slice(&col);
            names.push(name);
        }
        Self { names, x }
    }

    pub fn nrows(&self) -> usize {
        self.x.nrows()
    }

    pub fn ncols(&self) -> usize {
        self.x.ncols()
    }

    /// Position of a named column.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }
}

/// The model family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Ordinary least squares.
    Gaussian,
    /// Poisson with log link.
    Poisson,
    /// Binomial (0/1 response) with logit link.
    Logit,
}

impl Family {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gaussian => "ols",
            Self::Poisson => "poisson-glm",
            Self::Logit => "logit-glm",
        }
    }
}

/// What [`CovType::QuasiAr1`] estimates from the residuals of one fit, for one labelling of its series.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Ar1 {
    /// The dispersion φ.
    phi: f64,
    /// The AR(1) coefficient ρ.
    rho: f64,
    /// dE/dρ at ρ: how fast the residuals' expected lag-1 autocorrelation moves with ρ (turns the sampling
    /// error of the observed autocorrelation into that of ρ).
    slope: f64,
    /// Whether ρ was estimated (some observation has a predecessor in its series); if not it is 0 by fiat.
    estimated: bool,
}

/// Series labels and the [`Ar1`] found for them.
type Ar1Memo = std::cell::RefCell<Vec<(Option<Vec<i64>>, Ar1)>>;

/// A fitted model, with what every covariance needs.
#[derive(Debug, Clone)]
pub struct Fit {
    pub family: Family,
    pub names: Vec<String>,
    pub params: DVector<f64>,
    /// Inverse information: `(XᵀX)⁻¹` (OLS) or `(XᵀWX)⁻¹` at the estimate (GLM).
    pub bread: DMatrix<f64>,
    /// Per-observation scores (n × k).
    pub scores: DMatrix<f64>,
    /// Linear predictor `Xβ` (without offset).
    pub linear: DVector<f64>,
    /// OLS: residual sum of squares; GLM: deviance.
    pub deviance: f64,
    pub iterations: usize,
    /// The design (n × k).
    pub x: DMatrix<f64>,
    /// Response residuals `y − μ`.
    pub resid: DVector<f64>,
    /// The family's variance function at μ (1 for OLS, μ for Poisson).
    pub var: DVector<f64>,
    /// (series labels, φ, ρ, …) of [`Fit::dispersion_ar1`] already found (a covariance, its degrees of freedom
    /// and the result's report all ask for them).
    ar1_memo: Ar1Memo,
}

/// How to estimate the covariance of the parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum CovType {
    /// Model-based: `σ²(XᵀX)⁻¹` for OLS, inverse information for GLMs.
    NonRobust,
    /// Newey–West over observations in order. `maxlags: None` uses ⌊4·(n/100)^(2/9)⌋. `correction`
    /// multiplies by n/(n−k) (statsmodels' `use_correction=True`).
    Hac { maxlags: Option<usize>, correction: bool },
    /// Driscoll–Kraay: scores summed within each time period, then Newey–West over periods
    /// (statsmodels' `hac-groupsum`). `time` gives each observation's period (any integer labels).
    HacGroupsum { time: Vec<i64>, maxlags: Option<usize>, correction: GroupsumCorrection },
    /// Quasi-likelihood with AR(1) errors: the residuals' variance is the family's variance times a dispersion
    /// φ (the Pearson χ² over n − k; floored at 1 for Poisson counts), and Pearson residuals of one series
    /// correlate as ρ^|i−j| (ρ from their lag-1 autocorrelation, corrected for the design: see
    /// [`Fit::dispersion_ar1`]). The covariance is the sandwich `B·XᵀΣX·B` with that Σ. `series` labels each
    /// observation's series (observations of a series in time order; None: one series); different series are
    /// independent. Pair with [`Reference::Satterthwaite`]: Student t on each coefficient's degrees of freedom
    /// from [`Fit::quasi_ar1_dfs`].
    QuasiAr1 { series: Option<Vec<i64>> },
}

/// The reference distribution of intervals and p-values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reference {
    Normal,
    /// Student's t with these degrees of freedom.
    StudentT(f64),
    /// Student's t with each coefficient's own (Satterthwaite) degrees of freedom: under
    /// [`CovType::QuasiAr1`] those of [`Fit::quasi_ar1_dfs`], which count the sampling error of the estimated
    /// autocorrelation as well as of the dispersion; under any other covariance n − k.
    Satterthwaite,
}

/// Small-sample correction of the Driscoll–Kraay covariance (statsmodels' `use_correction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupsumCorrection {
    None,
    /// × n/(n−k).
    Hac,
    /// × G/(G−1) · (n−1)/(n−k), G the number of periods (statsmodels' default for `hac-groupsum`).
    Cluster,
}

impl CovType {
    pub fn describe(&self) -> String {
        match self {
            Self::NonRobust => "model-based".to_owned(),
            Self::Hac { maxlags, correction } => format!(
                "Newey–West HAC, Bartlett kernel, {} lags{}",
                maxlags.map_or("default".to_owned(), |l| l.to_string()),
                if *correction { ", small-sample correction n/(n−k)" } else { "" }
            ),
            Self::QuasiAr1 { .. } => {
                "quasi-likelihood with AR(1) errors: dispersion and lag-1 autocorrelation from the Pearson \
                 residuals (the autocorrelation corrected for the design)"
                    .to_owned()
            }
            Self::HacGroupsum { maxlags, correction, .. } => format!(
                "Driscoll–Kraay (HAC on per-period score sums), Bartlett kernel, {} lags{}",
                maxlags.map_or("default".to_owned(), |l| l.to_string()),
                match correction {
                    GroupsumCorrection::None => "",
                    GroupsumCorrection::Hac => ", correction n/(n−k)",
                    GroupsumCorrection::Cluster => ", correction G/(G−1)·(n−1)/(n−k)",
                }
            ),
        }
    }
}

/// The default Newey–West lag for `t` periods: ⌊4·(t/100)^(2/9)⌋.
pub fn default_maxlags(t: usize) -> usize {
    (4.0 * (t as f64 / 100.0).powf(2.0 / 9.0)).floor() as usize
}

/// One coefficient's inference.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Coef {
    pub name: String,
    pub estimate: f64,
    pub se: f64,
    pub z: f64,
    pub p_value: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    /// Degrees of freedom of the Student-t reference (None: normal).
    pub df: Option<f64>,
}

fn invert_spd(m: &DMatrix<f64>, names: &[String]) -> Result<DMatrix<f64>, FitError> {
    // A pivot that is a tiny fraction of its diagonal entry means that column is (numerically) a
    // combination of the earlier ones: name it instead of returning meaningless numbers.
    let k = m.ncols();
    if let Some(ch) = m.clone().cholesky() {
        let l = ch.l();
        if let Some(j) = (0..k).find(|&j| l[(j, j)].powi(2) <= 1e-12 * m[(j, j)].abs()) {
            return Err(FitError::Singular(names.get(j).cloned().unwrap_or_default()));
        }
        return Ok(ch.inverse());
    }
    let bad = (1..=k).find(|&j| m.view((0, 0), (j, j)).into_owned().cholesky().is_none()).unwrap_or(k);
    Err(FitError::Singular(names.get(bad - 1).cloned().unwrap_or_default()))
}

/// Ordinary least squares.
pub fn ols(design: &Design, y: &[f64]) -> Result<Fit, FitError> {
    let (n, k) = (design.nrows(), design.ncols());
    check_shape(n, k, y.len())?;
    if let Some(v) = y.iter().find(|v| !v.is_finite()) {
        return Err(FitError::InvalidResponse(format!("the response has a non-finite value ({v})")));
    }
    let x = &design.x;
    let y = DVector::from_column_slice(y);
    let xtx = x.tr_mul(x);
    let bread = invert_spd(&xtx, &design.names)?;
    let params = &bread * x.tr_mul(&y);
    let linear = x * &params;
    let resid = &y - &linear;
    let mut scores = x.clone();
    for (i, mut row) in scores.row_iter_mut().enumerate() {
        row *= resid[i];
    }
    Ok(Fit {
        family: Family::Gaussian,
        names: design.names.clone(),
        params,
        bread,
        scores,
        linear,
        deviance: resid.norm_squared(),
        iterations: 1,
        x: x.clone(),
        var: DVector::from_element(n, 1.0),
        resid,
        ar1_memo: Default::default(),
    })
}

fn check_shape(n: usize, k: usize, ylen: usize) -> Result<(), FitError> {
    if ylen != n {
        return Err(FitError::Length(ylen, n));
    }
    if n <= k || k == 0 {
        return Err(FitError::TooFewRows { rows: n, cols: k });
    }
    Ok(())
}

const MAX_ITER: usize = 100;

/// A GLM by iteratively reweighted least squares (Newton's method for these canonical links).
/// `offset` is added to the linear predictor (Poisson: the log of the exposure).
pub fn glm(design: &Design, y: &[f64], family: Family, offset: Option<&[f64]>) -> Result<Fit, FitError> {
    let (n, k) = (design.nrows(), design.ncols());
    check_shape(n, k, y.len())?;
    if let Some(o) = offset {
        if o.len() != n {
            return Err(FitError::Length(o.len(), n));
        }
        if o.iter().any(|v| !v.is_finite()) {
            return Err(FitError::InvalidResponse("the offset has a non-finite value (a zero exposure?)".into()));
        }
    }
    match family {
        Family::Gaussian => {
            if offset.is_some() {
                let yo: Vec<f64> = y.iter().zip(offset.unwrap_or_default()).map(|(a, b)| a - b).collect();
                return ols(design, &yo);
            }
            return ols(design, y);
        }
        Family::Poisson => {
            if let Some(v) = y.iter().find(|v| !v.is_finite() || **v < 0.0) {
                return Err(FitError::InvalidResponse(format!("a Poisson response must be a count ≥ 0, got {v}")));
            }
        }
        Family::Logit => {
            if let Some(v) = y.iter().find(|v| **v != 0.0 && **v != 1.0) {
                return Err(FitError::InvalidResponse(format!("a logistic response must be 0 or 1, got {v}")));
            }
        }
    }
    let x = &design.x;
    let yv = DVector::from_column_slice(y);
    let off = offset.map(DVector::from_column_slice).unwrap_or_else(|| DVector::zeros(n));

    // Start as statsmodels does: μ = (y + mean(y))/2 (Poisson), (y + 0.5)/2 (binomial); one weighted LS step.
    let ybar = yv.mean();
    let mut mu = DVector::from_iterator(
        n,
        yv.iter().map(|&v| match family {
            Family::Poisson => (v + ybar) / 2.0,
            _ => (v + 0.5) / 2.0,
        }),
    );
    let mut eta = DVector::from_iterator(
        n,
        mu.iter().map(|&m| match family {
            Family::Poisson => m.ln(),
            _ => (m / (1.0 - m)).ln(),
        }),
    );
    let mut params = DVector::zeros(k);
    let mut dev_old = f64::INFINITY;
    let mut iterations = 0;
    let mut converged = false;
    for it in 0..MAX_ITER {
        iterations = it + 1;
        // Working weights and response for the canonical link: w = var(μ), z = η − offset + (y − μ)/w.
        let w: DVector<f64> = mu.map(|m| variance(family, m).max(1e-300));
        let z: DVector<f64> = DVector::from_iterator(n, (0..n).map(|i| eta[i] - off[i] + (yv[i] - mu[i]) / w[i]));
        let mut xw = x.clone();
        for (i, mut row) in xw.row_iter_mut().enumerate() {
            row *= w[i];
        }
        let xtwx = x.tr_mul(&xw);
        let inv = invert_spd(&xtwx, &design.names)?;
        let wz = z.component_mul(&w);
        params = &inv * x.tr_mul(&wz);
        let lin = x * &params;
        eta = &lin + &off;
        mu = eta.map(|e| inverse_link(family, e));
        let dev = deviance(family, &yv, &mu);
        if !dev.is_finite() {
            return Err(FitError::NoConvergence(iterations));
        }
        if (dev - dev_old).abs() <= 1e-10 * (dev.abs() + 1e-10) && it > 0 {
            converged = true;
            break;
        }
        dev_old = dev;
    }
    if family == Family::Logit && eta.iter().any(|e| e.abs() > 30.0) {
        return Err(FitError::Separation);
    }
    if !converged {
        return Err(FitError::NoConvergence(iterations));
    }
    // Information and scores at the estimate.
    let w: DVector<f64> = mu.map(|m| variance(family, m));
    let mut xw = x.clone();
    for (i, mut row) in xw.row_iter_mut().enumerate() {
        row *= w[i];
    }
    let bread = invert_spd(&x.tr_mul(&xw), &design.names)?;
    let mut scores = x.clone();
    for (i, mut row) in scores.row_iter_mut().enumerate() {
        row *= yv[i] - mu[i];
    }
    let linear = x * &params;
    let dev = deviance(family, &yv, &mu);
    Ok(Fit {
        family,
        names: design.names.clone(),
        params,
        bread,
        scores,
        linear,
        deviance: dev,
        iterations,
        x: x.clone(),
        resid: &yv - &mu,
        var: w,
        ar1_memo: Default::default(),
    })
}

fn variance(family: Family, mu: f64) -> f64 {
    match family {
        Family::Gaussian => 1.0,
        Family::Poisson => mu,
        Family::Logit => mu * (1.0 - mu),
    }
}

fn inverse_link(family: Family, eta: f64) -> f64 {
    match family {
        Family::Gaussian => eta,
        Family::Poisson => eta.exp(),
        Family::Logit => {
            let p = 1.0 / (1.0 + (-eta).exp());
            p.clamp(1e-15, 1.0 - 1e-15)
        }
    }
}

fn deviance(family: Family, y: &DVector<f64>, mu: &DVector<f64>) -> f64 {
    let mut d = 0.0;
    for (yi, mi) in y.iter().zip(mu.iter()) {
        d += match family {
            Family::Gaussian => (yi - mi).powi(2),
            Family::Poisson => 2.0 * (if *yi > 0.0 { yi * (yi / mi).ln() } else { 0.0 } - (yi - mi)),
            Family::Logit => -2.0 * (yi * mi.ln() + (1.0 - yi) * (1.0 - mi).ln()),
        };
    }
    d
}

/// Σ_l w_l (Γ_l + Γ_lᵀ) over rows of `x` in order, Bartlett weights (statsmodels' `S_hac_simple`).
fn s_hac(x: &DMatrix<f64>, nlags: usize) -> DMatrix<f64> {
    let n = x.nrows();
    let mut s = x.tr_mul(x);
    for lag in 1..=nlags.min(n.saturating_sub(1)) {
        let w = 1.0 - lag as f64 / (nlags as f64 + 1.0);
        let a = x.rows(lag, n - lag);
        let b = x.rows(0, n - lag);
        let g = a.tr_mul(&b);
        s += (&g + g.transpose()) * w;
    }
    s
}

impl Fit {
    pub fn nobs(&self) -> usize {
        self.scores.nrows()
    }

    /// Covariance of the parameters.
    pub fn cov(&self, cov: &CovType) -> DMatrix<f64> {
        let (n, k) = (self.nobs() as f64, self.params.len() as f64);
        match cov {
            CovType::NonRobust => match self.family {
                Family::Gaussian => &self.bread * (self.deviance / (n - k)),
                _ => self.bread.clone(),
            },
            CovType::Hac { maxlags, correction } => {
                let lags = maxlags.unwrap_or_else(|| default_maxlags(self.nobs()));
                let s = s_hac(&self.scores, lags);
                let mut c = &self.bread * s * &self.bread;
                if *correction {
                    c *= n / (n - k);
                }
                c
            }
            CovType::HacGroupsum { time, maxlags, correction } => {
                assert_eq!(time.len(), self.nobs(), "one period label per observation");
                let mut labels: Vec<i64> = time.clone();
                labels.sort_unstable();
                labels.dedup();
                let g = labels.len();
                let mut sums = DMatrix::zeros(g, self.scores.ncols());
                for (i, t) in time.iter().enumerate() {
                    let r = labels.binary_search(t).unwrap_or_default();
                    let mut row = sums.row_mut(r);
                    row += self.scores.row(i);
                }
                let lags = maxlags.unwrap_or_else(|| default_maxlags(g));
                let s = s_hac(&sums, lags);
                let mut c = &self.bread * s * &self.bread;
                match correction {
                    GroupsumCorrection::None => {}
                    GroupsumCorrection::Hac => c *= n / (n - k),
                    GroupsumCorrection::Cluster => {
                        let g = g as f64;
                        c *= g / (g - 1.0) * ((n - 1.0) / (n - k));
                    }
                }
                c
            }
            CovType::QuasiAr1 { series } => self.quasi_ar1_cov(series.as_deref()),
        }
    }

    /// Estimates, standard errors, z, two-sided p-values and normal intervals at `level`.
    pub fn coefficients(&self, cov: &CovType, level: f64) -> Vec<Coef> {
        self.coefficients_with(cov, level, Reference::Normal)
    }

    /// Estimates, standard errors, the statistic, two-sided p-values and intervals at `level`, against the
    /// reference distribution given.
    pub fn coefficients_with(&self, cov: &CovType, level: f64, reference: Reference) -> Vec<Coef> {
        let c = self.cov(cov);
        let k = self.params.len();
        let dfs: Vec<Option<f64>> = match (reference, cov) {
            (Reference::Normal, _) => vec![None; k],
            (Reference::StudentT(df), _) => vec![Some(df.max(1.0)); k],
            (Reference::Satterthwaite, CovType::QuasiAr1 { series }) => {
                self.quasi_ar1_dfs(series.as_deref()).into_iter().map(Some).collect()
            }
            (Reference::Satterthwaite, _) => vec![Some(self.nobs().saturating_sub(k).max(1) as f64); k],
        };
        let normal = Normal::new(0.0, 1.0).expect("standard normal");
        self.names
            .iter()
            .enumerate()
            .map(|(j, name)| {
                let estimate = self.params[j];
                let se = c[(j, j)].max(0.0).sqrt();
                let z = estimate / se;
                let t = dfs[j].and_then(|df| statrs::distribution::StudentsT::new(0.0, 1.0, df).ok());
                let (zq, p_value) = match &t {
                    None => (normal.inverse_cdf(0.5 + level / 2.0), 2.0 * (1.0 - normal.cdf(z.abs()))),
                    Some(t) => (t.inverse_cdf(0.5 + level / 2.0), 2.0 * (1.0 - t.cdf(z.abs()))),
                };
                Coef {
                    name: name.clone(),
                    estimate,
                    se,
                    z,
                    p_value,
                    ci_low: estimate - zq * se,
                    ci_high: estimate + zq * se,
                    df: t.and(dfs[j]),
                }
            })
            .collect()
    }

    /// The coefficient named `name`.
    pub fn coefficient(&self, cov: &CovType, level: f64, name: &str) -> Option<Coef> {
        self.coefficients(cov, level).into_iter().find(|c| c.name == name)
    }

    /// Linear predictor for another design with the same columns (e.g. a counterfactual with some set to 0).
    pub fn predict_linear(&self, x: &DMatrix<f64>) -> DVector<f64> {
        x * &self.params
    }
}
