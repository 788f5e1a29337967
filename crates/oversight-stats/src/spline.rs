//! Natural cubic regression splines, identical to patsy's `cr(x, df=…, constraints='center')` (the basis
//! statsmodels formulas use), so a model with a spline term can be checked coefficient by coefficient.
//!
//! Construction (Wood 2006, §4.1.2, as patsy implements it):
//! - knots: min and max of `x` and `df − 1` inner knots at equally spaced percentiles of the *distinct*
//!   values of `x` (linear interpolation, as `numpy.percentile`);
//! - the free basis `a⁻_j(x)·e_j + a⁺_j(x)·e_{j+1} + c⁻_j(x)·F_j + c⁺_j(x)·F_{j+1}`, with
//!   `F = [0; B⁻¹D; 0]` from the natural-spline second-derivative conditions;
//! - the centring constraint (column means of the free basis over the fitting data) absorbed by the
//!   Householder QR of the constraint (LAPACK `dlarfg` conventions): basis = free · Q[:, 1:].

use nalgebra::{DMatrix, DVector};

/// Why a spline basis could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SplineError {
    #[error("a centred cubic regression spline needs df ≥ 1, got {0}")]
    Df(usize),
    #[error("cannot place {needed} distinct knots: x has only {distinct} distinct values")]
    TooFewValues { needed: usize, distinct: usize },
    #[error("x has a non-finite value")]
    NonFinite,
}

/// A fitted (knots and constraint memorised) centred natural cubic regression spline.
#[derive(Debug, Clone)]
pub struct CubicRegressionSpline {
    knots: Vec<f64>,
    f: DMatrix<f64>,
    /// n_knots × (n_knots − 1): the null space of the centring constraint.
    q: DMatrix<f64>,
}

/// `numpy.percentile(sorted, q)` with linear interpolation, `sorted` ascending and non-empty.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    let pos = q / 100.0 * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    let frac = pos - lo as f64;
    // numpy's `_lerp`: a + (b − a)·t, switching to b − (b − a)·(1 − t) for t ≥ 0.5.
    let (a, b) = (sorted[lo], sorted[hi]);
    let diff = b - a;
    if frac >= 0.5 { b - diff * (1.0 - frac) } else { a + diff * frac }
}

fn natural_f(knots: &[f64]) -> DMatrix<f64> {
    let n = knots.len();
    let mut f = DMatrix::zeros(n, n);
    if n <= 2 {
        return f;
    }
    let h: Vec<f64> = knots.windows(2).map(|w| w[1] - w[0]).collect();
    let m = n - 2;
    let mut b = DMatrix::zeros(m, m);
    for i in 0..m {
        b[(i, i)] = (h[i] + h[i + 1]) / 3.0;
        if i + 1 < m {
            b[(i, i + 1)] = h[i + 1] / 6.0;
            b[(i + 1, i)] = h[i + 1] / 6.0;
        }
    }
    let mut d = DMatrix::zeros(m, n);
    for i in 0..m {
        d[(i, i)] = 1.0 / h[i];
        d[(i, i + 2)] = 1.0 / h[i + 1];
        d[(i, i + 1)] = -d[(i, i)] - d[(i, i + 2)];
    }
    let fm = b.lu().solve(&d).expect("the natural-spline band matrix is diagonally dominant");
    f.rows_mut(1, m).copy_from(&fm);
    f
}

fn free_basis(x: &[f64], knots: &[f64], f: &DMatrix<f64>) -> DMatrix<f64> {
    let n = knots.len();
    let (kmin, kmax) = (knots[0], knots[n - 1]);
    let mut dm = DMatrix::zeros(x.len(), n);
    for (r, &xi) in x.iter().enumerate() {
        // numpy.searchsorted(knots, x) − 1 (side='left'), clamped to [0, n − 2].
        let ss = knots.partition_point(|k| *k < xi);
        let j = (ss as isize - 1).clamp(0, n as isize - 2) as usize;
        let hj = knots[j + 1] - knots[j];
        let xj1_x = knots[j + 1] - xi;
        let x_xj = xi - knots[j];
        let ajm = xj1_x / hj;
        let ajp = x_xj / hj;
        let cjm_3 = if xi > kmax { 0.0 } else { xj1_x * xj1_x * xj1_x / (6.0 * hj) };
        let cjm = cjm_3 - hj * xj1_x / 6.0;
        let cjp_3 = if xi < kmin { 0.0 } else { x_xj * x_xj * x_xj / (6.0 * hj) };
        let cjp = cjp_3 - hj * x_xj / 6.0;
        for c in 0..n {
            dm[(r, c)] = cjm * f[(j, c)] + cjp * f[(j + 1, c)];
        }
        dm[(r, j)] += ajm;
        dm[(r, j + 1)] += ajp;
    }
    dm
}

/// Q of the QR decomposition of a single column `a` (k × 1), as LAPACK's dgeqrf/dorgqr build it.
fn householder_q(a: &DVector<f64>) -> DMatrix<f64> {
    let k = a.len();
    let alpha = a[0];
    let xnorm = a.rows(1, k - 1).norm();
    if xnorm == 0.0 {
        return DMatrix::identity(k, k);
    }
    let beta = -alpha.hypot(xnorm).copysign(if alpha >= 0.0 { 1.0 } else { -1.0 });
    let tau = (beta - alpha) / beta;
    let mut v = a.clone() / (alpha - beta);
    v[0] = 1.0;
    DMatrix::identity(k, k) - (&v * v.transpose()) * tau
}

impl CubicRegressionSpline {
    /// Memorises knots and the centring constraint from the fitting data, as patsy does.
    pub fn fit(x: &[f64], df: usize) -> Result<Self, SplineError> {
        if df < 1 {
            return Err(SplineError::Df(df));
        }
        if x.iter().any(|v| !v.is_finite()) {
            return Err(SplineError::NonFinite);
        }
        let mut distinct: Vec<f64> = x.to_vec();
        distinct.sort_by(f64::total_cmp);
        distinct.dedup();
        let n_inner = df - 1;
        let needed = n_inner + 2;
        if distinct.len() < 2 {
            return Err(SplineError::TooFewValues { needed, distinct: distinct.len() });
        }
        let mut knots = vec![distinct[0], distinct[distinct.len() - 1]];
        for i in 1..=n_inner {
            // numpy.linspace(0, 100, n_inner + 2)[1:-1]
            let q = 100.0 * i as f64 / (n_inner + 1) as f64;
            knots.push(percentile(&distinct, q));
        }
        knots.sort_by(f64::total_cmp);
        knots.dedup();
        if knots.len() != needed {
            return Err(SplineError::TooFewValues { needed, distinct: distinct.len() });
        }
        let f = natural_f(&knots);
        let free = free_basis(x, &knots, &f);
        let means = DVector::from_iterator(knots.len(), free.column_iter().map(|c| c.mean()));
        let q_full = householder_q(&means);
        let q = q_full.columns(1, knots.len() - 1).into_owned();
        Ok(Self { knots, f, q })
    }

    /// The knots (boundary and inner), ascending.
    pub fn knots(&self) -> &[f64] {
        &self.knots
    }

    /// Number of basis columns (= df).
    pub fn df(&self) -> usize {
        self.q.ncols()
    }

    /// The centred basis at `x` (rows) — values outside the knots extrapolate linearly, as in patsy.
    pub fn basis(&self, x: &[f64]) -> DMatrix<f64> {
        free_basis(x, &self.knots, &self.f) * &self.q
    }
}
