//! [`SvmSolver::Linfa`](super::SvmSolver::Linfa): one class pair solved by `linfa-svm`, and
//! the record of a solved pair kept in [`SvmParams::pair_cache`].

use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

use std::time::Instant;

use super::{Solution, SvmParams, Training};
use crate::Result;

/// One class pair solved by linfa-svm, as saved in [`SvmParams::pair_cache`].
#[derive(Serialize, Deserialize)]
struct LinfaPair {
    coef: Vec<f64>,
    rho: f64,
    iterations: usize,
    converged: bool,
    seconds: f64,
}

impl SvmParams {
    /// [`SvmSolver::Linfa`](super::SvmSolver::Linfa): the pair `(a, b)` (class indices) solved
    /// by linfa-svm, or read back from [`SvmParams::pair_cache`] when an earlier run saved it
    /// (then with that run's solve time, seconds); a pair solved now is saved there with the
    /// time since `start`.
    pub(super) fn solve_linfa(
        &self,
        data: &Training,
        gamma: f64,
        a: usize,
        b: usize,
        start: Instant,
    ) -> Result<(Solution, Option<f64>)> {
        let (na, nb) = (data.members[a].len(), data.members[b].len());
        let cached = self
            .pair_cache
            .as_ref()
            .map(|dir| dir.join(format!("{}-{}.json", data.classes[a], data.classes[b])));
        if let Some(c) = cached
            .as_ref()
            .and_then(|p| crate::paths::read_json::<LinfaPair>(p).ok())
            .filter(|c| c.coef.len() == na + nb)
        {
            let solution = Solution {
                coef: c.coef,
                rho: c.rho,
                iterations: c.iterations,
                converged: c.converged,
            };
            return Ok((solution, Some(c.seconds)));
        }
        let fit = linfa_pair(
            data.images,
            data.n_features,
            &data.members[a],
            &data.members[b],
            gamma,
            self.c,
            self.tol,
        )?;
        if let Some(p) = &cached {
            crate::paths::write_json(
                p,
                &LinfaPair {
                    coef: fit.coef.clone(),
                    rho: fit.rho,
                    iterations: fit.iterations,
                    converged: fit.converged,
                    seconds: start.elapsed().as_secs_f64(),
                },
            )?;
        }
        Ok((fit, None))
    }
}

/// One pair with linfa-svm: records in `f64`, class `a` positive.
fn linfa_pair(
    images: &[u8],
    d: usize,
    a: &[usize],
    b: &[usize],
    gamma: f64,
    c: f64,
    tol: f64,
) -> Result<Solution> {
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
    Ok(Solution {
        coef,
        rho: model.rho,
        iterations: 0,
        converged,
    })
}
