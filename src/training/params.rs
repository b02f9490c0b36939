//! What a training run is given ([`TrainParams`]) and what each epoch leaves
//! ([`EpochRecord`]).

use serde::{Deserialize, Serialize};

use crate::augment::AugmentParams;
use crate::{Error, Precision, Result};

/// Training hyper-parameters (serialisable; saved in `config.json`).
///
/// Defaults: 25 epochs, batch 128, learning rate 1e-3, Adam betas (0.9, 0.999), eps 1e-8, no
/// weight decay, evaluation batch 1024, seed 0, fp32 ([`Precision::Fp32`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainParams {
    /// Epochs to train (>= 1).
    pub epochs: usize,
    /// Training batch size (>= 1). The last, partial batch of an epoch is used too.
    pub batch_size: usize,
    /// Adam learning rate (> 0).
    pub learning_rate: f64,
    /// Adam's beta1 and beta2, in `[0, 1)`.
    pub betas: (f64, f64),
    /// Adam's epsilon (> 0).
    pub eps: f64,
    /// L2 penalty added to the gradient (>= 0; 0 = plain Adam).
    pub weight_decay: f64,
    /// Batch size for evaluation (>= 1).
    pub eval_batch_size: usize,
    /// Seed of the shuffles, of dropout and of the augmentation.
    pub seed: u64,
    /// Class weights of the cross-entropy: class `c` weighs `(n / n_c)^power`, scaled to a
    /// mean of 1 over the classes present in the training part (`None` = plain cross-entropy;
    /// 1 = inverse frequency, 0.5 = its square root). Weights are capped at 10x the mean.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_weight_power: Option<f64>,
    /// On-the-fly augmentation of the training images (`None` = the images as they are).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub augment: Option<AugmentParams>,
    /// The arithmetic of the forward passes ([`Precision`]; training and evaluation). Left
    /// out of `config.json` when fp32, so that runs from before this setting keep their
    /// identity.
    #[serde(default, skip_serializing_if = "Precision::is_fp32")]
    pub precision: Precision,
}

impl Default for TrainParams {
    fn default() -> Self {
        TrainParams {
            epochs: 25,
            batch_size: 128,
            learning_rate: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            eval_batch_size: 1024,
            seed: 0,
            class_weight_power: None,
            augment: None,
            precision: Precision::Fp32,
        }
    }
}

impl TrainParams {
    /// Checks every value.
    pub fn check(&self) -> Result<()> {
        if self.epochs == 0 {
            return Err(Error::param("epochs", "train for at least one epoch"));
        }
        if self.batch_size == 0 || self.eval_batch_size == 0 {
            return Err(Error::param("batch_size", "batch sizes must be at least 1"));
        }
        let lr_ok = self.learning_rate > 0.0 && self.learning_rate.is_finite();
        if !lr_ok {
            return Err(Error::param(
                "learning_rate",
                format!("{} must be a positive number", self.learning_rate),
            ));
        }
        let (b1, b2) = self.betas;
        if !(0.0..1.0).contains(&b1) || !(0.0..1.0).contains(&b2) {
            return Err(Error::param(
                "betas",
                format!("({b1}, {b2}) must lie in [0, 1)"),
            ));
        }
        let eps_ok = self.eps > 0.0 && self.eps.is_finite();
        let decay_ok = self.weight_decay >= 0.0 && self.weight_decay.is_finite();
        if !eps_ok || !decay_ok {
            return Err(Error::param(
                "eps/weight_decay",
                "eps > 0 and weight_decay >= 0",
            ));
        }
        if let Some(p) = self.class_weight_power {
            if !(0.0..=2.0).contains(&p) {
                return Err(Error::param(
                    "class_weight_power",
                    format!("{p} is outside [0, 2]"),
                ));
            }
        }
        if let Some(a) = &self.augment {
            a.check()?;
        }
        Ok(())
    }
}

/// What one epoch did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Mean training cross-entropy over the epoch's images (dropout on).
    pub train_loss: f64,
    /// Mean validation cross-entropy (dropout off).
    pub val_loss: f64,
    /// Validation accuracy.
    pub val_accuracy: f64,
    /// Wall time of the epoch (training and validation), seconds.
    pub seconds: f64,
    /// Where the epoch's time went (absent in runs from before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phases: Option<EpochPhases>,
}

/// Seconds of one epoch by phase, measured on the host: on a GPU, work queued by one phase
/// may finish in the next (the loss read at each step waits for its batch, so the training
/// phases stay close). `seconds` of the [`EpochRecord`] is the sum of all but `history` plus
/// what no phase covers (the shuffle, the progress bar); `history` comes after it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EpochPhases {
    /// Waiting for the next batch from the batch-preparing thread (gathering, augmentation).
    pub data: f64,
    /// Forward pass, loss and backward pass of every batch.
    pub forward_backward: f64,
    /// Adam's updates.
    pub optimizer: f64,
    /// Scoring the validation part.
    pub evaluation: f64,
    /// Writing the checkpoint: best and last weights, Adam's state, the state file.
    pub checkpoint: f64,
    /// SHA-256 of the checkpoint's weights and optimiser files.
    pub hashing: f64,
    /// Writing the TensorBoard events, after `seconds` was taken (so that TensorBoard's
    /// images/s is the record's). `history.jsonl`, `best.json` and `state.json`, a few KB
    /// written once this record is complete, are not counted.
    pub history: f64,
}
