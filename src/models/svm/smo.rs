//! libsvm's SMO solver of [`SvmSolver::Popcount`](super::SvmSolver::Popcount)'s binary
//! problems (second-order working set selection, Fan, Chen and Lin 2005; no shrinking).

use super::Solution;

/// libsvm's clip of a same-label pair `(p, q)` back onto the box `[0, c]` after a step, which
/// keeps `sum = alpha[p] + alpha[q]`: when `sum > c`, `alpha[p]` above `c`; otherwise
/// `alpha[q]` below 0. Run for `(i, j)`, then `(j, i)`.
fn clip_same_label(alpha: &mut [f64], (p, q): (usize, usize), sum: f64, c: f64) {
    if sum > c {
        if alpha[p] > c {
            alpha[p] = c;
            alpha[q] = sum - c;
        }
    } else if alpha[q] < 0.0 {
        alpha[q] = 0.0;
        alpha[p] = sum;
    }
}

/// libsvm's SMO for C-SVC without shrinking on a dense kernel `k` (`[n, n]`, row-major) with
/// labels `y` (+1 / -1): returns `alpha_i y_i`, `rho`, iterations and whether the maximal
/// violation fell below `tol` within `max_iter` iterations.
#[allow(clippy::needless_range_loop)]
pub(super) fn smo(k: &[f32], y: &[f64], c: f64, tol: f64, max_iter: usize) -> Solution {
    const TAU: f64 = 1e-12;
    let n = y.len();
    let mut alpha = vec![0.0f64; n];
    let mut g = vec![-1.0f64; n];
    let qd: Vec<f64> = (0..n).map(|i| k[i * n + i] as f64).collect();
    let mut iter = 0;
    let mut converged = false;
    while iter < max_iter {
        // Working set: i maximises -y G over I_up ...
        let mut gmax = f64::NEG_INFINITY;
        let mut i_sel = usize::MAX;
        for t in 0..n {
            if y[t] > 0.0 {
                if alpha[t] < c && -g[t] >= gmax {
                    gmax = -g[t];
                    i_sel = t;
                }
            } else if alpha[t] > 0.0 && g[t] >= gmax {
                gmax = g[t];
                i_sel = t;
            }
        }
        // ... and j the second-order best partner over I_low.
        let mut gmax2 = f64::NEG_INFINITY;
        let mut j_sel = usize::MAX;
        let mut obj_min = f64::INFINITY;
        if i_sel != usize::MAX {
            let ki = &k[i_sel * n..(i_sel + 1) * n];
            for t in 0..n {
                let quad = qd[i_sel] + qd[t] - 2.0 * ki[t] as f64;
                if y[t] > 0.0 {
                    if alpha[t] > 0.0 {
                        let diff = gmax + g[t];
                        if g[t] >= gmax2 {
                            gmax2 = g[t];
                        }
                        if diff > 0.0 {
                            let obj = -(diff * diff) / if quad > 0.0 { quad } else { TAU };
                            if obj <= obj_min {
                                j_sel = t;
                                obj_min = obj;
                            }
                        }
                    }
                } else if alpha[t] < c {
                    let diff = gmax - g[t];
                    if -g[t] >= gmax2 {
                        gmax2 = -g[t];
                    }
                    if diff > 0.0 {
                        let obj = -(diff * diff) / if quad > 0.0 { quad } else { TAU };
                        if obj <= obj_min {
                            j_sel = t;
                            obj_min = obj;
                        }
                    }
                }
            }
        }
        if i_sel == usize::MAX || j_sel == usize::MAX || gmax + gmax2 < tol {
            converged = true;
            break;
        }
        iter += 1;
        let (i, j) = (i_sel, j_sel);
        let ki = &k[i * n..(i + 1) * n];
        let kj = &k[j * n..(j + 1) * n];
        let (old_i, old_j) = (alpha[i], alpha[j]);
        let kij = ki[j] as f64;
        if y[i] != y[j] {
            // Q_ij = -K_ij
            let mut quad = qd[i] + qd[j] + 2.0 * (-kij);
            if quad <= 0.0 {
                quad = TAU;
            }
            let delta = (-g[i] - g[j]) / quad;
            let diff = alpha[i] - alpha[j];
            alpha[i] += delta;
            alpha[j] += delta;
            if diff > 0.0 {
                if alpha[j] < 0.0 {
                    alpha[j] = 0.0;
                    alpha[i] = diff;
                }
            } else if alpha[i] < 0.0 {
                alpha[i] = 0.0;
                alpha[j] = -diff;
            }
            if diff > 0.0 {
                if alpha[i] > c {
                    alpha[i] = c;
                    alpha[j] = c - diff;
                }
            } else if alpha[j] > c {
                alpha[j] = c;
                alpha[i] = c + diff;
            }
        } else {
            let mut quad = qd[i] + qd[j] - 2.0 * kij;
            if quad <= 0.0 {
                quad = TAU;
            }
            let delta = (g[i] - g[j]) / quad;
            let sum = alpha[i] + alpha[j];
            alpha[i] -= delta;
            alpha[j] += delta;
            clip_same_label(&mut alpha, (i, j), sum, c);
            clip_same_label(&mut alpha, (j, i), sum, c);
        }
        // G_t += Q_ti dA_i + Q_tj dA_j with Q_ts = y_t y_s K_ts.
        let dai = (alpha[i] - old_i) * y[i];
        let daj = (alpha[j] - old_j) * y[j];
        for t in 0..n {
            g[t] += y[t] * (ki[t] as f64 * dai + kj[t] as f64 * daj);
        }
    }
    // rho as libsvm: mean of y G over free vectors, else the middle of the feasible interval.
    let (mut ub, mut lb) = (f64::INFINITY, f64::NEG_INFINITY);
    let (mut free, mut sum_free) = (0usize, 0.0f64);
    for t in 0..n {
        let yg = y[t] * g[t];
        if alpha[t] >= c {
            if y[t] < 0.0 {
                ub = ub.min(yg);
            } else {
                lb = lb.max(yg);
            }
        } else if alpha[t] <= 0.0 {
            if y[t] > 0.0 {
                ub = ub.min(yg);
            } else {
                lb = lb.max(yg);
            }
        } else {
            free += 1;
            sum_free += yg;
        }
    }
    let rho = if free > 0 {
        sum_free / free as f64
    } else {
        (ub + lb) / 2.0
    };
    let coef = alpha.iter().zip(y).map(|(a, yy)| a * yy).collect();
    Solution {
        coef,
        rho,
        iterations: iter,
        converged,
    }
}
