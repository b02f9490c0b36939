//! Multinomial logistic regression on raw pixels (the report's first baseline), with two
//! solvers for the same problem and the same stopping rule: charlab's own L-BFGS on the sparse
//! pixels ([`LogRegSolver::Sparse`], the default) and `linfa-logistic`
//! ([`LogRegSolver::Linfa`], the user's choice of library, kept for comparison).
//!
//! # The same problem and stopping rule as scikit-learn
//! scikit-learn's `LogisticRegression(C, solver="lbfgs")` minimises the *mean* log loss plus
//! `||W||^2 / (2 C n)` (intercept not penalised) with SciPy's L-BFGS-B and stops when the
//! largest absolute gradient component is at most `tol` (1e-4), when an iteration lowers the
//! objective by less than 64 machine epsilons (relative), or after `max_iter` iterations.
//!
//! # The sparse solver (default)
//! [`crate::models::lbfgs`] applies SciPy's rules and memory (10 pairs) to that exact
//! objective. One fused pass over the rows gives the objective and its gradient: for 0/1
//! pixels each image is stored as runs of consecutive dark pixels, so its logits are sums of
//! differences of prefix sums of `W` (two table rows per run: about 67 runs instead of 740
//! dark pixels per stand-in image), and the gradient is the prefix sum of a difference table.
//! The log-sum-exp is taken per row (exact); everything is `f64`; rows run in parallel in fixed
//! blocks whose partial sums are added in a fixed order, so a fit does not depend on the number
//! of threads. Other feature values use compressed rows instead of runs.
//!
//! # The linfa solver
//! linfa minimises the *sum* of the log loss plus `alpha / 2 * ||W||^2` (intercept not
//! penalised): the same minimiser when `alpha = 1 / C`. linfa's own stopping rule (the L2 norm
//! of the summed gradient) is not scikit-learn's, and its fitted model does not say how many
//! iterations it ran, so the fit runs in chunks of [`LogRegParams::chunk`] L-BFGS iterations,
//! each warm-started (`initial_params`) from the last, and after each chunk this module
//! computes the gradient of scikit-learn's objective and applies scikit-learn's gradient rule.
//! A restart forgets L-BFGS's curvature pairs, which costs a few iterations per chunk.
//!
//! linfa-logistic turns a failed line search ("Search direction must be a descent
//! direction", linfa issue 334) into a normal return of its best parameters, or of the initial
//! ones. After every chunk the parameters are checked (finite, objective not higher than
//! before); a chunk that made things worse is discarded, the last good parameters are kept,
//! and [`LogRegReport::status`] says what happened.
//!
//! Two things make linfa slow here. It computes the cost and the gradient in separate passes
//! (three dense `[n, d] x [d, k]` products per evaluation). And its log-sum-exp (linfa-logistic
//! 0.8.1, `log_sum_exp` in `lib.rs`) subtracts one maximum over *all* rows and clamps each
//! row's sum at 1e-15, so rows whose largest logit lies more than 34.5 below the largest of all
//! rows get a wrong loss and gradient; late in a fit its line searches then work on an
//! inconsistent function and need ever more evaluations ([`LogRegReport::rows_misjudged_by_linfa`]
//! counts those rows). [`Precision::Mixed`] (the default for linfa) works in `f32` while the
//! line search can, with `matrixmultiply` on `MATMUL_NUM_THREADS` threads (the CLI sets it
//! from `CHARLAB_THREADS`).
//!
//! Both solvers leave out pixels that are blank in every training image (their weights stay
//! exactly 0 at every L-BFGS step: their gradient is the penalty's, 0 at 0).

mod linfa;
mod sparse;
#[cfg(test)]
mod tests;

use ndarray::{Array1, Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use self::linfa::objective_and_gradient;
use super::check_positive;
use crate::{Error, Result};

/// Hyper-parameters of [`LogReg`], checked by [`LogRegParams::check`].
///
/// Defaults (scikit-learn's): `c` 1.0, `max_iter` 1,000, `tol` 1e-4; solver
/// [`LogRegSolver::Sparse`]; for the linfa solver, `chunk` 50 and precision
/// [`Precision::Mixed`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogRegParams {
    /// Inverse regularisation strength, > 0 (scikit-learn's `C`).
    pub c: f64,
    /// Maximum L-BFGS iterations in all, >= 1.
    pub max_iter: usize,
    /// Stop when the largest absolute gradient component of the mean objective is at most
    /// this (> 0).
    pub tol: f64,
    /// L-BFGS iterations between two convergence checks, >= 1 ([`LogRegSolver::Linfa`] only).
    pub chunk: usize,
    /// Floating-point type of linfa's fit ([`LogRegSolver::Linfa`] only).
    pub precision: Precision,
    /// Which optimiser fits the model.
    #[serde(default)]
    pub solver: LogRegSolver,
}

