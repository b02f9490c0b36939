//! Limited-memory BFGS (Nocedal 1980) with a strong-Wolfe line search, the minimiser behind
//! [`crate::models::logreg`]'s default solver.
//!
//! It follows SciPy's `L-BFGS-B` (without bounds), which scikit-learn's
//! `LogisticRegression(solver="lbfgs")` calls, closely enough that both stop for the same
//! reasons:
//! - the direction is the two-loop recursion over the last [`LbfgsParams::memory`] (10) pairs,
//!   with the initial scaling `s'y / y'y`; pairs with `s'y <= eps * y'y` are not stored;
//! - the first trial step is `1 / ||g||` on the first iteration and 1 afterwards;
//! - the line search enforces the strong Wolfe conditions with SciPy's constants
//!   (`c1` 1e-3, `c2` 0.9), at most [`LbfgsParams::max_evals`] evaluations (scikit-learn's
//!   `maxls` 50);
//! - it stops when the largest absolute gradient component is at most [`LbfgsParams::gtol`]
//!   (SciPy's `pgtol`, scikit-learn's `tol`), or when an iteration lowers the objective by at
//!   most `ftol * max(|f_old|, |f_new|, 1)` (SciPy's `factr * eps`; scikit-learn passes
//!   `ftol = 64 eps`), or after [`LbfgsParams::max_iter`] iterations.
//!
//! The line search is Nocedal & Wright's (Numerical Optimization, 2nd ed., algorithms 3.5 and
//! 3.6) with safeguarded cubic interpolation, not SciPy's Moré-Thuente `dcsrch`; both return a
//! point that satisfies the same conditions, so the iterates agree closely but not bit for bit.
//!
//! A failed line search never loses the fit: the best point seen is kept and the reason is
//! reported ([`Stop::LineSearch`]).

use serde::{Deserialize, Serialize};

/// Settings of [`minimize`]. Defaults: `memory` 10, `max_iter` 1,000, `gtol` 1e-4,
/// `ftol` 64 * f64::EPSILON, `max_evals` 50 (scikit-learn's).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LbfgsParams {
    /// Correction pairs kept, >= 1.
    pub memory: usize,
    /// Iterations at most.
    pub max_iter: usize,
    /// Stop when `max |g_i| <= gtol`.
    pub gtol: f64,
    /// Stop when an iteration lowers `f` by at most `ftol * max(|f_old|, |f_new|, 1)`.
    pub ftol: f64,
    /// Function evaluations per line search, at most.
    pub max_evals: usize,
}

impl Default for LbfgsParams {
    fn default() -> Self {
        LbfgsParams {
            memory: 10,
            max_iter: 1000,
            gtol: 1e-4,
            ftol: 64.0 * f64::EPSILON,
            max_evals: 50,
        }
    }
}

/// Why [`minimize`] stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stop {
    /// `max |g_i| <= gtol`: converged.
    Gradient,
    /// The relative decrease of an iteration was at most `ftol`: converged.
    Objective,
    /// `max_iter` iterations ran.
    MaxIter,
    /// No step satisfying the Wolfe conditions was found; the best point seen is returned.
    LineSearch,
}

/// How [`minimize`] went.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LbfgsReport {
    /// Iterations (accepted steps).
    pub iterations: usize,
    /// Function-and-gradient evaluations, the first one included.
    pub evaluations: usize,
    /// Why it stopped.
    pub stop: Stop,
    /// Objective at the returned point.
    pub f: f64,
    /// Largest absolute gradient component at the returned point.
    pub gmax: f64,
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn gmax(g: &[f64]) -> f64 {
    g.iter().fold(0.0f64, |m, v| m.max(v.abs()))
}

/// A point, its objective and gradient.
#[derive(Clone)]
struct Point {
    x: Vec<f64>,
    f: f64,
    g: Vec<f64>,
}

/// A trial step `a` with `phi(a) = f(x + a d)` and `phi'(a) = g(x + a d) . d`.
#[derive(Clone, Copy)]
struct Trial {
    a: f64,
    f: f64,
    d: f64,
}

/// The minimiser of the cubic through `lo` and `hi` (values and slopes), kept at least 10% of
/// the interval away from its ends; bisection when the cubic has no usable minimum.
fn cubic_step(lo: Trial, hi: Trial) -> f64 {
    let (a, b) = if lo.a < hi.a {
        (lo.a, hi.a)
    } else {
        (hi.a, lo.a)
    };
    let margin = 0.1 * (b - a);
    let d1 = lo.d + hi.d - 3.0 * (lo.f - hi.f) / (lo.a - hi.a);
    let disc = d1 * d1 - lo.d * hi.d;
    let step = if disc >= 0.0 {
        let d2 = (hi.a - lo.a).signum() * disc.sqrt();
        hi.a - (hi.a - lo.a) * (hi.d + d2 - d1) / (hi.d - lo.d + 2.0 * d2)
    } else {
        f64::NAN
    };
    if step.is_finite() {
        step.clamp(a + margin, b - margin)
    } else {
        0.5 * (a + b)
    }
}

