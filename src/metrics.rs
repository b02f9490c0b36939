//! Classification metrics with scikit-learn's semantics: accuracy, per-class precision, recall,
//! F1 and support, macro-averaged F1, the confusion matrix (raw and row-normalised) and the most
//! confused pairs.
//!
//! # Why not linfa's `ConfusionMatrix`
//! `linfa::metrics::ConfusionMatrix` is not usable for the report's numbers: for more than two
//! classes its `f1_score` is the harmonic mean of the *mean* precision and the *mean* recall,
//! which is not the macro F1 (the mean of the per-class F1 scores) that scikit-learn and the
//! report use, and its `precision`/`recall` are swapped when the matrix is built with the
//! arguments in the other order (`truth.confusion_matrix(pred)` vs
//! `pred.confusion_matrix(truth)`). This module computes the metrics from counts directly.
//!
//! # Conventions (scikit-learn's)
//! - Rows are true classes, columns predicted classes.
//! - A class never predicted has precision 0 (scikit-learn's `zero_division` default, without
//!   the warning); a class absent from the truth has recall 0; F1 is 0 when precision and recall
//!   are both 0. Nothing is NaN.
//! - Macro F1 averages over the classes present in the truth *or* the predictions
//!   (`labels=None` in `f1_score(average="macro")`); a class that appears nowhere is skipped.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Precision, recall, F1 and support of one class.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    /// Correct predictions of the class / all predictions of the class (0 if never predicted).
    pub precision: f64,
    /// Correct predictions of the class / true images of the class (0 if none).
    pub recall: f64,
    /// Harmonic mean of precision and recall (0 if both are 0).
    pub f1: f64,
    /// True images of the class.
    pub support: u64,
}

/// One off-diagonal cell of the confusion matrix.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Confusion {
    /// True class.
    pub truth: usize,
    /// Predicted class.
    pub predicted: usize,
    /// Images of `truth` predicted as `predicted`.
    pub count: u64,
    /// `count` / support of `truth` (the row-normalised cell).
    pub rate: f64,
}

/// A confusion matrix over `n_classes` classes: `counts[t * n + p]` images of true class `t`
/// predicted as `p`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfusionMatrix {
    n_classes: usize,
    counts: Vec<u64>,
}

impl ConfusionMatrix {
    /// Counts `truth` against `pred` (same length, labels `< n_classes`).
    pub fn new(truth: &[usize], pred: &[usize], n_classes: usize) -> Result<Self> {
        if truth.len() != pred.len() {
            return Err(Error::param(
                "predictions",
                format!("{} predictions for {} labels", pred.len(), truth.len()),
            ));
        }
        let mut counts = vec![0u64; n_classes * n_classes];
        for (i, (&t, &p)) in truth.iter().zip(pred).enumerate() {
            if t >= n_classes || p >= n_classes {
                return Err(Error::param(
                    "labels",
                    format!("pair {i} (truth {t}, predicted {p}) is outside 0..{n_classes}"),
                ));
            }
            counts[t * n_classes + p] += 1;
        }
        Ok(ConfusionMatrix { n_classes, counts })
    }

    /// A matrix from its raw counts (row-major `[truth, predicted]`, `n_classes`^2 of them),
    /// e.g. as saved in a results file.
    pub fn from_counts(n_classes: usize, counts: Vec<u64>) -> Result<Self> {
        if counts.len() != n_classes * n_classes {
            return Err(Error::param(
                "confusion",
                format!(
                    "{} counts for {n_classes} classes (need {})",
                    counts.len(),
                    n_classes * n_classes
                ),
            ));
        }
        Ok(ConfusionMatrix { n_classes, counts })
    }

    /// Number of classes (rows and columns).
    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// Images of true class `t` predicted as `p`.
    pub fn get(&self, t: usize, p: usize) -> u64 {
        self.counts[t * self.n_classes + p]
    }

