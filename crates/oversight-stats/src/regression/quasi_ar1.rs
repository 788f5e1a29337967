//! The quasi-likelihood AR(1) covariance ([`CovType::QuasiAr1`](super::CovType::QuasiAr1)): the dispersion
//! and the design-corrected AR(1) coefficient of a fit's Pearson residuals, the recursions that apply the
//! AR(1) correlation in O(n·k), the sandwich, and each coefficient's Satterthwaite degrees of freedom.

use super::{Ar1, Family, Fit};
use nalgebra::{DMatrix, DVector};

/// Each observation's series label (0 for all when there is one series).
fn series_labels(n: usize, series: Option<&[i64]>) -> Vec<i64> {
    (0..n).map(|i| series.map_or(0, |s| s[i])).collect()
}

/// Each observation's predecessor in its series (None for a series' first).
fn previous_in_series(label: &[i64]) -> Vec<Option<usize>> {
    let mut last: std::collections::HashMap<i64, usize> = std::collections::HashMap::new();
    label.iter().enumerate().map(|(i, l)| last.insert(*l, i)).collect()
}

/// R·Z for the AR(1) correlation R_ij = ρ^|i−j| within each series (rows of a series in order): a forward and
/// a backward recursion per series, O(n·k).
fn ar1_apply(z: &DMatrix<f64>, label: &[i64], rho: f64) -> DMatrix<f64> {
    let (n, k) = z.shape();
    let mut out = DMatrix::zeros(n, k);
    let mut groups: Vec<i64> = label.to_vec();
    groups.sort_unstable();
    groups.dedup();
    for g in groups {
        let rows: Vec<usize> = (0..n).filter(|&i| label[i] == g).collect();
        let mut fwd = DVector::zeros(k);
        let mut acc: Vec<DVector<f64>> = Vec::with_capacity(rows.len());
        for &i in &rows {
            fwd = &fwd * rho + z.row(i).transpose();
            acc.push(fwd.clone());
        }
        let mut bwd = DVector::zeros(k);
        for (p, &i) in rows.iter().enumerate().rev() {
            bwd = &bwd * rho + z.row(i).transpose();
            let v = &acc[p] + &bwd - z.row(i).transpose();
            out.row_mut(i).copy_from(&v.transpose());
        }
    }
    out
}

/// L·Z for the symmetric lag-1 operator within each series: row i becomes half the sum of its neighbours'.
fn lag_sym(z: &DMatrix<f64>, prev: &[Option<usize>]) -> DMatrix<f64> {
    let mut out = DMatrix::zeros(z.nrows(), z.ncols());
    for (i, p) in prev.iter().enumerate() {
        if let Some(p) = *p {
            let (a, b) = (z.row(p) * 0.5, z.row(i) * 0.5);
            let mut ri = out.row_mut(i);
            ri += a;
            let mut rp = out.row_mut(p);
            rp += b;
        }
    }
    out
}

/// The root of an increasing function `g` on [a, b], by regula falsi with the Illinois step (a handful of
/// evaluations); a when g(a) ≥ 0, b when g(b) ≤ 0.
fn solve_increasing(g: impl Fn(f64) -> f64, a: f64, b: f64) -> f64 {
    let (mut a, mut b) = (a, b);
    let (mut fa, mut fb) = (g(a), g(b));
    if fa >= 0.0 {
        return a;
    }
    if fb <= 0.0 {
        return b;
    }
    let mut side = 0;
    let mut c = 0.5 * (a + b);
    for _ in 0..100 {
        c = (a * fb - b * fa) / (fb - fa);
        let fc = g(c);
        if fc.abs() < 1e-15 || (b - a).abs() < 1e-13 {
            break;
        }
        if fc * fb > 0.0 {
            b = c;
            fb = fc;
            if side == -1 {
                fa /= 2.0;
            }
            side = -1;
        } else {
            a = c;
            fa = fc;
            if side == 1 {
                fb /= 2.0;
            }
            side = 1;
        }
    }
    c
}

impl Fit {
    /// The covariance of [`CovType::QuasiAr1`](super::CovType::QuasiAr1): the sandwich `B·XᵀΣX·B` with
    /// Σ = D·R·D, D = diag(√(φ v_i)), R_ij = ρ^|i−j| within a series. The meat is Zᵀ(RZ) with Z = DX, and RZ
    /// comes from two AR(1) recursions per series (forward and backward), in O(n·k).
    pub(super) fn quasi_ar1_cov(&self, series: Option<&[i64]>) -> DMatrix<f64> {
        let (phi, rho) = self.dispersion_ar1(series);
        let label = series_labels(self.nobs(), series);
        let mut z = self.x.clone();
        for i in 0..self.nobs() {
            let sd = (phi * self.var[i]).sqrt();
            z.row_mut(i).scale_mut(sd);
        }
        let rz = ar1_apply(&z, &label, rho);
        &self.bread * (z.transpose() * rz) * &self.bread
    }