/// Minimises `fg` (which writes the gradient at `x` into its second argument and returns the
/// objective) from `x0`; `progress` is called after every iteration with the iteration count
/// and the current point's objective and largest gradient component.
pub fn minimize(
    x0: Vec<f64>,
    params: &LbfgsParams,
    mut fg: impl FnMut(&[f64], &mut [f64]) -> f64,
    mut progress: impl FnMut(usize, f64, f64),
) -> (Vec<f64>, LbfgsReport) {
    let n = x0.len();
    let mut g0 = vec![0.0; n];
    let f0 = fg(&x0, &mut g0);
    let mut evaluations = 1;
    let mut cur = Point {
        x: x0,
        f: f0,
        g: g0,
    };
    let mut s_hist: Vec<Vec<f64>> = Vec::new();
    let mut y_hist: Vec<Vec<f64>> = Vec::new();
    let mut rho_hist: Vec<f64> = Vec::new();
    let mut iterations = 0;
    let mut dir = vec![0.0; n];
    let stop = loop {
        if gmax(&cur.g) <= params.gtol {
            break Stop::Gradient;
        }
        if iterations >= params.max_iter {
            break Stop::MaxIter;
        }
        // Two-loop recursion: dir = -H g.
        dir.copy_from_slice(&cur.g);
        let m = s_hist.len();
        let mut alpha = vec![0.0; m];
        for i in (0..m).rev() {
            alpha[i] = rho_hist[i] * dot(&s_hist[i], &dir);
            for (d, y) in dir.iter_mut().zip(&y_hist[i]) {
                *d -= alpha[i] * y;
            }
        }
        if m > 0 {
            let gamma = dot(&s_hist[m - 1], &y_hist[m - 1]) / dot(&y_hist[m - 1], &y_hist[m - 1]);
            dir.iter_mut().for_each(|d| *d *= gamma);
        }
        for i in 0..m {
            let beta = rho_hist[i] * dot(&y_hist[i], &dir);
            for (d, s) in dir.iter_mut().zip(&s_hist[i]) {
                *d += (alpha[i] - beta) * s;
            }
        }
        dir.iter_mut().for_each(|d| *d = -*d);
        let mut slope = dot(&cur.g, &dir);
        if slope >= 0.0 || !slope.is_finite() {
            // Not a descent direction (round-off in the curvature pairs): restart from the
            // steepest descent.
            s_hist.clear();
            y_hist.clear();
            rho_hist.clear();
            dir.iter_mut().zip(&cur.g).for_each(|(d, g)| *d = -g);
            slope = -dot(&cur.g, &cur.g);
        }
        let first = if iterations == 0 && s_hist.is_empty() {
            1.0 / dot(&dir, &dir).sqrt()
        } else {
            1.0
        };
        let (next, evals) = line_search(&cur, &dir, slope, first, params.max_evals, &mut fg);
        evaluations += evals;
        let Some(next) = next else {
            break Stop::LineSearch;
        };
        iterations += 1;
        let s: Vec<f64> = next.x.iter().zip(&cur.x).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = next.g.iter().zip(&cur.g).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &y);
        let yy = dot(&y, &y);
        if sy > f64::EPSILON * yy {
            if s_hist.len() == params.memory {
                s_hist.remove(0);
                y_hist.remove(0);
                rho_hist.remove(0);
            }
            s_hist.push(s);
            y_hist.push(y);
            rho_hist.push(1.0 / sy);
        }
        let decrease = cur.f - next.f;
        let scale = cur.f.abs().max(next.f.abs()).max(1.0);
        cur = next;
        progress(iterations, cur.f, gmax(&cur.g));
        if decrease <= params.ftol * scale {
            break if gmax(&cur.g) <= params.gtol {
                Stop::Gradient
            } else {
                Stop::Objective
            };
        }
    };
    let report = LbfgsReport {
        iterations,
        evaluations,
        stop,
        f: cur.f,
        gmax: gmax(&cur.g),
    };
    (cur.x, report)
}