    /// Raw counts, row-major (`[truth, predicted]`).
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// Images counted.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    fn row_sum(&self, t: usize) -> u64 {
        self.counts[t * self.n_classes..(t + 1) * self.n_classes]
            .iter()
            .sum()
    }

    fn col_sum(&self, p: usize) -> u64 {
        (0..self.n_classes).map(|t| self.get(t, p)).sum()
    }

    /// Fraction of correct predictions (0 when empty).
    pub fn accuracy(&self) -> f64 {
        let total = self.total();
        if total == 0 {
            return 0.0;
        }
        let correct: u64 = (0..self.n_classes).map(|c| self.get(c, c)).sum();
        correct as f64 / total as f64
    }

    /// Precision, recall, F1 and support of every class, by class index.
    pub fn per_class(&self) -> Vec<ClassMetrics> {
        (0..self.n_classes)
            .map(|c| {
                let tp = self.get(c, c) as f64;
                let support = self.row_sum(c);
                let predicted = self.col_sum(c);
                let precision = if predicted > 0 {
                    tp / predicted as f64
                } else {
                    0.0
                };
                let recall = if support > 0 {
                    tp / support as f64
                } else {
                    0.0
                };
                let f1 = if precision + recall > 0.0 {
                    2.0 * precision * recall / (precision + recall)
                } else {
                    0.0
                };
                ClassMetrics {
                    precision,
                    recall,
                    f1,
                    support,
                }
            })
            .collect()
    }

    /// Classes present in the truth or the predictions.
    pub fn present(&self) -> Vec<usize> {
        (0..self.n_classes)
            .filter(|&c| self.row_sum(c) > 0 || self.col_sum(c) > 0)
            .collect()
    }

    /// Mean F1 over the classes present in the truth or the predictions (0 when empty).
    pub fn macro_f1(&self) -> f64 {
        let per = self.per_class();
        let present = self.present();
        if present.is_empty() {
            return 0.0;
        }
        present.iter().map(|&c| per[c].f1).sum::<f64>() / present.len() as f64
    }

    /// Mean F1 over the classes of `classes` that are present in the truth or the
    /// predictions (0 when none is): macro F1 restricted, e.g. to the classes a model had
    /// training images of.
    ///
    /// ```
    /// use charlab::metrics::ConfusionMatrix;
    /// // Class 2 has one image and is never predicted: F1 0, left out over classes 0 and 1.
    /// let cm = ConfusionMatrix::new(&[0, 1, 2], &[0, 1, 1], 3).unwrap();
    /// assert!((cm.macro_f1_over(&[0, 1]) - (1.0 + 2.0 / 3.0) / 2.0).abs() < 1e-12);
    /// assert!(cm.macro_f1_over(&[0, 1]) > cm.macro_f1());
    /// ```
    pub fn macro_f1_over(&self, classes: &[usize]) -> f64 {
        let per = self.per_class();
        let kept: Vec<usize> = self
            .present()
            .into_iter()
            .filter(|c| classes.contains(c))
            .collect();
        if kept.is_empty() {
            return 0.0;
        }
        kept.iter().map(|&c| per[c].f1).sum::<f64>() / kept.len() as f64
    }

    /// The row-normalised matrix (each row divided by the class's support; rows of absent
    /// classes are all 0), row-major.
    pub fn normalized(&self) -> Vec<f64> {
        let n = self.n_classes;
        let mut out = vec![0.0; n * n];
        for t in 0..n {
            let s = self.row_sum(t);
            if s > 0 {
                for p in 0..n {
                    out[t * n + p] = self.get(t, p) as f64 / s as f64;
                }
            }
        }
        out
    }

    /// Off-diagonal cells with at least one image, most frequent first (ties: higher rate,
    /// then lower indices).
    pub fn most_confused(&self, k: usize) -> Vec<Confusion> {
        let n = self.n_classes;
        let mut cells: Vec<Confusion> = (0..n)
            .flat_map(|t| (0..n).map(move |p| (t, p)))
            .filter(|&(t, p)| t != p && self.get(t, p) > 0)
            .map(|(t, p)| Confusion {
                truth: t,
                predicted: p,
                count: self.get(t, p),
                rate: self.get(t, p) as f64 / self.row_sum(t) as f64,
            })
            .collect();
        cells.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then(b.rate.total_cmp(&a.rate))
                .then((a.truth, a.predicted).cmp(&(b.truth, b.predicted)))
        });
        cells.truncate(k);
        cells
    }
}

/// Fraction of `pred` equal to `truth` (0 when empty).
pub fn accuracy(truth: &[usize], pred: &[usize]) -> Result<f64> {
    if truth.len() != pred.len() {
        return Err(Error::param(
            "predictions",
            format!("{} predictions for {} labels", pred.len(), truth.len()),
        ));
    }
    if truth.is_empty() {
        return Ok(0.0);
    }
    let correct = truth.iter().zip(pred).filter(|(t, p)| t == p).count();
    Ok(correct as f64 / truth.len() as f64)
}

/// Macro-averaged F1 (see the module's conventions); classes are `0..=max label`.
pub fn macro_f1(truth: &[usize], pred: &[usize]) -> Result<f64> {
    let n = truth.iter().chain(pred).max().map_or(0, |m| m + 1);
    Ok(ConfusionMatrix::new(truth, pred, n)?.macro_f1())
}

