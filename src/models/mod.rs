//! The report's models: the classical baselines on raw pixels ([`logreg`], [`svm`]) and the
//! tch networks, the CNN ([`cnn`]) and EfficientNet ([`efficientnet`]). Every network maps a
//! batch of normalised images `[batch, 1, 56, 56]` (float32) to class logits
//! `[batch, n_classes]`.

pub mod cnn;
pub mod efficientnet;
pub mod lbfgs;
pub mod logreg;
pub mod svm;

/// Number of trainable parameters (elements) in a variable store.
pub fn parameter_count(vs: &tch::nn::VarStore) -> i64 {
    vs.trainable_variables()
        .iter()
        .map(|t| t.numel() as i64)
        .sum()
}