/// The optimiser behind [`LogRegParams::fit`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogRegSolver {
    /// charlab's L-BFGS ([`crate::models::lbfgs`], SciPy's rules) on the pixels stored
    /// sparsely: one fused pass per evaluation gives the objective and its gradient, exact
    /// log-sum-exp per row, rows and pixels in parallel, in `f64`. The default.
    #[default]
    Sparse,
    /// `linfa-logistic`'s `MultiLogisticRegression`, in warm-started chunks (see the module
    /// documentation), with [`LogRegParams::precision`].
    Linfa,
}

/// The floating-point type linfa-logistic works in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Precision {
    /// `f32` throughout: fastest, but its line search stalls on large data sets, where the
    /// summed objective is too coarse in `f32` to see the small late decreases.
    F32,
    /// `f64` throughout (scikit-learn's precision).
    F64,
    /// `f64` for the first chunk, then `f32` as long as a chunk lowers the objective by at
    /// least 1% (late on, `f32` line searches need ever more evaluations for ever less
    /// progress), then `f64` to the end. The switch depends on the objective only, so a fit is
    /// repeatable.
    Mixed,
}

impl Default for LogRegParams {
    fn default() -> Self {
        LogRegParams {
            c: 1.0,
            max_iter: 1000,
            tol: 1e-4,
            chunk: 50,
            precision: Precision::Mixed,
            solver: LogRegSolver::Sparse,
        }
    }
}

/// How a fit went.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogRegReport {
    /// L-BFGS iterations run (with linfa, chunks that it ended early count in full, so this
    /// is an upper bound).
    pub iterations: usize,
    /// Objective-and-gradient evaluations ([`LogRegSolver::Sparse`]; 0 for linfa, which does
    /// not report them).
    #[serde(default)]
    pub evaluations: usize,
    /// Whether scikit-learn's rule was met.
    pub converged: bool,
    /// Largest absolute gradient component of the mean objective at the returned parameters.
    pub gradient_max: f64,
    /// Mean objective (log loss + penalty) at the returned parameters.
    pub objective: f64,
    /// `converged`, `max_iter reached`, or what stopped the fit early.
    pub status: String,
    /// Chunks whose result was discarded (line search failures, non-finite values).
    pub discarded_chunks: usize,
    /// With [`Precision::Mixed`]: the iteration after which the fit went on in f64.
    pub switched_to_f64_at: Option<usize>,
    /// Training rows whose loss linfa-logistic computes wrongly at the returned parameters (its
    /// log-sum-exp clamps rows whose largest logit is 34.5 below the largest of all rows); when
    /// not 0, linfa's line searches work on an inconsistent loss and gradient and slow down.
    pub rows_misjudged_by_linfa: usize,
}

/// A fitted multinomial logistic regression.
#[derive(Clone, Debug)]
pub struct LogReg {
    /// `[n_features, n_classes_seen]`.
    weights: Array2<f32>,
    /// `[n_classes_seen]`.
    intercept: Array1<f32>,
    /// The class index of each column (the classes present in the training labels).
    classes: Vec<usize>,
    /// How the fit went.
    pub report: LogRegReport,
}

impl LogRegParams {
    /// Checks every value.
    pub fn check(&self) -> Result<()> {
        check_positive("C", self.c, "a positive number")?;
        if self.max_iter == 0 || self.chunk == 0 {
            return Err(Error::param(
                "max_iter",
                "max_iter and chunk must be at least 1",
            ));
        }
        check_positive("tol", self.tol, "positive")
    }