/// Mean and sample standard deviation (`n - 1`; 0 for one value) of some scores (the folds of a cross-validation, say).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MeanStd {
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation.
    pub std: f64,
    /// Number of values.
    pub n: usize,
}

impl MeanStd {
    /// Of `values` (all zero when empty).
    pub fn of(values: &[f64]) -> MeanStd {
        let n = values.len();
        if n == 0 {
            return MeanStd::default();
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let var = if n > 1 {
            values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64
        } else {
            0.0
        };
        MeanStd {
            mean,
            std: var.sqrt(),
            n,
        }
    }
}

/// A confused pair, with the class characters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConfusedPair {
    /// True class and its character.
    pub truth: (usize, char),
    /// Predicted class and its character.
    pub predicted: (usize, char),
    /// Test images of `truth` predicted as `predicted`.
    pub count: u64,
    /// `count` / test images of `truth`.
    pub rate: f64,
}

/// A pair of classes the model confused in either direction, counted once: `L` read as `1`
/// and `1` read as `L` are one pair.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConfusedClasses {
    /// The two classes (index, character), the class of the larger direction first.
    pub classes: [(usize, char); 2],
    /// Test images of either class read as the other: both directions summed.
    pub count: u64,
    /// Each direction with at least one image, the larger first.
    pub directions: Vec<ConfusedPair>,
}

/// The `k` pairs of classes most often confused in `cm`, each unordered pair once with both
/// directions summed, most images first (ties: the higher rate of a direction, then the lower
/// class indices). `chars` names the classes (`'?'` beyond it).
pub fn confused_pairs(cm: &ConfusionMatrix, chars: &[char], k: usize) -> Vec<ConfusedClasses> {
    let n = cm.n_classes();
    let ch = |c: usize| chars.get(c).copied().unwrap_or('?');
    let rows: Vec<u64> = (0..n).map(|t| (0..n).map(|p| cm.get(t, p)).sum()).collect();
    let direction = |t: usize, p: usize| {
        let count = cm.get(t, p);
        (count > 0).then(|| ConfusedPair {
            truth: (t, ch(t)),
            predicted: (p, ch(p)),
            count,
            rate: count as f64 / rows[t].max(1) as f64,
        })
    };
    let mut pairs: Vec<ConfusedClasses> = (0..n)
        .flat_map(|a| (a + 1..n).map(move |b| (a, b)))
        .filter_map(|(a, b)| {
            let mut directions: Vec<ConfusedPair> = [direction(a, b), direction(b, a)]
                .into_iter()
                .flatten()
                .collect();
            directions.sort_by(|x, y| {
                y.count
                    .cmp(&x.count)
                    .then(y.rate.total_cmp(&x.rate))
                    .then(x.truth.0.cmp(&y.truth.0))
            });
            let first = directions.first()?;
            Some(ConfusedClasses {
                classes: [first.truth, first.predicted],
                count: directions.iter().map(|d| d.count).sum(),
                directions,
            })
        })
        .collect();
    let top_rate = |p: &ConfusedClasses| p.directions.first().map_or(0.0, |d| d.rate);
    let low = |p: &ConfusedClasses| {
        let (a, b) = (p.classes[0].0, p.classes[1].0);
        (a.min(b), a.max(b))
    };
    pairs.sort_by(|x, y| {
        y.count
            .cmp(&x.count)
            .then(top_rate(y).total_cmp(&top_rate(x)))
            .then(low(x).cmp(&low(y)))
    });
    pairs.truncate(k);
    pairs
}

/// McNemar's exact test of two classifiers on the same test images: the images only the first
/// reads right, those only the second does, and the two-sided p-value of that split under the
/// hypothesis that both err equally often (a binomial test with p = 1/2 on the discordant
/// images; 1 when there are none). The paired test for "is one model better on this test set":
/// unlike two separate confidence intervals it uses that both read the same images.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct McNemar {
    /// Test images the first classifier reads right and the second wrong.
    pub only_first: u64,
    /// Test images the second reads right and the first wrong.
    pub only_second: u64,
    /// Exact two-sided p-value.
    pub p_value: f64,
}

