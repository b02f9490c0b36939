//! Scoring a model from its validation and test logits: the split's truths, post-hoc logit adjustment (`logits - tau * log prior`,
//! Menon et al. 2021), accuracy and macro F1 before and after, look-alike pair counts.

use serde::{Deserialize, Serialize};
use tch::Tensor;

use super::{adjusted_predictions, log_prior};
use crate::data::Dataset;
use crate::metrics::{Confusion, ConfusionMatrix};
use crate::split::Split;
use crate::Result;

/// Confusions of one look-alike pair on test.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PairConfusion {
    /// The pair's characters.
    pub pair: (char, char),
    /// Test images of the first read as the second, and the other way (raw predictions).
    pub raw: (u64, u64),
    /// The same after logit adjustment.
    pub adjusted: (u64, u64),
}

/// Accuracy and macro F1, before and after logit adjustment: fractions (`T = f64`), or a
/// statistic of each over several runs (a [`crate::metrics::MeanStd`], a
/// [`crate::metrics::Paired`] difference).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Scores<T = f64> {
    /// Accuracy, raw predictions.
    pub accuracy: T,
    /// Macro F1, raw predictions.
    pub macro_f1: T,
    /// Accuracy after logit adjustment.
    pub adjusted_accuracy: T,
    /// Macro F1 after logit adjustment.
    pub adjusted_macro_f1: T,
}

impl<T> Scores<T> {
    /// The four scores with their names, in the order of the fields (`raw accuracy`,
    /// `raw macro F1`, `adjusted accuracy`, `adjusted macro F1`).
    ///
    /// ```
    /// use charlab::inference::Scores;
    /// let s = Scores { accuracy: 1, macro_f1: 2, adjusted_accuracy: 3, adjusted_macro_f1: 4 };
    /// assert_eq!(s.named().map(|(_, v)| *v), [1, 2, 3, 4]);
    /// assert_eq!(s.named()[3].0, "adjusted macro F1");
    /// ```
    pub fn named(&self) -> [(&'static str, &T); 4] {
        [
            ("raw accuracy", &self.accuracy),
            ("raw macro F1", &self.macro_f1),
            ("adjusted accuracy", &self.adjusted_accuracy),
            ("adjusted macro F1", &self.adjusted_macro_f1),
        ]
    }
}

impl Scores {
    /// Each of the four scores gathered across `runs` (one value per run, in order) and
    /// reduced by `f`.
    ///
    /// ```
    /// use charlab::inference::Scores;
    /// let a = Scores { accuracy: 0.5, macro_f1: 0.4, adjusted_accuracy: 0.6, adjusted_macro_f1: 0.5 };
    /// let b = Scores { accuracy: 0.7, ..a };
    /// let mean = Scores::across(&[a, b], |v| v.iter().sum::<f64>() / v.len() as f64);
    /// assert!((mean.accuracy - 0.6).abs() < 1e-12 && mean.macro_f1 == 0.4);
    /// ```
    pub fn across<U>(runs: &[Scores], f: impl Fn(&[f64]) -> U) -> Scores<U> {
        let get = |g: fn(&Scores) -> f64| f(&runs.iter().map(g).collect::<Vec<_>>());
        Scores {
            accuracy: get(|s| s.accuracy),
            macro_f1: get(|s| s.macro_f1),
            adjusted_accuracy: get(|s| s.adjusted_accuracy),
            adjusted_macro_f1: get(|s| s.adjusted_macro_f1),
        }
    }

