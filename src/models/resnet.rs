//! ResNet (He et al. 2016) adapted to one-channel 56x56 glyphs, as section 6.1's bigger network:
//! a 3x3 stem with stride 1 and no max-pool (ImageNet's 7x7 stride-2 stem and max-pool would
//! shrink a 56-pixel glyph to 14 pixels before the first block), then torchvision's basic
//! blocks.
//!
//! # Architecture (ResNet-18, `width` 64)
//! stem: conv 3x3 (64), batch norm, ReLU; four stages of two basic blocks (conv 3x3, batch norm,
//! ReLU, conv 3x3, batch norm, plus the input, ReLU; a 1x1 strided convolution with batch norm
//! on the shortcut when the shape changes) with 64, 128, 256 and 512 channels and strides 1, 2,
//! 2, 2 (maps 56, 28, 14, 7 pixels wide); global average pool, and the classifier (linear 512
//! -> `n_classes`). Input `[batch, 1, 56, 56]`, output `[batch, n_classes]`. Variable names
//! follow torchvision (`conv1`, `bn1`, `layer1.0.conv1`, ..., `layer2.0.downsample.0`, `fc`),
//! except the classifier, `classifier` as in charlab's other networks.

use serde::{Deserialize, Serialize};
use tch::nn::{self, ModuleT};
use tch::Tensor;

use crate::{Error, Result};

/// Configuration of a ResNet (serialisable; saved beside every checkpoint).
///
/// Defaults ([`ResNetParams::resnet18`]): blocks `[2, 2, 2, 2]`, width 64, one input channel,
/// 56x56 input, 36 classes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResNetParams {
    /// Basic blocks per stage (four stages, each >= 1).
    pub layers: [usize; 4],
    /// Channels of the stem and the first stage (doubling at each stage; >= 4).
    pub width: i64,
    /// Input channels.
    pub in_channels: i64,
    /// Input side in pixels (square images, >= 8).
    pub input_side: i64,
    /// Number of classes (> 1).
    pub n_classes: i64,
}

impl Default for ResNetParams {
    fn default() -> Self {
        Self::resnet18()
    }
}

impl ResNetParams {
    /// ResNet-18: two basic blocks per stage, width 64.
    pub fn resnet18() -> Self {
        ResNetParams {
            layers: [2, 2, 2, 2],
            width: 64,
            in_channels: 1,
            input_side: 56,
            n_classes: 36,
        }
    }

    /// Checks every value.
    pub fn check(&self) -> Result<()> {
        if self.layers.contains(&0) {
            return Err(Error::param(
                "layers",
                format!("{:?}: every stage needs at least one block", self.layers),
            ));
        }
        if self.width < 4 {
            return Err(Error::param("width", format!("{} < 4", self.width)));
        }
        if self.in_channels < 1 || self.n_classes < 2 {
            return Err(Error::param(
                "in_channels/n_classes",
                format!(
                    "{} input channels and {} classes; at least 1 and 2",
                    self.in_channels, self.n_classes
                ),
            ));
        }
        if self.input_side < 8 {
            return Err(Error::param(
                "input_side",
                format!(
                    "{} pixels; three stride-2 stages need at least 8",
                    self.input_side
                ),
            ));
        }
        Ok(())
    }
}

fn conv(p: nn::Path, c_in: i64, c_out: i64, k: i64, stride: i64) -> nn::Conv2D {
    nn::conv2d(
        p,
        c_in,
        c_out,
        k,
        nn::ConvConfig {
            stride,
            padding: k / 2,
            bias: false,
            ..Default::default()
        },
    )
}

#[derive(Debug)]
struct Block {
    conv1: nn::Conv2D,
    bn1: nn::BatchNorm,
    conv2: nn::Conv2D,
    bn2: nn::BatchNorm,
    down: Option<(nn::Conv2D, nn::BatchNorm)>,
}

impl Block {
    fn new(p: &nn::Path, c_in: i64, c_out: i64, stride: i64) -> Block {
        let down = (stride != 1 || c_in != c_out).then(|| {
            (
                conv(p / "downsample" / 0, c_in, c_out, 1, stride),
                nn::batch_norm2d(p / "downsample" / 1, c_out, Default::default()),
            )
        });
        Block {
            conv1: conv(p / "conv1", c_in, c_out, 3, stride),
            bn1: nn::batch_norm2d(p / "bn1", c_out, Default::default()),
            conv2: conv(p / "conv2", c_out, c_out, 3, 1),
            bn2: nn::batch_norm2d(p / "bn2", c_out, Default::default()),
            down,
        }
    }

    fn forward(&self, x: &Tensor, train: bool) -> Tensor {
        let y = x
            .apply(&self.conv1)
            .apply_t(&self.bn1, train)
            .relu()
            .apply(&self.conv2)
            .apply_t(&self.bn2, train);
        let shortcut = match &self.down {
            Some((c, b)) => x.apply(c).apply_t(b, train),
            None => x.shallow_clone(),
        };
        (y + shortcut).relu()
    }
}

/// A ResNet built by [`resnet`].
#[derive(Debug)]
pub struct ResNet {
    conv1: nn::Conv2D,
    bn1: nn::BatchNorm,
    blocks: Vec<Block>,
    classifier: nn::Linear,
}

impl ModuleT for ResNet {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let mut x = x.apply(&self.conv1).apply_t(&self.bn1, train).relu();
        for b in &self.blocks {
            x = b.forward(&x, train);
        }
        x.adaptive_avg_pool2d([1, 1])
            .flatten(1, -1)
            .apply(&self.classifier)
    }
}

/// Builds a ResNet under `p` (see the module documentation). Input `[batch, in_channels, side,
/// side]`, output `[batch, n_classes]`.
pub fn resnet(p: &nn::Path, params: &ResNetParams) -> Result<ResNet> {
    params.check()?;
    let w = params.width;
    let mut blocks = Vec::new();
    let mut c_in = w;
    for (stage, &n) in params.layers.iter().enumerate() {
        let c_out = w << stage;
        for j in 0..n {
            let stride = if stage > 0 && j == 0 { 2 } else { 1 };
            let bp = p / format!("layer{}", stage + 1) / j;
            blocks.push(Block::new(&bp, c_in, c_out, stride));
            c_in = c_out;
        }
    }
    Ok(ResNet {
        conv1: conv(p / "conv1", params.in_channels, w, 3, 1),
        bn1: nn::batch_norm2d(p / "bn1", w, Default::default()),
        blocks,
        classifier: nn::linear(p / "classifier", c_in, params.n_classes, Default::default()),
    })
}