    /// [`LogRegParams::fit`] with progress: a bar on a terminal, else a line every 50
    /// iterations (`logreg: N iterations, S s, objective ..., max |gradient| ...`).
    pub fn fit_with_progress(&self, x: ArrayView2<f32>, y: &[usize]) -> Result<LogReg> {
        let bar = crate::progress::Progress::new(self.max_iter as u64, "logreg");
        let t = std::time::Instant::now();
        let logged = bar.is_plain();
        let model = self.fit(x, y, |it, r: &LogRegReport| {
            bar.set_position(it as u64);
            bar.set_message(format!("max |gradient| {:.2e}", r.gradient_max));
            if logged && (it % 50 == 0 || r.switched_to_f64_at.is_some()) {
                let linfa = match self.solver {
                    LogRegSolver::Linfa => format!(
                        ", rows misjudged by linfa {}{}",
                        r.rows_misjudged_by_linfa,
                        if r.switched_to_f64_at.is_some() {
                            " (f64)"
                        } else {
                            ""
                        }
                    ),
                    LogRegSolver::Sparse => String::new(),
                };
                bar.line(format_args!(
                    "logreg: {it} iterations, {:.1} s, objective {:.6}, max |gradient| {:.2e}{linfa}",
                    t.elapsed().as_secs_f64(),
                    r.objective,
                    r.gradient_max,
                ));
            }
        });
        bar.finish();
        model
    }

    /// Fits on `x` (`[n, n_features]`, e.g. 0/1 pixels) and labels `y`; `progress` is told the
    /// iterations done after every chunk.
    pub fn fit(
        &self,
        x: ArrayView2<f32>,
        y: &[usize],
        progress: impl FnMut(usize, &LogRegReport),
    ) -> Result<LogReg> {
        self.check()?;
        let (n, d) = x.dim();
        if n != y.len() || n == 0 {
            return Err(Error::param(
                "y",
                format!(
                    "{} labels for {n} rows (need one per row, at least one)",
                    y.len()
                ),
            ));
        }
        let mut classes = y.to_vec();
        classes.sort_unstable();
        classes.dedup();
        if classes.len() < 2 {
            return Err(Error::param("y", "need at least two classes to fit"));
        }
        let k = classes.len();
        let col: Vec<usize> = y
            .iter()
            .map(|c| classes.binary_search(c).unwrap_or(0))
            .collect();
        // Features that are 0 in every row (the blank border of the glyphs) keep a zero weight
        // at every L-BFGS step (their gradient is the penalty's, 0 at 0): fit without them.
        let active: Vec<usize> = (0..d)
            .filter(|&j| x.column(j).iter().any(|&v| v != 0.0))
            .collect();
        let full_d = d;
        let records = x.select(Axis(1), &active);
        let d = active.len();
        let (params, mut report) = match self.solver {
            LogRegSolver::Sparse => self.fit_sparse(records.view(), &col, k, progress),
            LogRegSolver::Linfa => self.fit_linfa(&records, y, &col, k, progress),
        };
        // Diagnostic for both solvers: how many rows linfa's log-sum-exp would get wrong here.
        report.rows_misjudged_by_linfa =
            objective_and_gradient(records.view(), &col, &params, self.c).2;
        Ok(LogReg {
            weights: {
                let mut w = Array2::zeros((full_d, k));
                for (r, &j) in active.iter().enumerate() {
                    w.row_mut(j).assign(&params.row(r));
                }
                w
            },
            intercept: params.row(d).to_owned(),
            classes,
            report,
        })
    }
}

impl LogReg {
    /// Class scores `[n, n_classes_seen]` (logits) of `x` (`[n, n_features]`).
    pub fn decision_function(&self, x: ArrayView2<f32>) -> Result<Array2<f32>> {
        if x.ncols() != self.weights.nrows() {
            return Err(Error::param(
                "x",
                format!(
                    "{} features given, the model was fitted on {}",
                    x.ncols(),
                    self.weights.nrows()
                ),
            ));
        }
        Ok(x.dot(&self.weights) + &self.intercept)
    }

    /// The most likely class of every row of `x`.
    pub fn predict(&self, x: ArrayView2<f32>) -> Result<Vec<usize>> {
        let scores = self.decision_function(x)?;
        Ok(scores
            .axis_iter(Axis(0))
            .map(|row| {
                let mut best = 0;
                for (j, &v) in row.iter().enumerate() {
                    if v > row[best] {
                        best = j;
                    }
                }
                self.classes[best]
            })
            .collect())
    }

    /// The classes the model can predict (those present when it was fitted).
    pub fn classes(&self) -> &[usize] {
        &self.classes
    }
}
