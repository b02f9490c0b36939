//! [`LogRegSolver::Sparse`](super::LogRegSolver::Sparse): charlab's L-BFGS on the pixels
//! stored sparsely (runs of dark pixels, or compressed rows), one fused pass over the rows per
//! evaluation (see the parent module's documentation).

use ndarray::{Array2, ArrayView2};

use super::{LogRegParams, LogRegReport};
use crate::models::lbfgs::{self, LbfgsParams, Stop};

impl LogRegParams {
    /// [`LogRegSolver::Sparse`](super::LogRegSolver::Sparse): charlab's L-BFGS on `x`
    /// (`[n, d]`, blank pixels removed) stored sparsely; returns the parameters `[d + 1, k]`
    /// (intercept last) and the report.
    pub(super) fn fit_sparse(
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

/// How the rows of the feature matrix are stored for the sparse solver.
pub(super) enum Rows {
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

/// One row of [`Rows`]: its runs, or the columns and values of its non-zeros.
#[derive(Clone, Copy)]
enum Row<'r> {
    Runs(&'r [[u32; 2]]),
    Values(&'r [u32], &'r [f64]),
}

impl Rows {
    /// Row `i`.
    #[inline(always)]
    fn row(&self, i: usize) -> Row<'_> {
        match self {
            Rows::Runs { start, runs } => Row::Runs(&runs[start[i]..start[i + 1]]),
            Rows::Values {
                start,
                index,
                value,
            } => {
                let r = start[i]..start[i + 1];
                Row::Values(&index[r.clone()], &value[r])
            }
        }
    }

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

/// What every block of one evaluation reads: the rows, their class columns, the number of
/// classes `k`, `table` (the prefix table of `W` for runs, `W` for values, rows of width `kp`)
/// and `b` (the intercept, padded to `kp`).
#[derive(Clone, Copy)]
struct BlockInput<'a> {
    rows: &'a Rows,
    col: &'a [usize],
    k: usize,
    table: &'a [f64],
    b: &'a [f64],
}

/// One block of rows, fused: logits, softmax, loss, and the scatter of the residuals into
/// `out`. The same operations in the same order whatever the CPU (the loops over a row
/// vectorise; no fused multiply-add).
#[inline(always)]
fn block_pass(input: &BlockInput, range: std::ops::Range<usize>, out: &mut Partial) {
    let BlockInput {
        rows,
        col,
        k,
        table,
        b,
    } = *input;
    let kp = b.len();
    let mut z = vec![0.0f64; kp];
    for i in range {
        z.copy_from_slice(b);
        let row = rows.row(i);
        match row {
            Row::Runs(runs) => {
                for &[a, e] in runs {
                    let (ra, re) = (row_of(table, a, kp), row_of(table, e, kp));
                    for ((z, &x), &y) in z.iter_mut().zip(re).zip(ra) {
                        *z += x - y;
                    }
                }
            }
            Row::Values(index, value) => {
                for (&j, &v) in index.iter().zip(value) {
                    let r = row_of(table, j, kp);
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
        match row {
            Row::Runs(runs) => {
                for &[a, e] in runs {
                    for (g, &v) in row_mut(weights, a, kp).iter_mut().zip(&z) {
                        *g += v;
                    }
                    for (g, &v) in row_mut(weights, e, kp).iter_mut().zip(&z) {
                        *g -= v;
                    }
                }
            }
            Row::Values(index, value) => {
                for (&j, &s) in index.iter().zip(value) {
                    for (g, &v) in row_mut(weights, j, kp).iter_mut().zip(&z) {
                        *g += s * v;
                    }
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn block_pass_avx2(input: &BlockInput, range: std::ops::Range<usize>, out: &mut Partial) {
    block_pass(input, range, out)
}

/// [`block_pass`] with AVX2 when the CPU has it (same results: no FMA, same order).
fn run_block(input: &BlockInput, range: std::ops::Range<usize>, out: &mut Partial) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2 (checked just above); the function only compiles the
        // same safe code with AVX2 enabled.
        unsafe { block_pass_avx2(input, range, out) };
        return;
    }
    block_pass(input, range, out)
}

/// scikit-learn's multinomial objective on sparse features: mean cross-entropy of
/// `softmax(x W + b)` plus `||W||^2 / (2 C n)`, and its gradient, in one fused pass over the
/// rows, in `f64`.
///
/// Rows are cut into [`BLOCKS`] fixed blocks, run in parallel, each with its own partial
/// gradient; the partials are added in block order, so the arithmetic (and the fit) does not
/// depend on the number of threads. Class columns are padded with zeros to a multiple of 4
/// (`kp`) so that a row of logits stays in vector registers.
pub(super) struct Multinomial<'a> {
    pub(super) rows: Rows,
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
    pub(super) fn new(x: ArrayView2<f32>, col: &'a [usize], k: usize, c: f64) -> Self {
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
    pub(super) fn evaluate(&mut self, theta: &[f64], grad: &mut [f64]) -> f64 {
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
        let input = BlockInput {
            rows: &self.rows,
            col: self.col,
            k,
            table,
            b: &self.intercept,
        };
        let per = n.div_ceil(BLOCKS);
        self.partials
            .par_iter_mut()
            .enumerate()
            .for_each(|(blk, out)| {
                out.weights.fill(0.0);
                out.intercept.fill(0.0);
                out.loss = 0.0;
                let range = (blk * per).min(n)..((blk + 1) * per).min(n);
                run_block(&input, range, out);
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
