//! Scores over several networks and after the fact: post-hoc logit adjustment
//! ([`Adjustment`]), soft and majority votes, and an ensemble folder's `ensemble.json`
//! ([`EnsembleSpec`]).

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

pub use crate::training::arg_max;
use crate::Result;

/// Post-hoc logit adjustment: `logits - tau * log_prior`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Adjustment {
    /// Weight of the log prior (chosen on validation).
    pub tau: f64,
    /// Log prior of each class in the training part.
    pub log_prior: Vec<f64>,
}

impl Adjustment {
    /// `logits - tau * log_prior` (`[n, k]` logits, `k` the prior's length).
    pub fn apply(&self, logits: Tensor) -> Tensor {
        let prior = Tensor::from_slice(&self.log_prior)
            .to_kind(tch::Kind::Float)
            .to_device(logits.device());
        logits.to_kind(tch::Kind::Float) - prior * self.tau
    }
}

/// `ensemble.json`: a soft vote of trained run folders.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnsembleSpec {
    /// Members' run folders, relative to the ensemble's folder or absolute.
    pub members: Vec<std::path::PathBuf>,
    /// `soft` (mean probabilities) or `majority` (one vote per member, ties broken by the mean
    /// probability).
    pub rule: String,
    /// Adjustment of the vote's log-probabilities, if any.
    pub adjustment: Option<Adjustment>,
    /// Whether each member's own `adjustment.json` is applied to its logits before the vote
    /// (default `false`: members vote with their raw logits). Section 6.2's fold votes set it:
    /// each fold picked its own `tau` on its inner validation part.
    #[serde(default)]
    pub adjusted_members: bool,
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
    let adjustment = Adjustment {
        tau,
        log_prior: log_prior.to_vec(),
    };
    arg_max(&adjustment.apply(logits.shallow_clone()))
}

/// Log of the mean softmax probability of `members` (`[n, k]` logits each): a soft vote.
pub fn soft_vote(members: &[&Tensor]) -> Result<Tensor> {
    let probs: Vec<Tensor> = members.iter().map(|l| l.softmax(-1, Kind::Float)).collect();
    Ok(Tensor::f_stack(&probs, 0)?
        .mean_dim(0, false, Kind::Float)
        .clamp_min(1e-12)
        .log())
}

/// Votes per class of `members` (each member's arg-max counts one), ties broken by the mean
/// probability: a majority vote, as scores whose arg-max is the winning class.
pub fn majority_vote(members: &[&Tensor]) -> Result<Tensor> {
    let mut votes: Option<Tensor> = None;
    for l in members {
        let k = l.size().last().copied().unwrap_or(1);
        let one_hot = l.argmax(-1, false).one_hot(k).to_kind(Kind::Float);
        votes = Some(match votes {
            Some(v) => v + one_hot,
            None => one_hot,
        });
    }
    let mean_prob = soft_vote(members)?.exp();
    Ok(votes.map_or(mean_prob.shallow_clone(), |v| v + mean_prob * 1e-3))
}

/// Hard votes: each member's prediction counts one; a tie goes to the class of the member
/// ranked first (members are given best first).
pub fn majority_of_labels(preds: &[&[usize]], k: usize) -> Vec<usize> {
    let n = preds.first().map_or(0, |p| p.len());
    let m = preds.len().max(1) as f64;
    (0..n)
        .map(|i| {
            let mut votes = vec![0.0f64; k];
            for (rank, p) in preds.iter().enumerate() {
                if let Some(v) = p.get(i).and_then(|&c| votes.get_mut(c)) {
                    *v += 1.0 + 1e-3 * (m - rank as f64) / m;
                }
            }
            votes
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map_or(0, |(c, _)| c)
        })
        .collect()
}
