//! Scoring a trained variant: logits, post-hoc logit adjustment (`logits - tau * log prior`,
//! Menon et al. 2021), accuracy and macro F1 before and after, look-alike pair counts.

use serde::{Deserialize, Serialize};
use tch::nn::ModuleT;
use tch::{Device, Kind, Tensor};

use crate::metrics::ConfusionMatrix;
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

/// Accuracy and macro F1 (fractions), before and after logit adjustment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// Accuracy, raw predictions.
    pub accuracy: f64,
    /// Macro F1, raw predictions.
    pub macro_f1: f64,
    /// Accuracy after logit adjustment.
    pub adjusted_accuracy: f64,
    /// Macro F1 after logit adjustment.
    pub adjusted_macro_f1: f64,
}

/// Logits `[n, k]` (CPU, float) of `net` on `x`, in batches.
pub(crate) fn logits(net: &dyn ModuleT, x: &Tensor, batch: i64) -> Result<Tensor> {
    let n = x.size().first().copied().unwrap_or(0);
    let mut parts = Vec::new();
    tch::no_grad(|| -> Result<()> {
        let mut start = 0;
        while start < n {
            let len = batch.min(n - start);
            let l = net.forward_t(&x.narrow(0, start, len), false);
            parts.push(l.to_device(Device::Cpu).to_kind(Kind::Float));
            start += len;
        }
        Ok(())
    })?;
    Ok(Tensor::f_cat(&parts, 0)?)
}

/// `log` of the class prior of `labels` over `k` classes (add-one smoothed, so a class
/// without images has a finite log prior).
pub fn log_prior(labels: &[usize], k: usize) -> Vec<f64> {
    let mut counts = vec![1.0f64; k];
    for &l in labels {
        if let Some(c) = counts.get_mut(l) {
            *c += 1.0;
        }
    }
    let total: f64 = counts.iter().sum();
    counts.iter().map(|c| (c / total).ln()).collect()
}

/// Predictions of `logits - tau * log_prior` (post-hoc logit adjustment).
pub fn adjusted_predictions(logits: &Tensor, log_prior: &[f64], tau: f64) -> Result<Vec<usize>> {
    let prior = Tensor::from_slice(log_prior).to_kind(Kind::Float);
    let p = (logits - prior * tau).argmax(-1, false);
    Ok(Vec::<i64>::try_from(&p)?
        .into_iter()
        .map(|v| v.max(0) as usize)
        .collect())
}

pub(crate) fn scores(truth: &[usize], raw: &[usize], adj: &[usize], k: usize) -> Result<Scores> {
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

pub(crate) fn pair_counts(
    cm: &ConfusionMatrix,
    chars: &[char],
    (a, b): (char, char),
) -> (u64, u64) {
    let idx = |c: char| chars.iter().position(|&x| x == c);
    match (idx(a), idx(b)) {
        (Some(i), Some(j)) => (cm.get(i, j), cm.get(j, i)),
        _ => (0, 0),
    }
}
