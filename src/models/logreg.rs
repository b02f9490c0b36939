//! Multinomial logistic regression on raw pixels (the report's first baseline), fitted with
//! `linfa-logistic` (L-BFGS, More-Thuente line search) in `f32` with threaded matrix products.
//!
//! # The same problem and stopping rule as scikit-learn
//! scikit-learn's `LogisticRegression(C, solver="lbfgs")` minimises the *mean* log loss plus
//! `||W||^2 / (2 C n)` (intercept not penalised) and stops when the largest absolute gradient
//! component is at most `tol` (1e-4) or after `max_iter` iterations. linfa minimises the *sum*
//! of the log loss plus `alpha / 2 * ||W||^2` (intercept not penalised): the same minimiser
//! when `alpha = 1 / C`. linfa's own stopping rule (the L2 norm of the summed gradient) is not
//! scikit-learn's, and its fitted model does not say how many iterations it ran, so the fit
//! runs in chunks of [`LogRegParams::chunk`] L-BFGS iterations, each warm-started
//! (`initial_params`) from the last, and after each chunk this module computes the gradient of
//! scikit-learn's objective and applies scikit-learn's rule. A restart forgets L-BFGS's
//! curvature pairs, which costs a few iterations per chunk.
//!
//! # A fit is never lost
//! linfa-logistic turns a failed line search ("Search direction must be a descent
//! direction", linfa issue 334) into a normal return of its best parameters, or of the initial
//! ones. After every chunk the parameters are checked (finite, objective not higher than
//! before); a chunk that made things worse is discarded, the last good parameters are kept,
//! and [`LogRegReport::status`] says what happened.
//!
//! # Speed
//! Pixels that are blank in every training image are left out of the fit (their weights stay
//! exactly 0 in L-BFGS anyway). [`Precision::Mixed`] (the default) works in `f32` where the
//! line search can: the matrix products, which dominate, are twice as fast, and
//! `matrixmultiply` runs them on `MATMUL_NUM_THREADS` threads (the CLI sets it from
//! `CHARLAB_THREADS`).

use ndarray::{concatenate, s, Array1, Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use linfa::prelude::*;
use linfa_logistic::MultiLogisticRegression;

use crate::{Error, Result};

/// Hyper-parameters of [`LogReg`], checked by [`LogRegParams::check`].
///
/// Defaults (scikit-learn's): `c` 1.0, `max_iter` 1,000, `tol` 1e-4; `chunk` 50, precision
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
    /// L-BFGS iterations between two convergence checks, >= 1.
    pub chunk: usize,
    /// Floating-point type of linfa's fit.
    pub precision: Precision,
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
        }
    }
}

