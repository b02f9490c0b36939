//! [`SvmSolver::Linfa`](super::SvmSolver::Linfa): one class pair solved by `linfa-svm`, and
//! the record of a solved pair kept in [`SvmParams::pair_cache`](super::SvmParams::pair_cache).

use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

use crate::Result;

/// One class pair solved by linfa-svm, as saved in
/// [`SvmParams::pair_cache`](super::SvmParams::pair_cache).
#[derive(Serialize, Deserialize)]
pub(super) struct LinfaPair {
    pub(super) coef: Vec<f64>,
    pub(super) rho: f64,
    pub(super) iterations: usize,
    pub(super) converged: bool,
    pub(super) seconds: f64,
}

/// One pair with linfa-svm: records in `f64`, class `a` positive.
pub(super) fn linfa_pair(
    images: &[u8],
    d: usize,
    a: &[usize],
    b: &[usize],
    gamma: f64,
    c: f64,
    tol: f64,
) -> Result<(Vec<f64>, f64, usize, bool)> {
    use linfa::prelude::*;
    let rows: Vec<usize> = a.iter().chain(b).copied().collect();
    let mut x = Array2::<f64>::zeros((rows.len(), d));
    for (r, &i) in rows.iter().enumerate() {
        for (j, &v) in images[i * d..(i + 1) * d].iter().enumerate() {
            x[[r, j]] = v as f64;
        }
    }
    let targets: Array1<bool> = (0..rows.len()).map(|r| r < a.len()).collect();
    let model = linfa_svm::Svm::<f64, bool>::params()
        .pos_neg_weights(c, c)
        .gaussian_kernel(1.0 / gamma)
        .eps(tol)
        .shrinking(false)
        .fit(&Dataset::new(x, targets))
        .map_err(|e| crate::Error::param("svm", format!("linfa-svm failed: {e}")))?;
    let eps = 100.0 * f64::EPSILON;
    let coef = model
        .alpha
        .iter()
        .map(|&v| if v.abs() > eps { v } else { 0.0 })
        .collect();
    let converged = model.to_string().starts_with("Exited after");
    Ok((coef, model.rho, 0, converged))
}
