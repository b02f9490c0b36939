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

use ndarray::{concatenate, s, Array1, Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use linfa::prelude::*;
use linfa_logistic::MultiLogisticRegression;

use crate::models::lbfgs::{self, LbfgsParams, Stop};
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
        let targets = Array1::from(y.to_vec());
        // Features that are 0 in every row (the blank border of the glyphs) keep a zero weight
        // at every L-BFGS step (their gradient is the penalty's, 0 at 0): fit without them.
        let active: Vec<usize> = (0..d)
            .filter(|&j| x.column(j).iter().any(|&v| v != 0.0))
            .collect();
        let full_d = d;
        let dataset = Dataset::new(x.select(Axis(1), &active), targets);
        let d = active.len();
        let (params, mut report) = match self.solver {
            LogRegSolver::Sparse => self.fit_sparse(dataset.records().view(), &col, k, progress),
            LogRegSolver::Linfa => self.fit_linfa(&dataset, &col, k, progress),
        };
        // Diagnostic for both solvers: how many rows linfa's log-sum-exp would get wrong here.
        report.rows_misjudged_by_linfa =
            objective_and_gradient(dataset.records().view(), &col, &params, self.c).2;
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

    /// [`LogRegSolver::Linfa`]: warm-started chunks of linfa-logistic on `dataset` (blank
    /// pixels removed); returns the parameters `[d + 1, k]` (intercept last) and the report.
    fn fit_linfa(
        &self,
        dataset: &Dataset<f32, usize, ndarray::Ix1>,
        col: &[usize],
        k: usize,
        mut progress: impl FnMut(usize, &LogRegReport),
    ) -> (Array2<f32>, LogRegReport) {
        let x = dataset.records().view();
        let targets = dataset.targets().to_owned();
        let col = col.to_vec();
        let d = x.ncols();
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
            evaluations: 0,
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
        (params, report)
    }

    /// [`LogRegSolver::Sparse`]: charlab's L-BFGS on `x` (`[n, d]`, blank pixels removed)
    /// stored sparsely; returns the parameters `[d + 1, k]` (intercept last) and the report.
    fn fit_sparse(
        &self,
        x: ArrayView2<f32>,
        col: &[usize],
        k: usize,
        mut progress: impl FnMut(usize, &LogRegReport),
    ) -> (Array2<f32>, LogRegReport) {
        let d = x.ncols();
        let mut objective = Multinomial::new(x, col, k, self.c);
        let settings = LbfgsParams {
            max_iter: self.max_iter,
            gtol: self.tol,
            ..LbfgsParams::default()
        };
        let mut report = LogRegReport {
            iterations: 0,
            evaluations: 0,
            converged: false,
            gradient_max: f64::NAN,
            objective: f64::NAN,
            status: String::new(),
            discarded_chunks: 0,
            switched_to_f64_at: None,
            rows_misjudged_by_linfa: 0,
        };
        let (theta, fitted) = lbfgs::minimize(
            vec![0.0; (d + 1) * k],
            &settings,
            |theta, grad| objective.evaluate(theta, grad),
            |it, f, g| {
                report.iterations = it;
                report.objective = f;
                report.gradient_max = g;
                report.converged = g <= self.tol;
                progress(it, &report);
            },
        );
        report.iterations = fitted.iterations;
        report.evaluations = fitted.evaluations;
        report.objective = fitted.f;
        report.gradient_max = fitted.gmax;
        report.converged = matches!(fitted.stop, Stop::Gradient | Stop::Objective);
        report.status = match fitted.stop {
            Stop::Gradient => "converged".into(),
            Stop::Objective => "converged (relative decrease below ftol)".into(),
            Stop::MaxIter => "max_iter reached".into(),
            Stop::LineSearch => format!(
                "stopped: the line search found no acceptable step at iteration {}; the best \
                 parameters found are kept",
                fitted.iterations + 1
            ),
        };
        let params = Array2::from_shape_vec((d + 1, k), theta)
            .map(|p| p.mapv(|v| v as f32))
            .unwrap_or_else(|_| Array2::zeros((d + 1, k)));
        (params, report)
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

/// How the rows of the feature matrix are stored for the sparse solver.
enum Rows {
    /// 0/1 features (pixels): each row as runs `[a, b)` of consecutive non-zero columns.
    /// `x W` is then a sum of differences of prefix sums of `W`'s rows, two row reads per run
    /// instead of one per pixel (a 56 x 56 glyph has about 740 dark pixels in about 150 runs
    /// on the stand-in), and the gradient is the prefix sum of a difference table.
    Runs {
        /// Row `i` holds runs `start[i]..start[i + 1]`.
        start: Vec<usize>,
        runs: Vec<[u32; 2]>,
    },
    /// Any other values: compressed rows (column and value of each non-zero).
    Values {
        start: Vec<usize>,
        index: Vec<u32>,
        value: Vec<f64>,
    },
}

impl Rows {
    fn new(x: ArrayView2<f32>) -> Self {
        let binary = x.iter().all(|&v| v == 0.0 || v == 1.0);
        let x = x.as_standard_layout();
        let mut start = vec![0];
        if binary {
            let mut runs = Vec::new();
            for row in x.rows() {
                let row = row.to_slice().unwrap_or(&[]);
                let mut open: Option<u32> = None;
                for (j, &v) in row.iter().enumerate() {
                    match (v != 0.0, open) {
                        (true, None) => open = Some(j as u32),
                        (false, Some(a)) => {
                            runs.push([a, j as u32]);
                            open = None;
                        }
                        _ => {}
                    }
                }
                if let Some(a) = open {
                    runs.push([a, row.len() as u32]);
                }
                start.push(runs.len());
            }
            Rows::Runs { start, runs }
        } else {
            let (mut index, mut value) = (Vec::new(), Vec::new());
            for row in x.rows() {
                for (j, &v) in row.iter().enumerate() {
                    if v != 0.0 {
                        index.push(j as u32);
                        value.push(v as f64);
                    }
                }
                start.push(index.len());
            }
            Rows::Values {
                start,
                index,
                value,
            }
        }
    }
}

/// Scratch of one block of rows: its share of the weight gradient (`[d + 1, kp]`: for
/// [`Rows::Runs`] a difference table, else the gradient itself), of the intercept's (`[kp]`)
/// and of the loss.
struct Partial {
    weights: Vec<f64>,
    intercept: Vec<f64>,
    loss: f64,
}

/// Row `r` (of width `w`) of a row-major table (empty when out of range).
#[inline(always)]
fn row_of(table: &[f64], r: u32, w: usize) -> &[f64] {
    let a = r as usize * w;
    table.get(a..a + w).unwrap_or(&[])
}

/// Row `r` (of width `w`) of a row-major table, mutable (empty when out of range).
#[inline(always)]
fn row_mut(table: &mut [f64], r: u32, w: usize) -> &mut [f64] {
    let a = r as usize * w;
    table.get_mut(a..a + w).unwrap_or(&mut [])
}

/// One block of rows, fused: logits (`table` is the prefix table of `W` for runs, `W` for
/// values, rows of width `kp`; `b` the intercept), softmax, loss, and the scatter of the
/// residuals into `out`. The same operations in the same order whatever the CPU (the loops
/// over a row vectorise; no fused multiply-add).
#[inline(always)]
fn block_pass(
    rows: &Rows,
    range: std::ops::Range<usize>,
    col: &[usize],
    k: usize,
    table: &[f64],
    b: &[f64],
    out: &mut Partial,
) {
    let kp = b.len();
    let mut z = vec![0.0f64; kp];
    for i in range {
        z.copy_from_slice(b);
        match rows {
            Rows::Runs { start, runs } => {
                for &[a, e] in &runs[start[i]..start[i + 1]] {
                    let (ra, re) = (row_of(table, a, kp), row_of(table, e, kp));
                    for ((z, &x), &y) in z.iter_mut().zip(re).zip(ra) {
                        *z += x - y;
                    }
                }
            }
            Rows::Values {
                start,
                index,
                value,
            } => {
                for e in start[i]..start[i + 1] {
                    let (v, r) = (value[e], row_of(table, index[e], kp));
                    for (z, &x) in z.iter_mut().zip(r) {
                        *z += v * x;
                    }
                }
            }
        }
        let logits = &z[..k];
        let max = logits.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v));
        let sum: f64 = logits.iter().map(|&v| (v - max).exp()).sum();
        let lse = max + sum.ln();
        out.loss += lse - z[col[i]];
        for v in z[..k].iter_mut() {
            *v = (*v - lse).exp();
        }
        z[col[i]] -= 1.0;
        for (g, &v) in out.intercept.iter_mut().zip(&z) {
            *g += v;
        }
        let weights = &mut out.weights;
        match rows {
            Rows::Runs { start, runs } => {
                for &[a, e] in &runs[start[i]..start[i + 1]] {
                    for (g, &v) in row_mut(weights, a, kp).iter_mut().zip(&z) {
                        *g += v;
                    }
                    for (g, &v) in row_mut(weights, e, kp).iter_mut().zip(&z) {
                        *g -= v;
                    }
                }
            }
            Rows::Values {
                start,
                index,
                value,
            } => {
                for e in start[i]..start[i + 1] {
                    let s = value[e];
                    for (g, &v) in row_mut(weights, index[e], kp).iter_mut().zip(&z) {
                        *g += s * v;
                    }
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn block_pass_avx2(
    rows: &Rows,
    range: std::ops::Range<usize>,
    col: &[usize],
    k: usize,
    table: &[f64],
    b: &[f64],
    out: &mut Partial,
) {
    block_pass(rows, range, col, k, table, b, out)
}

/// [`block_pass`] with AVX2 when the CPU has it (same results: no FMA, same order).
fn run_block(
    rows: &Rows,
    range: std::ops::Range<usize>,
    col: &[usize],
    k: usize,
    table: &[f64],
    b: &[f64],
    out: &mut Partial,
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2 (checked just above); the function only compiles the
        // same safe code with AVX2 enabled.
        unsafe { block_pass_avx2(rows, range, col, k, table, b, out) };
        return;
    }
    block_pass(rows, range, col, k, table, b, out)
}

/// scikit-learn's multinomial objective on sparse features: mean cross-entropy of
/// `softmax(x W + b)` plus `||W||^2 / (2 C n)`, and its gradient, in one fused pass over the
/// rows, in `f64`.
///
/// Rows are cut into [`BLOCKS`] fixed blocks, run in parallel, each with its own partial
/// gradient; the partials are added in block order, so the arithmetic (and the fit) does not
/// depend on the number of threads. Class columns are padded with zeros to a multiple of 4
/// (`kp`) so that a row of logits stays in vector registers.
struct Multinomial<'a> {
    rows: Rows,
    col: &'a [usize],
    n: usize,
    d: usize,
    k: usize,
    kp: usize,
    c: f64,
    /// `[d + 1, kp]` scratch: `W` padded (for runs: its prefix sums, row 0 all zero).
    table: Vec<f64>,
    /// `[kp]` scratch: the intercept, padded.
    intercept: Vec<f64>,
    partials: Vec<Partial>,
}

/// Fixed number of row blocks (see [`Multinomial`]).
const BLOCKS: usize = 16;

impl<'a> Multinomial<'a> {
    fn new(x: ArrayView2<f32>, col: &'a [usize], k: usize, c: f64) -> Self {
        let (n, d) = x.dim();
        let kp = k.next_multiple_of(4);
        Multinomial {
            rows: Rows::new(x),
            col,
            n,
            d,
            k,
            kp,
            c,
            table: vec![0.0; (d + 1) * kp],
            intercept: vec![0.0; kp],
            partials: (0..BLOCKS)
                .map(|_| Partial {
                    weights: vec![0.0; (d + 1) * kp],
                    intercept: vec![0.0; kp],
                    loss: 0.0,
                })
                .collect(),
        }
    }

    /// The objective at `theta` (`[d + 1, k]` row-major, intercept last); writes its gradient
    /// into `grad` (same layout).
    fn evaluate(&mut self, theta: &[f64], grad: &mut [f64]) -> f64 {
        use rayon::prelude::*;
        let (n, d, k, kp) = (self.n, self.d, self.k, self.kp);
        let runs = matches!(self.rows, Rows::Runs { .. });
        // table row j + 1 = W row j (+ table row j for runs: prefix sums).
        self.table[..kp].fill(0.0);
        for j in 0..d {
            let (done, rest) = self.table.split_at_mut((j + 1) * kp);
            let prev = &done[j * kp..];
            for (c, t) in rest[..k].iter_mut().enumerate() {
                *t = theta[j * k + c] + if runs { prev[c] } else { 0.0 };
            }
        }
        self.intercept[..k].copy_from_slice(&theta[d * k..]);
        // For values, W row j is table row j + 1: skip the leading zero row.
        let table: &[f64] = if runs { &self.table } else { &self.table[kp..] };
        let (rows, col, b) = (&self.rows, self.col, &self.intercept);
        let per = n.div_ceil(BLOCKS);
        self.partials
            .par_iter_mut()
            .enumerate()
            .for_each(|(blk, out)| {
                out.weights.fill(0.0);
                out.intercept.fill(0.0);
                out.loss = 0.0;
                let range = (blk * per).min(n)..((blk + 1) * per).min(n);
                run_block(rows, range, col, k, table, b, out);
            });
        // Add the partials in block order (parallel over columns of the table).
        let mut total = std::mem::take(&mut self.partials[0].weights);
        let partials = &self.partials;
        total
            .par_chunks_mut(kp * 256)
            .enumerate()
            .for_each(|(c, t)| {
                for p in &partials[1..] {
                    for (t, v) in t.iter_mut().zip(&p.weights[c * kp * 256..]) {
                        *t += v;
                    }
                }
            });
        if runs {
            // Gradient row j = sum of difference rows 0..=j.
            for j in 1..=d {
                let (done, rest) = total.split_at_mut(j * kp);
                for (t, p) in rest[..kp].iter_mut().zip(&done[(j - 1) * kp..]) {
                    *t += p;
                }
            }
        }
        let n_f = n as f64;
        let scale = 1.0 / n_f;
        let decay = 1.0 / (self.c * n_f);
        let (gw, gb) = grad.split_at_mut(d * k);
        for j in 0..d {
            for c in 0..k {
                gw[j * k + c] = total[j * kp + c] * scale + theta[j * k + c] * decay;
            }
        }
        self.partials[0].weights = total;
        for (c, g) in gb.iter_mut().enumerate() {
            *g = self.partials.iter().map(|p| p.intercept[c]).sum::<f64>() * scale;
        }
        let loss: f64 = self.partials.iter().map(|p| p.loss).sum();
        let penalty: f64 = theta[..d * k].iter().map(|v| v * v).sum();
        loss * scale + 0.5 * decay * penalty
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A small problem: `n` rows of `d` features (0/1, or with other values when `binary` is
    /// false), `k` classes.
    fn problem(n: usize, d: usize, k: usize, binary: bool) -> (Array2<f32>, Vec<usize>) {
        let mut state = 12345u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as f64 / (1u64 << 31) as f64
        };
        let y: Vec<usize> = (0..n).map(|i| i % k).collect();
        let x = Array2::from_shape_fn((n, d), |(i, j)| {
            let on = next() < 0.2 + 0.5 * ((j % k == y[i]) as u8 as f64);
            match (on, binary) {
                (false, _) => 0.0,
                (true, true) => 1.0,
                (true, false) => 0.5 + next() as f32,
            }
        });
        (x, y)
    }

    fn theta(len: usize) -> Vec<f64> {
        (0..len)
            .map(|i| ((i * 37 % 11) as f64 - 5.0) * 0.1)
            .collect()
    }

    #[test]
    fn gradient_matches_finite_differences_for_runs_and_values() {
        for binary in [true, false] {
            let (x, y) = problem(60, 12, 5, binary);
            let mut obj = Multinomial::new(x.view(), &y, 5, 0.7);
            assert_eq!(matches!(obj.rows, Rows::Runs { .. }), binary);
            let t = theta(13 * 5);
            let mut g = vec![0.0; t.len()];
            let f = obj.evaluate(&t, &mut g);
            // The dense reference of the same objective (f32 products, hence the tolerance).
            let params =
                Array2::from_shape_vec((13, 5), t.iter().map(|&v| v as f32).collect()).unwrap();
            let (f_dense, _, _) = objective_and_gradient(x.view(), &y, &params, 0.7);
            assert!((f - f_dense).abs() < 1e-5, "{f} vs {f_dense}");
            let mut scratch = vec![0.0; t.len()];
            for i in 0..t.len() {
                let h = 1e-6;
                let (mut up, mut down) = (t.clone(), t.clone());
                up[i] += h;
                down[i] -= h;
                let fd = (obj.evaluate(&up, &mut scratch) - obj.evaluate(&down, &mut scratch))
                    / (2.0 * h);
                assert!(
                    (fd - g[i]).abs() < 1e-6,
                    "binary {binary}, component {i}: {fd} vs {}",
                    g[i]
                );
            }
        }
    }

    #[test]
    fn objective_does_not_depend_on_the_number_of_threads() {
        let (x, y) = problem(5_000, 40, 7, true);
        let t = theta(41 * 7);
        let run = |threads| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let mut obj = Multinomial::new(x.view(), &y, 7, 1.0);
                let mut g = vec![0.0; t.len()];
                let f = obj.evaluate(&t, &mut g);
                (f, g)
            })
        };
        assert_eq!(run(1), run(3));
    }
}
