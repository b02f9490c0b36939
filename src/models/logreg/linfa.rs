//! [`LogRegSolver::Linfa`](super::LogRegSolver::Linfa): linfa-logistic in warm-started chunks,
//! scikit-learn's stopping rule applied between them, and the dense evaluation of
//! scikit-learn's objective that checks each chunk (see the parent module's documentation).

use ndarray::{concatenate, s, Array1, Array2, ArrayView2, Axis};

use linfa::prelude::*;
use linfa_logistic::MultiLogisticRegression;

use super::{LogRegParams, LogRegReport, Precision};

impl LogRegParams {
    /// [`LogRegSolver::Linfa`](super::LogRegSolver::Linfa): warm-started chunks of
    /// linfa-logistic on `records` (blank pixels removed) with labels `y` (`col`: their column
    /// indices); returns the parameters `[d + 1, k]` (intercept last) and the report.
    pub(super) fn fit_linfa(
        &self,
        records: &Array2<f32>,
        y: &[usize],
        col: &[usize],
        k: usize,
        mut progress: impl FnMut(usize, &LogRegReport),
    ) -> (Array2<f32>, LogRegReport) {
        let x = records.view();
        let targets = Array1::from(y.to_vec());
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
                let x64 = x64.get_or_insert_with(|| records.mapv(|v| v as f64));
                linfa_chunk_f64(x64, &targets, &params, 1.0 / self.c, steps)
            } else {
                linfa_chunk_f32(records, &targets, &params, 1.0 / self.c, steps)
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
pub(super) fn objective_and_gradient(
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
