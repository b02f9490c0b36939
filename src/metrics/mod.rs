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

mod significance;

pub use significance::{mcnemar, McNemar, Paired};

use crate::{Error, Result};

/// What a results file keeps of a model's predictions on a test part: accuracy, macro F1,
/// per-class metrics, the confusion matrix and the predictions themselves.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TestResults {
    /// Test accuracy.
    pub accuracy: f64,
    /// Test macro F1 (scikit-learn's definition, see the module's conventions).
    pub macro_f1: f64,
    /// Per-class test metrics.
    pub per_class: Vec<ClassMetrics>,
    /// Test confusion matrix, row-major `[truth, predicted]`.
    pub confusion: Vec<u64>,
    /// Predicted class of every test image, in the split's test order (empty in files
    /// written before it was recorded).
    #[serde(rename = "test_predictions", default)]
    pub predictions: Vec<usize>,
}

impl TestResults {
    /// The results of predictions `pred` of the labels `truth` among `n_classes` classes; an
    /// error when the lengths differ or a label is out of range.
    ///
    /// ```
    /// use charlab::metrics::TestResults;
    /// let r = TestResults::of(&[0, 1, 1], &[0, 1, 0], 2)?;
    /// assert!((r.accuracy - 2.0 / 3.0).abs() < 1e-12);
    /// assert_eq!(r.confusion, vec![1, 0, 1, 1]);
    /// # Ok::<(), charlab::Error>(())
    /// ```
    pub fn of(truth: &[usize], pred: &[usize], n_classes: usize) -> Result<Self> {
        let cm = ConfusionMatrix::new(truth, pred, n_classes)?;
        Ok(TestResults {
            accuracy: cm.accuracy(),
            macro_f1: cm.macro_f1(),
            per_class: cm.per_class(),
            confusion: cm.counts().to_vec(),
            predictions: pred.to_vec(),
        })
    }
}

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
    fn mismatched_lengths_and_labels_are_errors() {
        assert!(ConfusionMatrix::new(&[0, 1], &[0], 2).is_err());
        assert!(ConfusionMatrix::new(&[0, 5], &[0, 1], 2).is_err());
        assert!(accuracy(&[0], &[]).is_err());
    }
}