    /// The dispersion φ and the AR(1) coefficient ρ of [`CovType::QuasiAr1`](super::CovType::QuasiAr1). ρ is the value at which the
    /// lag-1 autocorrelation the residuals would have in expectation, given this design (residuals are
    /// errors projected off the fitted columns, which biases their autocorrelation down, the more the more
    /// columns a short series has), equals the one observed; held in [0, 0.95].
    pub fn dispersion_ar1(&self, series: Option<&[i64]>) -> (f64, f64) {
        let a = self.ar1(series);
        (a.phi, a.rho)
    }

    fn ar1(&self, series: Option<&[i64]>) -> Ar1 {
        let key = series.map(<[i64]>::to_vec);
        if let Some((_, v)) = self.ar1_memo.borrow().iter().find(|(k, _)| *k == key) {
            return *v;
        }
        let v = self.find_ar1(series);
        self.ar1_memo.borrow_mut().push((key, v));
        v
    }

    fn find_ar1(&self, series: Option<&[i64]>) -> Ar1 {
        let (n, k) = (self.nobs(), self.params.len());
        let r: Vec<f64> = (0..n).map(|i| self.resid[i] / self.var[i].max(1e-300).sqrt()).collect();
        let mut phi = r.iter().map(|r| r * r).sum::<f64>() / (n - k).max(1) as f64;
        if self.family == Family::Poisson {
            phi = phi.max(1.0);
        }
        let label = series_labels(n, series);
        let prev = previous_in_series(&label);
        let pairs = prev.iter().flatten().count();
        let c0: f64 = r.iter().map(|r| r * r).sum();
        let c1: f64 = (0..n).filter_map(|i| prev[i].map(|p| r[i] * r[p])).sum();
        let fixed = |rho: f64| Ar1 { phi, rho, slope: 1.0, estimated: pairs > 0 };
        if pairs == 0 || c0 <= 0.0 {
            return Ar1 { estimated: false, ..fixed(0.0) };
        }
        let observed = c1 / c0;
        // Q with QQᵀ = H, the hat matrix on the Pearson scale: W^½·X·C, CCᵀ = (XᵀWX)⁻¹.
        let Some(ch) = self.bread.clone().cholesky() else { return fixed(observed.clamp(0.0, 0.95)) };
        let mut q = &self.x * ch.l();
        for i in 0..n {
            q.row_mut(i).scale_mut(self.var[i].max(0.0).sqrt());
        }
        let lq = lag_sym(&q, &prev);
        let qlq = q.transpose() * &lq;
        // E[rᵀ·L·r] / E[rᵀr] under AR(1) ρ errors, r = (I − H)ε, L the symmetric lag-1 operator:
        // tr(MLMR) / tr(MR), with tr(LR) = pairs·ρ, tr(HLR) = tr(LHR) = Σ LQ∘RQ, tr(HLHR) = Σ QᵀLQ∘QᵀRQ.
        let expected = |rho: f64| {
            let rq = ar1_apply(&q, &label, rho);
            let qrq = q.transpose() * &rq;
            let num = pairs as f64 * rho - 2.0 * lq.component_mul(&rq).sum() + qlq.component_mul(&qrq).sum();
            let den = n as f64 - qrq.trace();
            num / den
        };
        let rho = solve_increasing(|rho| expected(rho) - observed, 0.0, 0.95);
        // dE/dρ by a central difference (E is smooth in ρ; h = 1e-5 leaves ~1e-10 of error).
        let h = 1e-5;
        let slope = (expected(rho + h) - expected(rho - h)) / (2.0 * h);
        Ar1 { phi, rho, slope, estimated: true }
    }