/// McNemar's exact test (see [`McNemar`]) of the predictions `first` and `second` of the
/// labels `truth`; an error when the three lengths differ.
///
/// ```
/// use charlab::metrics::mcnemar;
/// let t = mcnemar(&[0, 1, 1, 0], &[0, 1, 1, 0], &[1, 1, 0, 0]).unwrap();
/// assert_eq!((t.only_first, t.only_second), (2, 0));
/// assert!((t.p_value - 0.5).abs() < 1e-12);
/// ```
pub fn mcnemar(truth: &[usize], first: &[usize], second: &[usize]) -> Result<McNemar> {
    if first.len() != truth.len() || second.len() != truth.len() {
        return Err(Error::param(
            "predictions",
            format!(
                "{} and {} predictions for {} labels: both models must label the same images",
                first.len(),
                second.len(),
                truth.len()
            ),
        ));
    }
    let (mut b, mut c) = (0u64, 0u64);
    for ((&t, &x), &y) in truth.iter().zip(first).zip(second) {
        match (x == t, y == t) {
            (true, false) => b += 1,
            (false, true) => c += 1,
            _ => {}
        }
    }
    let n = b + c;
    let k = b.min(c);
    // P(X <= k) for X ~ Binomial(n, 1/2), summed in log space (n can be thousands).
    let mut log_c = 0.0f64; // ln C(n, i)
    let mut terms = Vec::with_capacity(k as usize + 1);
    for i in 0..=k {
        if i > 0 {
            log_c += ((n - i + 1) as f64).ln() - (i as f64).ln();
        }
        terms.push(log_c - n as f64 * std::f64::consts::LN_2);
    }
    let top = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let tail = top.exp() * terms.iter().map(|t| (t - top).exp()).sum::<f64>();
    Ok(McNemar {
        only_first: b,
        only_second: c,
        p_value: if n == 0 { 1.0 } else { (2.0 * tail).min(1.0) },
    })
}

/// A paired comparison over repeated runs (seeds, folds): the per-run differences, their
/// mean and sample standard deviation, and the two-sided p-value of Student's paired t-test
/// (`None` with fewer than two differences, or when they are all equal).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Paired {
    /// The differences, run by run.
    pub differences: Vec<f64>,
    /// Their mean.
    pub mean: f64,
    /// Their sample standard deviation (0 with one difference).
    pub std: f64,
    /// Two-sided p-value of the paired t-test (the mean against 0, `n - 1` degrees of freedom).
    pub t_test_p: Option<f64>,
}

impl Paired {
    /// Of `differences` (one per run).
    ///
    /// ```
    /// use charlab::metrics::Paired;
    /// let p = Paired::of(&[1.0, 2.0, 3.0]);
    /// assert!((p.mean - 2.0).abs() < 1e-12 && (p.std - 1.0).abs() < 1e-12);
    /// // t = 2 / (1 / sqrt 3) with 2 degrees of freedom: p = 1 - t / sqrt(t^2 + 2).
    /// let t = 2.0 * 3f64.sqrt();
    /// assert!((p.t_test_p.unwrap() - (1.0 - t / (t * t + 2.0).sqrt())).abs() < 1e-9);
    /// ```
    pub fn of(differences: &[f64]) -> Paired {
        let ms = MeanStd::of(differences);
        let t_test_p = (ms.n >= 2 && ms.std > 0.0).then(|| {
            let t = ms.mean / (ms.std / (ms.n as f64).sqrt());
            student_t_two_sided(t, (ms.n - 1) as f64)
        });
        Paired {
            differences: differences.to_vec(),
            mean: ms.mean,
            std: ms.std,
            t_test_p,
        }
    }
}

/// Two-sided p-value of Student's t statistic `t` with `df` degrees of freedom:
/// `I_{df / (df + t^2)}(df / 2, 1 / 2)`.
fn student_t_two_sided(t: f64, df: f64) -> f64 {
    regularized_beta(df / (df + t * t), df / 2.0, 0.5).clamp(0.0, 1.0)
}

