//! Section 4.1's solver benchmark (`charlab bench-svm-solvers`, `make bench-baselines`):
//! linfa-svm against the popcount SVM solver on a few class pairs.

use std::time::Instant;

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::data::Dataset;
use crate::display::text_table;
use crate::models::svm::SvmParams;
use crate::{split, Error, Result};

/// Fit time of one class pair under both SVM solvers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct PairTiming {
    /// The two classes and their characters, e.g. `O/0`.
    pub pair: String,
    /// Images of the pair in the fitting part.
    pub n: usize,
    /// linfa-svm fit, seconds.
    pub linfa_seconds: f64,
    /// Popcount kernel + SMO fit, seconds.
    pub popcount_seconds: f64,
    /// Largest difference between the two solvers' decision values on the test images of
    /// the two classes (same problem, same tolerance: small).
    pub max_decision_difference: f64,
}

/// The SVM solvers timed pair by pair, and linfa-svm's time for all pairs estimated from them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct SolverTiming {
    /// The timed pairs.
    pub pairs: Vec<PairTiming>,
    /// Estimated linfa-svm time for every pair of the data, one thread, seconds: the sum over
    /// all pairs of `n^2` times the mean `seconds / n^2` of the timed pairs (kernel
    /// construction, quadratic in `n`, dominates).
    pub linfa_all_pairs_estimate_seconds: f64,
    /// Pairs of the data.
    pub all_pairs: usize,
}

/// Times linfa-svm against the popcount solver on `pairs` (class labels) of the fitting part
/// of the report's split (uncapped, so both solve the same problem to the same tolerance),
/// one pair after the other.
pub(crate) fn time_svm_solvers(
    data: &Dataset,
    split_seed: u64,
    pairs: &[(usize, usize)],
    params: &SvmParams,
) -> Result<SolverTiming> {
    use crate::models::svm::SvmSolver;
    let split = split::random_split(data.len(), split_seed)?;
    let fit_idx = split.train_and_validation();
    let x = data.pixel_rows(&fit_idx);
    let y: Vec<usize> = fit_idx.iter().map(|&i| data.labels()[i]).collect();
    let counts = {
        let mut c = vec![0usize; data.n_classes()];
        for &l in &y {
            c[l] += 1;
        }
        c
    };
    let quiet = |_: usize, _: usize| {};
    let mut out = Vec::new();
    let mut rate = 0.0;
    for &(a, b) in pairs {
        let (a, b) = (a.min(b), a.max(b));
        let test: Vec<usize> = split
            .test
            .iter()
            .copied()
            .filter(|&i| [a, b].contains(&data.labels()[i]))
            .collect();
        let xt = data.pixel_rows(&test);
        let run = |solver| -> Result<(f64, Array2<f32>)> {
            let p = SvmParams {
                solver,
                max_iter: None,
                ..params.clone()
            };
            let t = Instant::now();
            let m = p.fit_pairs(&x, data.pixels(), &y, Some(&[(a, b)]), &quiet)?;
            Ok((t.elapsed().as_secs_f64(), m.decision_function(&xt)?))
        };
        let (t_lin, d_lin) = run(SvmSolver::Linfa)?;
        let (t_pop, d_pop) = run(SvmSolver::Popcount)?;
        let diff = d_lin
            .iter()
            .zip(d_pop.iter())
            .map(|(p, q)| (p - q).abs() as f64)
            .fold(0.0, f64::max);
        let n = counts[a] + counts[b];
        rate += t_lin / (n * n) as f64;
        let chars = data.class_chars();
        out.push(PairTiming {
            pair: format!("{}/{}", chars[a], chars[b]),
            n,
            linfa_seconds: t_lin,
            popcount_seconds: t_pop,
            max_decision_difference: diff,
        });
    }
    rate /= pairs.len().max(1) as f64;
    let present: Vec<usize> = (0..counts.len()).filter(|&c| counts[c] > 0).collect();
    let mut sum_sq = 0.0;
    let mut all_pairs = 0;
    for (i, &a) in present.iter().enumerate() {
        for &b in &present[i + 1..] {
            let n = (counts[a] + counts[b]) as f64;
            sum_sq += n * n;
            all_pairs += 1;
        }
    }
    Ok(SolverTiming {
        pairs: out,
        linfa_all_pairs_estimate_seconds: rate * sum_sq,
        all_pairs,
    })
}

/// Class pairs by character, e.g. `O/0,E/N`, as pairs of class labels of `data` (the first
/// class with that character); an error names the pair that is not two characters of classes.
pub(crate) fn parse_pairs(data: &Dataset, pairs: &str) -> Result<Vec<(usize, usize)>> {
    let find = |c: &str| -> Result<usize> {
        let c = c.trim();
        let mut chars = c.chars();
        match (chars.next(), chars.next()) {
            (Some(ch), None) => data.class_chars().iter().position(|&x| x == ch),
            _ => None,
        }
        .ok_or_else(|| Error::param("pairs", format!("`{c}` is not the character of a class")))
    };
    pairs
        .split(',')
        .map(|p| {
            let (a, b) = p.split_once('/').ok_or_else(|| {
                Error::param("pairs", format!("`{p}`: write pairs as A/B, e.g. O/0"))
            })?;
            Ok((find(a)?, find(b)?))
        })
        .collect()
}

/// The text `charlab bench-svm-solvers` prints: one line per timed pair, then linfa-svm's
/// estimated time on every pair.
pub(crate) fn solver_timing_summary(t: &SolverTiming) -> String {
    let header = "pair      n   linfa-svm s  popcount s   speed-up  max |decision diff|";
    let mut s = text_table(header, &t.pairs, |p| {
        format!(
            "{:<5} {:>6} {:>12.2} {:>11.3} {:>9.0}x  {:.2e}",
            p.pair,
            p.n,
            p.linfa_seconds,
            p.popcount_seconds,
            p.linfa_seconds / p.popcount_seconds.max(1e-9),
            p.max_decision_difference
        )
    });
    s.push_str(&format!(
        "linfa-svm on all {} pairs, one thread (estimated from these): {:.0} s\n",
        t.all_pairs, t.linfa_all_pairs_estimate_seconds
    ));
    s
}
