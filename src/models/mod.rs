//! The report's models: the classical baselines on raw pixels ([`logreg`], [`svm`]) and the
//! tch networks, the CNN ([`cnn`]), EfficientNet ([`efficientnet`]) and ResNet ([`resnet`]),
//! each kind with its `<Name>Params` and one builder; [`Net`] is the one definition of the
//! network kinds that training, inference and the sections share. Every network maps a
//! batch of normalised images `[batch, 1, 56, 56]` (float32) to class logits
//! `[batch, n_classes]`.

pub mod cnn;
pub mod efficientnet;
pub mod lbfgs;
pub mod logreg;
pub mod net;
pub mod pretrained;
pub mod resnet;
pub mod svm;

pub use cnn::CnnParams;
pub use efficientnet::EfficientNetParams;
pub use logreg::LogRegParams;
pub use net::Net;
pub use resnet::ResNetParams;
pub use svm::SvmParams;

use crate::{Error, Result};

/// Fails unless `value` (the parameter `name`) is positive and finite, saying
/// `<value> must be <what>`.
pub(crate) fn check_positive(name: &'static str, value: f64, what: &str) -> Result<()> {
    if value > 0.0 && value.is_finite() {
        Ok(())
    } else {
        Err(Error::param(name, format!("{value} must be {what}")))
    }
}

/// Number of trainable parameters (elements) in a variable store.
pub fn parameter_count(vs: &tch::nn::VarStore) -> i64 {
    vs.trainable_variables()
        .iter()
        .map(|t| t.numel() as i64)
        .sum()
}

/// `t` (4-D, `[n, c, h, w]`) with channels-last strides: the same values, stored as
/// `[n, h, w, c]`. tch 0.26 has no memory-format argument; libtorch reads the layout from the
/// strides. Built explicitly because `permute(..).contiguous()` leaves a one-channel tensor
/// (the first convolution's weight `[filters, 1, k, k]`) in its old strides.
pub fn channels_last_copy(t: &tch::Tensor) -> tch::Tensor {
    let s = t.size();
    if s.len() != 4 {
        return t.shallow_clone();
    }
    let (c, h, w) = (s[1], s[2], s[3]);
    let mut out =
        tch::Tensor::empty_strided(&s[..], [h * w * c, 1, w * c, c], (t.kind(), t.device()));
    tch::no_grad(|| out.copy_(t));
    out
}

/// Stores every 4-D variable of `vs` (the convolution weights) channels-last, in place.
///
/// libtorch then runs each convolution, and the pooling and batch norm after it, with oneDNN's
/// NHWC kernels, for speed (the step times are in `docs/measurements.md`); the values, the
/// variable names and the checkpoints do not change (saving writes the usual NCHW order,
/// loading copies into the stored layout). Float sums run in another order, so the losses
/// differ from an NCHW run in the last digits. [`crate::channels_last`] says whether training
/// uses it.
pub fn to_channels_last(vs: &tch::nn::VarStore) {
    for (_, mut v) in vs.variables() {
        if v.dim() == 4 {
            let cl = channels_last_copy(&v);
            tch::no_grad(|| v.set_data(&cl));
        }
    }
}
