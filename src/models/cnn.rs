//! The report's CNN: conv blocks (convolution, max-pool 2x2, ReLU), dropout, flatten, a hidden
//! fully connected layer with ReLU and dropout, and the classifier.

use serde::{Deserialize, Serialize};
use tch::nn::{self, ModuleT};

use crate::{Error, Result};

/// One convolution block: `filters` output channels, a `kernel x kernel` convolution with
/// "same" padding, then max-pool 2x2 and ReLU.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConvBlock {
    /// Output channels (> 0).
    pub filters: i64,
    /// Odd kernel side, at most the block's input side.
    pub kernel: i64,
}

/// Configuration of the CNN (serialisable; saved beside every checkpoint and result).
///
/// Defaults (the report's architecture as the benchmark measures it): blocks 32/64/128 filters
/// with 3x3 kernels, dropout 0.25 after the conv blocks and 0.5 after the hidden layer, hidden
/// width 256, input 56x56 with one channel, 36 classes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CnnParams {
    /// Convolution blocks, input side first.
    pub blocks: Vec<ConvBlock>,
    /// Dropout rate after the last conv block, in `[0, 1)`.
    pub conv_dropout: f64,
    /// Width of the hidden fully connected layer (> 0).
    pub hidden: i64,
    /// Dropout rate after the hidden layer, in `[0, 1)`.
    pub hidden_dropout: f64,
    /// Input side in pixels (square images).
    pub input_side: i64,
    /// Number of classes (> 1).
    pub n_classes: i64,
}

impl Default for CnnParams {
    fn default() -> Self {
        CnnParams {
            blocks: vec![
                ConvBlock {
                    filters: 32,
                    kernel: 3,
                },
                ConvBlock {
                    filters: 64,
                    kernel: 3,
                },
                ConvBlock {
                    filters: 128,
                    kernel: 3,
                },
            ],
            conv_dropout: 0.25,
            hidden: 256,
            hidden_dropout: 0.5,
            input_side: 56,
            n_classes: 36,
        }
    }
}

impl CnnParams {
    /// Checks every value; returns the side of the feature maps after the last block.
    pub fn check(&self) -> Result<i64> {
        if self.blocks.is_empty() {
            return Err(Error::param(
                "blocks",
                "the CNN needs at least one conv block",
            ));
        }
        if self.n_classes < 2 {
            return Err(Error::param("n_classes", format!("{} < 2", self.n_classes)));
        }
        if self.hidden < 1 {
            return Err(Error::param("hidden", format!("{} < 1", self.hidden)));
        }
        for (name, p) in [
            ("conv_dropout", self.conv_dropout),
            ("hidden_dropout", self.hidden_dropout),
        ] {
            if !(0.0..1.0).contains(&p) {
                return Err(Error::param(name, format!("{p} is outside [0, 1)")));
            }
        }
        let mut side = self.input_side;
        for (i, b) in self.blocks.iter().enumerate() {
            if b.filters < 1 {
                return Err(Error::param(
                    "blocks",
                    format!("block {i} has {} filters; it needs at least 1", b.filters),
                ));
            }
            if b.kernel < 1 || b.kernel % 2 == 0 || b.kernel > side {
                return Err(Error::param(
                    "blocks",
                    format!(
                        "block {i} has kernel {}; it must be odd and at most its input side {side}",
                        b.kernel
                    ),
                ));
            }
            side /= 2;
            if side < 1 {
                return Err(Error::param(
                    "blocks",
                    format!(
                        "{} blocks pool a {}-pixel input to nothing",
                        self.blocks.len(),
                        self.input_side
                    ),
                ));
            }
        }
        Ok(side)
    }
}

/// One layer of the network as [`CnnParams::layers`] lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerInfo {
    /// Layer name (the variable-store path for layers with weights).
    pub name: String,
    /// What it does.
    pub kind: String,
    /// Output shape without the batch dimension.
    pub output: Vec<i64>,
    /// Trainable parameters.
    pub parameters: i64,
}

impl CnnParams {
    /// The layers in order with their output shapes and parameter counts (checked first).
    pub fn layers(&self) -> Result<Vec<LayerInfo>> {
        let side_out = self.check()?;
        let mut out = Vec::new();
        let (mut c, mut side) = (1i64, self.input_side);
        for (i, b) in self.blocks.iter().enumerate() {
            out.push(LayerInfo {
                name: format!("conv{i}"),
                kind: format!("conv {k}x{k}, same padding", k = b.kernel),
                output: vec![b.filters, side, side],
                parameters: b.kernel * b.kernel * c * b.filters + b.filters,
            });
            side /= 2;
            out.push(LayerInfo {
                name: format!("pool{i}"),
                kind: "max-pool 2x2, ReLU".into(),
                output: vec![b.filters, side, side],
                parameters: 0,
            });
            c = b.filters;
        }
        let flat = c * side_out * side_out;
        out.push(LayerInfo {
            name: "flatten".into(),
            kind: format!("dropout {}, flatten", self.conv_dropout),
            output: vec![flat],
            parameters: 0,
        });
        out.push(LayerInfo {
            name: "fc".into(),
            kind: format!("linear, ReLU, dropout {}", self.hidden_dropout),
            output: vec![self.hidden],
            parameters: flat * self.hidden + self.hidden,
        });
        out.push(LayerInfo {
            name: "classifier".into(),
            kind: "linear (logits)".into(),
            output: vec![self.n_classes],
            parameters: self.hidden * self.n_classes + self.n_classes,
        });
        Ok(out)
    }
}

/// Builds the CNN under `p`: `[batch, 1, side, side]` -> logits `[batch, n_classes]`.
pub fn cnn(p: &nn::Path, params: &CnnParams) -> Result<impl ModuleT> {
    let side = params.check()?;
    let mut seq = nn::seq_t();
    let mut channels = 1;
    for (i, b) in params.blocks.iter().enumerate() {
        let conv = nn::conv2d(
            p / format!("conv{i}"),
            channels,
            b.filters,
            b.kernel,
            nn::ConvConfig {
                padding: b.kernel / 2,
                ..Default::default()
            },
        );
        seq = seq.add(conv).add_fn(|x| x.max_pool2d_default(2).relu());
        channels = b.filters;
    }
    let conv_dropout = params.conv_dropout;
    let hidden_dropout = params.hidden_dropout;
    let flat = channels * side * side;
    // `flatten` (not `flat_view`): it copies channels-last maps into NCHW order, so the
    // hidden layer's weights mean the same in both layouts.
    seq = seq
        .add_fn_t(move |x, train| x.dropout(conv_dropout, train).flatten(1, -1))
        .add(nn::linear(
            p / "fc",
            flat,
            params.hidden,
            Default::default(),
        ))
        .add_fn_t(move |x, train| x.relu().dropout(hidden_dropout, train))
        .add(nn::linear(
            p / "classifier",
            params.hidden,
            params.n_classes,
            Default::default(),
        ));
    Ok(seq)
}