/// How a fit went.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogRegReport {
    /// L-BFGS iterations run (chunks that linfa ended early count in full, so this is an
    /// upper bound).
    pub iterations: usize,
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
        if !(self.c > 0.0 && self.c.is_finite()) {
            return Err(Error::param(
                "C",
                format!("{} must be a positive number", self.c),
            ));
        }
        if self.max_iter == 0 || self.chunk == 0 {
            return Err(Error::param(
                "max_iter",
                "max_iter and chunk must be at least 1",
            ));
        }
        if !(self.tol > 0.0 && self.tol.is_finite()) {
            return Err(Error::param(
                "tol",
                format!("{} must be positive", self.tol),
            ));
        }
        Ok(())
    }

    /// Fits on `x` (`[n, n_features]`, e.g. 0/1 pixels) and labels `y`; `progress` is told the
    /// iterations done after every chunk.
    pub fn fit(
        &self,
        x: ArrayView2<f32>,
        y: &[usize],
        mut progress: impl FnMut(usize, &LogRegReport),
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
        let targets = Array1::from(y.to_vec());
        // Features that are 0 in every row (the blank border of the glyphs) keep a zero weight
        // at every L-BFGS step (their gradient is the penalty's, 0 at 0): fit without them.
        let active: Vec<usize> = (0..d)
            .filter(|&j| x.column(j).iter().any(|&v| v != 0.0))
            .collect();
        let full_d = d;
        let dataset = Dataset::new(x.select(Axis(1), &active), targets.clone());
        let x = dataset.records().view();
        let d = active.len();
        let mut x64: Option<Array2<f64>> = None;
        // Mixed: f64 for the first chunk (the first steps from zero are huge, and f32 line
        // searches fail on them), f32 while it makes progress, then f64 to the end.
        let mut in_f64 = self.precision != Precision::F32;
        let mut bootstrap = self.precision == Precision::Mixed;
        // [d + 1, k], intercept last (linfa's layout).
        let mut params = Array2::<f32>::zeros((d + 1, k));
        let mut eval = objective_and_gradient(x, &col, &params, self.c);
        let mut report = LogRegReport {
            iterations: 0,
            converged: eval.1 <= self.tol,
            gradient_max: eval.1,
            objective: eval.0,
            status: String::new(),
            discarded_chunks: 0,
            switched_to_f64_at: None,
            rows_misjudged_by_linfa: eval.2,
        };
        while !report.converged && report.iterations < self.max_iter {
            let steps = self.chunk.min(self.max_iter - report.iterations);
            let use_f64 = match self.precision {
                Precision::F32 => false,
                Precision::F64 => true,
                Precision::Mixed => in_f64,
            };
            let fitted = if use_f64 {
                let x64 = x64.get_or_insert_with(|| dataset.records().mapv(|v| v as f64));
                linfa_chunk_f64(x64, &targets, &params, 1.0 / self.c, steps)
            } else {
                linfa_chunk_f32(dataset.records(), &targets, &params, 1.0 / self.c, steps)
            };
            report.iterations += steps;
            let candidate = match fitted {
                Ok(p) => p,
                Err(e) => {
                    report.discarded_chunks += 1;
                    report.status = format!("stopped: linfa-logistic failed ({e})");
                    break;
                }
            };
            let next = objective_and_gradient(x, &col, &candidate, self.c);
            let finite = candidate.iter().all(|v| v.is_finite()) && next.0.is_finite();
            let worse = !finite || next.0 > eval.0 + 1e-6 * eval.0.abs();
            let stalled = candidate == params;
            if (worse || stalled) && self.precision == Precision::Mixed && !use_f64 {
                // f32 could not make progress (its objective, a sum over all images, is too
                // coarse for the line search): go on in f64 from the last good parameters.
                if worse {
                    report.discarded_chunks += 1;
                }
                report.switched_to_f64_at = Some(report.iterations - steps);
                in_f64 = true;
                report.iterations -= steps;
                continue;
            }
            if worse {
                report.discarded_chunks += 1;
                report.status = format!(
                    "stopped: a chunk ending at iteration {} gave {} (line search failure); \
                     the parameters before it are kept",
                    report.iterations,
                    if finite {
                        "a higher objective"
                    } else {
                        "non-finite values"
                    }
                );
                break;
            }
            params = candidate;
            if bootstrap {
                bootstrap = false;
                in_f64 = false;
            } else if self.precision == Precision::Mixed
                && !use_f64
                && next.0 > (1.0 - SLOW_F32) * eval.0
            {
                // Late on, f32 line searches need more and more evaluations per iteration
                // for less and less progress: go on in f64.
                in_f64 = true;
                report.switched_to_f64_at = Some(report.iterations);
            }
            eval = next;
            report.objective = eval.0;
            report.gradient_max = eval.1;
            report.rows_misjudged_by_linfa = eval.2;
            report.converged = eval.1 <= self.tol;
            progress(report.iterations, &report);
            if stalled && !report.converged {
                report.status = format!(
                    "stopped: no progress in the chunk ending at iteration {} (line search \
                     could not improve the objective)",
                    report.iterations
                );
                break;
            }
        }
        if report.status.is_empty() {
            report.status = if report.converged {
                "converged".into()
            } else {
                "max_iter reached".into()
            };
        }
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

/// With [`Precision::Mixed`], an `f32` chunk that lowers the objective by less than this
/// fraction hands over to `f64`.
const SLOW_F32: f64 = 0.01;

/// One warm-started chunk of linfa-logistic in `f32` or `f64` (`$name`, `$f`): `steps` L-BFGS
/// iterations from `params` (`[d + 1, k]`, intercept last); returns the new parameters in the
/// same layout. (linfa-logistic's float trait is private, hence a macro, not a generic.)
macro_rules! linfa_chunk {
    ($name:ident, $f:ty) => {
        fn $name(
            x: &Array2<$f>,
            targets: &Array1<usize>,
            params: &Array2<f32>,
            alpha: f64,
            steps: usize,
        ) -> std::result::Result<Array2<f32>, linfa_logistic::error::Error> {
            let dataset = DatasetView::new(x.view(), targets.view());
            let m = MultiLogisticRegression::default()
                .alpha(alpha as $f)
                .max_iterations(steps as u64)
                // Never met: the stopping rule is applied between chunks.
                .gradient_tolerance(<$f>::MIN_POSITIVE)
                .initial_params(params.mapv(|v| v as $f))
                .fit(&dataset)?;
            let p = concatenate![
                Axis(0),
                m.params().view(),
                m.intercept().view().insert_axis(Axis(0))
            ];
            Ok(p.mapv(|v| v as f32))
        }
    };
}
linfa_chunk!(linfa_chunk_f32, f32);
linfa_chunk!(linfa_chunk_f64, f64);

/// scikit-learn's mean objective, the largest absolute component of its gradient at `params`
/// (`[d + 1, k]`, intercept last), with labels given as column indices, and the number of rows
/// that linfa-logistic's log-sum-exp gets wrong there.
fn objective_and_gradient(
    x: ArrayView2<f32>,
    col: &[usize],
    params: &Array2<f32>,
    c: f64,
) -> (f64, f64, usize) {
    let (n, d) = x.dim();
    let w = params.slice(s![..d, ..]);
    let b = params.row(d);
    let mut p = x.dot(&w) + b;
    let global_max = p.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    let mut clamped = 0usize;
    let mut loss = 0.0f64;
    for (i, mut row) in p.axis_iter_mut(Axis(0)).enumerate() {
        let max = row.fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        let sum: f32 = row.iter().map(|&v| (v - max).exp()).sum();
        let lse = max + sum.ln();
        // linfa-logistic's log-sum-exp subtracts one global maximum and clamps each row's sum
        // at 1e-15, so its loss and gradient are wrong for rows whose largest logit lies more
        // than ln(1e15) = 34.5 below the largest logit of all rows.
        if max < global_max - 34.5 {
            clamped += 1;
        }
        loss += (lse - row[col[i]]) as f64;
        row.mapv_inplace(|v| (v - lse).exp());
        row[col[i]] -= 1.0;
    }
    let n_f = n as f64;
    let penalty = w.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / (2.0 * c * n_f);
    let grad_w = x.t().dot(&p);
    let mut gmax = 0.0f64;
    for (g, wv) in grad_w.iter().zip(w.iter()) {
        let v = *g as f64 / n_f + *wv as f64 / (c * n_f);
        gmax = gmax.max(v.abs());
    }
    for g in p.sum_axis(Axis(0)).iter() {
        gmax = gmax.max((*g as f64 / n_f).abs());
    }
    (loss / n_f + penalty, gmax, clamped)
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