/// Strong-Wolfe line search from `cur` along `dir` (`slope` = `g . dir` < 0), first trial
/// step `first`. Returns the accepted point (or, when the Wolfe conditions cannot be met
/// within `max_evals` evaluations, the best point seen that lowers `f` sufficiently; `None`
/// when there is none) and the evaluations used.
fn line_search(
    cur: &Point,
    dir: &[f64],
    slope: f64,
    first: f64,
    max_evals: usize,
    fg: &mut impl FnMut(&[f64], &mut [f64]) -> f64,
) -> (Option<Point>, usize) {
    const C1: f64 = 1e-3;
    const C2: f64 = 0.9;
    const MAX_STEP: f64 = 1e10;
    let n = cur.x.len();
    let mut evals = 0;
    let mut best: Option<Point> = None;
    let mut eval = |a: f64, evals: &mut usize, best: &mut Option<Point>| -> (Trial, Point) {
        let x: Vec<f64> = cur.x.iter().zip(dir).map(|(x, d)| x + a * d).collect();
        let mut g = vec![0.0; n];
        let f = fg(&x, &mut g);
        *evals += 1;
        let p = Point { x, f, g };
        let sufficient = f <= cur.f + C1 * a * slope;
        if sufficient && f.is_finite() && best.as_ref().is_none_or(|b| f < b.f) {
            *best = Some(p.clone());
        }
        (
            Trial {
                a,
                f,
                d: dot(&p.g, dir),
            },
            p,
        )
    };
    let origin = Trial {
        a: 0.0,
        f: cur.f,
        d: slope,
    };
    let mut prev = origin;
    let mut a = first;
    // Bracketing phase (algorithm 3.5).
    let (mut lo, mut hi) = loop {
        if evals >= max_evals {
            return (best, evals);
        }
        let (t, p) = eval(a, &mut evals, &mut best);
        if !t.f.is_finite() || t.f > cur.f + C1 * a * slope || (evals > 1 && t.f >= prev.f) {
            break (prev, t);
        }
        if t.d.abs() <= -C2 * slope {
            return (Some(p), evals);
        }
        if t.d >= 0.0 {
            break (t, prev);
        }
        prev = t;
        a = (2.0 * a).min(MAX_STEP);
    };
    // Zoom phase (algorithm 3.6): `lo` satisfies sufficient decrease with the lowest f.
    loop {
        if evals >= max_evals || (hi.a - lo.a).abs() <= f64::EPSILON * lo.a.abs().max(1e-300) {
            return (best, evals);
        }
        let a = if hi.f.is_finite() {
            cubic_step(lo, hi)
        } else {
            0.5 * (lo.a + hi.a)
        };
        let (t, p) = eval(a, &mut evals, &mut best);
        if !t.f.is_finite() || t.f > cur.f + C1 * a * slope || t.f >= lo.f {
            hi = t;
        } else {
            if t.d.abs() <= -C2 * slope {
                return (Some(p), evals);
            }
            if t.d * (hi.a - lo.a) >= 0.0 {
                hi = lo;
            }
            lo = t;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Rosenbrock function in 2-D, minimum 0 at (1, 1).
    fn rosenbrock(x: &[f64], g: &mut [f64]) -> f64 {
        let (a, b) = (x[0], x[1]);
        g[0] = -2.0 * (1.0 - a) - 400.0 * a * (b - a * a);
        g[1] = 200.0 * (b - a * a);
        (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2)
    }

    #[test]
    fn minimises_rosenbrock() {
        let params = LbfgsParams {
            gtol: 1e-8,
            ..LbfgsParams::default()
        };
        let (x, r) = minimize(vec![-1.2, 1.0], &params, rosenbrock, |_, _, _| {});
        assert_eq!(r.stop, Stop::Gradient, "{r:?}");
        assert!(
            (x[0] - 1.0).abs() < 1e-6 && (x[1] - 1.0).abs() < 1e-6,
            "{x:?}"
        );
        assert!(r.iterations < 100, "{r:?}");
    }

    #[test]
    fn stops_at_max_iter_and_keeps_progress() {
        let params = LbfgsParams {
            max_iter: 5,
            ..LbfgsParams::default()
        };
        let (_, r) = minimize(vec![-1.2, 1.0], &params, rosenbrock, |_, _, _| {});
        assert_eq!(r.stop, Stop::MaxIter);
        assert_eq!(r.iterations, 5);
        assert!(r.f < 24.2, "objective did not fall: {r:?}");
    }

    #[test]
    fn quadratic_converges_in_few_iterations() {
        // f = sum_i (i + 1) x_i^2 / 2 from x = 1: L-BFGS needs about n iterations at most.
        let n = 8;
        let f = |x: &[f64], g: &mut [f64]| {
            let mut v = 0.0;
            for i in 0..x.len() {
                g[i] = (i + 1) as f64 * x[i];
                v += 0.5 * (i + 1) as f64 * x[i] * x[i];
            }
            v
        };
        let (x, r) = minimize(vec![1.0; n], &LbfgsParams::default(), f, |_, _, _| {});
        assert!(matches!(r.stop, Stop::Gradient | Stop::Objective), "{r:?}");
        assert!(x.iter().all(|v| v.abs() < 1e-3), "{x:?}");
        assert!(r.iterations <= 3 * n, "{r:?}");
    }
}