    /// Each coefficient's degrees of freedom under [`CovType::QuasiAr1`](super::CovType::QuasiAr1), by Satterthwaite's approximation
    /// (as for the Kenward–Roger or Satterthwaite tests of a GLS fit with estimated correlation): the variance
    /// V_j of coefficient j is estimated through φ and ρ, so df_j = 2 / Var(log V̂_j) with
    /// Var(log V̂_j) = Var(log φ̂) + (∂log V_j/∂ρ)²·Var(ρ̂), where, with m = n − k residual degrees of freedom,
    /// Var(log φ̂) = 2(1 + ρ²)/(m(1 − ρ²)) (a variance estimated from AR(1)-correlated residuals) and
    /// Var(ρ̂) = (1 − ρ²)/(m·E′(ρ)²) (Bartlett's variance of a lag-1 autocorrelation, carried through the
    /// design correction E of [`Fit::dispersion_ar1`]). ∂log V_j/∂ρ by a central difference. Without any
    /// lag-1 pair ρ is not estimated and df_j = m.
    pub fn quasi_ar1_dfs(&self, series: Option<&[i64]>) -> Vec<f64> {
        let a = self.ar1(series);
        let (n, k) = (self.nobs(), self.params.len());
        let m = n.saturating_sub(k).max(1) as f64;
        let rho2 = a.rho * a.rho;
        let var_log_phi = 2.0 * (1.0 + rho2) / (m * (1.0 - rho2));
        if !a.estimated {
            return vec![(2.0 / var_log_phi).max(1.0); k];
        }
        let var_rho = (1.0 - rho2) / (m * a.slope.max(1e-6).powi(2));
        // V_j(ρ) ∝ a_jᵀ R(ρ) a_j with a_j = W^½·X·B e_j (φ cancels in the log).
        let label = series_labels(n, series);
        let mut z = self.x.clone();
        for i in 0..n {
            z.row_mut(i).scale_mut(self.var[i].max(0.0).sqrt());
        }
        let zb = z * &self.bread;
        let v = |rho: f64| {
            let rzb = ar1_apply(&zb, &label, rho);
            (0..k).map(|j| zb.column(j).dot(&rzb.column(j))).collect::<Vec<f64>>()
        };
        let h = 1e-5;
        let (v0, up, down) = (v(a.rho), v(a.rho + h), v(a.rho - h));
        (0..k)
            .map(|j| {
                let dlog = (up[j] - down[j]) / (2.0 * h * v0[j]);
                let var_log_v = var_log_phi + dlog * dlog * var_rho;
                (2.0 / var_log_v).max(1.0)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regression::{CovType, Design, Reference, glm};

    /// The AR(1) sandwich computed the slow way: Σ_ij = φ·√(v_i v_j)·ρ^|pos_i − pos_j| within a series.
    fn brute(fit: &Fit, series: Option<&[i64]>) -> DMatrix<f64> {
        let (phi, rho) = fit.dispersion_ar1(series);
        let label = series_labels(fit.nobs(), series);
        let mut next = std::collections::HashMap::new();
        let pos: Vec<usize> = label
            .iter()
            .map(|l| {
                let p = next.entry(*l).or_insert(0usize);
                *p += 1;
                *p - 1
            })
            .collect();
        let mut meat = DMatrix::zeros(fit.x.ncols(), fit.x.ncols());
        for i in 0..fit.nobs() {
            for j in 0..fit.nobs() {
                if label[i] == label[j] {
                    let w = phi * (fit.var[i] * fit.var[j]).sqrt() * rho.powi(pos[i].abs_diff(pos[j]) as i32);
                    meat += fit.x.row(i).transpose() * fit.x.row(j) * w;
                }
            }
        }
        &fit.bread * meat * &fit.bread
    }

    #[test]
    fn the_ar1_sandwich_equals_its_definition_and_reduces_to_quasi_poisson_without_correlation() {
        // Two interleaved series with a level shift, counts with some autocorrelation.
        let y = [
            50.0, 61.0, 55.0, 66.0, 58.0, 60.0, 63.0, 57.0, 49.0, 52.0, 47.0, 50.0, 41.0, 44.0, 45.0, 40.0, 39.0, 47.0,
            43.0, 38.0,
        ];
        let n = y.len();
        let group: Vec<f64> = (0..n).map(|i| (i % 2) as f64).collect();
        let post: Vec<f64> = (0..n).map(|i| f64::from(u8::from(i >= 10))).collect();
        let d = Design::from_columns(vec![
            ("const".into(), vec![1.0; n]),
            ("group".into(), group.clone()),
            ("post".into(), post),
        ]);
        let fit = glm(&d, &y, Family::Poisson, None).unwrap();
        let labels: Vec<i64> = group.iter().map(|g| *g as i64).collect();
        for series in [None, Some(labels.as_slice())] {
            let fast = fit.cov(&CovType::QuasiAr1 { series: series.map(<[i64]>::to_vec) });
            let slow = brute(&fit, series);
            assert!((fast - slow).abs().max() < 1e-12, "{series:?}");
        }
        // One observation per series: no correlation, so the quasi-Poisson covariance φ·(XᵀWX)⁻¹.
        let each: Vec<i64> = (0..n as i64).collect();
        let (phi, rho) = fit.dispersion_ar1(Some(&each));
        assert_eq!(rho, 0.0f64.max(rho).min(0.95));
        let q = fit.cov(&CovType::QuasiAr1 { series: Some(each.clone()) });
        assert!((q - &fit.bread * phi).abs().max() < 1e-12);
        // …and ρ is not estimated, so every coefficient's Satterthwaite df is n − k.
        assert_eq!(fit.quasi_ar1_dfs(Some(&each)), vec![(n - 3) as f64; 3]);
        // With ρ estimated each coefficient loses degrees of freedom to its sensitivity to ρ (the intercept, a
        // level of the whole series, the most; none lose more than all of them).
        let dfs = fit.quasi_ar1_dfs(Some(&labels));
        let (_, rho) = fit.dispersion_ar1(Some(&labels));
        let resid = (n - 3) as f64 * (1.0 - rho * rho) / (1.0 + rho * rho);
        assert!(dfs.iter().all(|df| (1.0..resid).contains(df)), "{dfs:?} vs {resid}");
        let coefs = fit.coefficients_with(&CovType::QuasiAr1 { series: Some(labels) }, 0.95, Reference::Satterthwaite);
        assert_eq!(coefs.iter().map(|c| c.df.unwrap()).collect::<Vec<_>>(), dfs);
    }
}