/// `ln Gamma(x)` for `x > 0` (Lanczos, g = 7, 9 terms; about 15 digits).
fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    use std::f64::consts::PI;
    if x < 0.5 {
        return (PI / (PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + 7.5;
    let a = G
        .iter()
        .enumerate()
        .skip(1)
        .fold(G[0], |a, (i, g)| a + g / (x + i as f64));
    0.5 * (2.0 * PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// The regularised incomplete beta function `I_x(a, b)` (continued fraction, Lentz's method).
fn regularized_beta(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front =
        (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_fraction(x, a, b) / a
    } else {
        1.0 - front * beta_fraction(1.0 - x, b, a) / b
    }
}

fn beta_fraction(x: f64, a: f64, b: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let guard = |v: f64| if v.abs() < TINY { TINY } else { v };
    let mut c = 1.0;
    let mut d = 1.0 / guard(1.0 - (a + b) * x / (a + 1.0));
    let mut h = d;
    for m in 1..=300 {
        let m = f64::from(m);
        let even = m * (b - m) * x / ((a - 1.0 + 2.0 * m) * (a + 2.0 * m));
        d = 1.0 / guard(1.0 + even * d);
        c = guard(1.0 + even / c);
        h *= d * c;
        let odd = -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 1.0 + 2.0 * m));
        d = 1.0 / guard(1.0 + odd * d);
        c = guard(1.0 + odd / c);
        let step = d * c;
        h *= step;
        if (step - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_three_classes() -> Result<()> {
        // truth: 0 0 0 1 1 2 ; pred: 0 0 1 1 2 2
        let cm = ConfusionMatrix::new(&[0, 0, 0, 1, 1, 2], &[0, 0, 1, 1, 2, 2], 3)?;
        assert!((cm.accuracy() - 4.0 / 6.0).abs() < 1e-12);
        let per = cm.per_class();
        // class 0: p = 2/2, r = 2/3, f1 = 0.8
        assert!((per[0].precision - 1.0).abs() < 1e-12);
        assert!((per[0].recall - 2.0 / 3.0).abs() < 1e-12);
        assert!((per[0].f1 - 0.8).abs() < 1e-12);
        // class 1: p = 1/2, r = 1/2, f1 = 0.5 ; class 2: p = 1/2, r = 1, f1 = 2/3
        assert!((per[1].f1 - 0.5).abs() < 1e-12);
        assert!((per[2].f1 - 2.0 / 3.0).abs() < 1e-12);
        assert!((cm.macro_f1() - (0.8 + 0.5 + 2.0 / 3.0) / 3.0).abs() < 1e-12);
        let top = cm.most_confused(10);
        assert_eq!(top.len(), 2);
        assert_eq!((top[0].truth, top[0].predicted, top[0].count), (1, 2, 1));
        assert!((top[0].rate - 0.5).abs() < 1e-12);
        Ok(())
    }

    #[test]
    fn never_predicted_class_counts_zero_and_absent_classes_are_skipped() -> Result<()> {
        // Class 1 never predicted, class 3 absent everywhere.
        let cm = ConfusionMatrix::new(&[0, 1, 2], &[0, 0, 2], 4)?;
        let per = cm.per_class();
        assert_eq!(per[1].precision, 0.0);
        assert_eq!(per[1].f1, 0.0);
        assert_eq!(cm.present(), vec![0, 1, 2]);
        // f1: class 0 = 2/3 (p 1/2, r 1), class 1 = 0, class 2 = 1.
        assert!((cm.macro_f1() - (2.0 / 3.0 + 0.0 + 1.0) / 3.0).abs() < 1e-12);
        assert!(cm.normalized()[3 * 4..].iter().all(|&v| v == 0.0));
        assert!(!cm.macro_f1().is_nan());
        Ok(())
    }

    #[test]
    fn t_test_matches_closed_forms_and_tables() {
        use std::f64::consts::PI;
        for t in [0.1f64, 0.7, 1.0, 2.5, 12.0] {
            // 1 degree of freedom: Cauchy; 2: 1 - t / sqrt(t^2 + 2).
            let p1 = 1.0 - 2.0 / PI * t.atan();
            assert!(
                (student_t_two_sided(t, 1.0) - p1).abs() < 1e-10,
                "df 1, t {t}"
            );
            let p2 = 1.0 - t / (t * t + 2.0).sqrt();
            assert!(
                (student_t_two_sided(-t, 2.0) - p2).abs() < 1e-10,
                "df 2, t {t}"
            );
        }
        // Tables: t = 2.776 at 4 degrees of freedom and 2.228 at 10 are the 5% points.
        assert!((student_t_two_sided(2.776_445, 4.0) - 0.05).abs() < 1e-5);
        assert!((student_t_two_sided(2.228_139, 10.0) - 0.05).abs() < 1e-5);
        assert!((student_t_two_sided(0.0, 3.0) - 1.0).abs() < 1e-12);
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-12);
        assert_eq!(Paired::of(&[1.0]).t_test_p, None);
        assert_eq!(Paired::of(&[0.5, 0.5, 0.5]).t_test_p, None);
    }

    #[test]
    fn mismatched_lengths_and_labels_are_errors() {
        assert!(ConfusionMatrix::new(&[0, 1], &[0], 2).is_err());
        assert!(ConfusionMatrix::new(&[0, 5], &[0, 1], 2).is_err());
        assert!(accuracy(&[0], &[]).is_err());
    }
}