    /// `self - other`, score by score, in points (percent).
    pub fn points_over(&self, other: &Scores) -> Scores {
        Scores {
            accuracy: 100.0 * (self.accuracy - other.accuracy),
            macro_f1: 100.0 * (self.macro_f1 - other.macro_f1),
            adjusted_accuracy: 100.0 * (self.adjusted_accuracy - other.adjusted_accuracy),
            adjusted_macro_f1: 100.0 * (self.adjusted_macro_f1 - other.adjusted_macro_f1),
        }
    }
}

/// Accuracy and macro F1 of the raw predictions `raw` and the adjusted ones `adj` against
/// `truth` (`k` classes).
pub fn scores(truth: &[usize], raw: &[usize], adj: &[usize], k: usize) -> Result<Scores> {
    let (r, a) = (
        ConfusionMatrix::new(truth, raw, k)?,
        ConfusionMatrix::new(truth, adj, k)?,
    );
    Ok(Scores {
        accuracy: r.accuracy(),
        macro_f1: r.macro_f1(),
        adjusted_accuracy: a.accuracy(),
        adjusted_macro_f1: a.macro_f1(),
    })
}

/// How often the pair `(a, b)` of characters (`chars`: each class's) is confused in `cm`:
/// `a` read as `b`, and `b` as `a`; `(0, 0)` when either is not a class.
pub fn pair_counts(cm: &ConfusionMatrix, chars: &[char], (a, b): (char, char)) -> (u64, u64) {
    let idx = |c: char| chars.iter().position(|&x| x == c);
    match (idx(a), idx(b)) {
        (Some(i), Some(j)) => (cm.get(i, j), cm.get(j, i)),
        _ => (0, 0),
    }
}

/// Scores of one model (a variant or an ensemble) from its logits on validation and test.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scored {
    /// `tau` picked on validation macro F1.
    pub tau: f64,
    /// Validation accuracy and macro F1, raw and adjusted.
    pub validation: Scores,
    /// Test accuracy and macro F1, raw and adjusted.
    pub test: Scores,
    /// Per-class test F1 after adjustment (by class index).
    pub per_class_f1: Vec<f64>,
    /// The look-alike pairs on test.
    pub pairs: Vec<PairConfusion>,
    /// Adjusted test predictions, in the split's test order.
    pub test_predictions: Vec<usize>,
    /// Raw test predictions (before the adjustment), in the same order: with
    /// `test_predictions`, what a paired test of two models needs on either scores (empty in
    /// results written before they were kept).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub raw_test_predictions: Vec<usize>,
    /// The most frequent test confusions after adjustment (at most [`TOP_CONFUSIONS`]), most
    /// frequent first: where the remaining errors are.
    #[serde(default)]
    pub top_confusions: Vec<Confusion>,
}

/// How many of a model's most frequent test confusions [`Scored`] keeps.
pub const TOP_CONFUSIONS: usize = 10;

/// Truth of the validation and test parts, the training prior and the class characters: what
/// [`score`] needs besides a model's logits, built once per data set and split.
#[derive(Clone, Debug)]
pub struct Eval {
    /// Labels of the validation part, in the split's order.
    pub val_truth: Vec<usize>,
    /// Labels of the test part, in the split's order.
    pub test_truth: Vec<usize>,
    /// Log prior of the training part ([`log_prior`]).
    pub prior: Vec<f64>,
    /// The character of each class.
    pub chars: Vec<char>,
    /// The look-alike pairs whose confusions are counted.
    pub pairs: Vec<(char, char)>,
}

impl Eval {
    /// The parts of `split` of `data`, following the look-alike `pairs`.
    pub fn new(data: &Dataset, split: &Split, pairs: &[(char, char)]) -> Eval {
        let truths =
            |idx: &[usize]| -> Vec<usize> { idx.iter().map(|&i| data.labels()[i]).collect() };
        Eval {
            val_truth: truths(&split.validation),
            test_truth: truths(&split.test),
            prior: log_prior(&truths(&split.train), data.n_classes()),
            chars: data.class_chars().to_vec(),
            pairs: pairs.to_vec(),
        }
    }
}

/// Picks `tau` in `tau_grid` on validation macro F1 and scores both parts.
pub fn score(
    e: &Eval,
    val_logits: &Tensor,
    test_logits: &Tensor,
    tau_grid: &[f64],
) -> Result<Scored> {
    let k = e.prior.len();
    let mut tau = 0.0;
    let mut best_f1 = f64::NEG_INFINITY;
    for &t in tau_grid {
        let pred = adjusted_predictions(val_logits, &e.prior, t)?;
        let f1 = ConfusionMatrix::new(&e.val_truth, &pred, k)?.macro_f1();
        if f1 > best_f1 + 1e-12 {
            best_f1 = f1;
            tau = t;
        }
    }
    let val_raw = adjusted_predictions(val_logits, &e.prior, 0.0)?;
    let val_adj = adjusted_predictions(val_logits, &e.prior, tau)?;
    let test_raw = adjusted_predictions(test_logits, &e.prior, 0.0)?;
    let test_adj = adjusted_predictions(test_logits, &e.prior, tau)?;
    let cm_raw = ConfusionMatrix::new(&e.test_truth, &test_raw, k)?;
    let cm_adj = ConfusionMatrix::new(&e.test_truth, &test_adj, k)?;
    Ok(Scored {
        tau,
        validation: scores(&e.val_truth, &val_raw, &val_adj, k)?,
        test: scores(&e.test_truth, &test_raw, &test_adj, k)?,
        per_class_f1: cm_adj.per_class().iter().map(|m| m.f1).collect(),
        pairs: e
            .pairs
            .iter()
            .map(|&p| PairConfusion {
                pair: p,
                raw: pair_counts(&cm_raw, &e.chars, p),
                adjusted: pair_counts(&cm_adj, &e.chars, p),
            })
            .collect(),
        top_confusions: cm_adj.most_confused(TOP_CONFUSIONS),
        test_predictions: test_adj,
        raw_test_predictions: test_raw,
    })
}
