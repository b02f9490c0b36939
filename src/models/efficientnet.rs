//! EfficientNet (b0 and its scaled siblings) for one-channel 56x56 glyphs, as torchvision
//! builds it, with the classifier replaced (the report's section 4.3).
//!
//! # Architecture (b0)
//! stem: conv 3x3 stride 2 (32 channels), batch norm, SiLU; seven stages of MBConv blocks
//! (expand 1x1, depthwise kxk, squeeze-and-excitation with a quarter of the block's input
//! channels, project 1x1; residual with stochastic depth when the shape is kept):
//!
//! | stage | expand | kernel | stride | channels | blocks |
//! |---|---|---|---|---|---|
//! | 1 | 1 | 3 | 1 | 16 | 1 |
//! | 2 | 6 | 3 | 2 | 24 | 2 |
//! | 3 | 6 | 5 | 2 | 40 | 2 |
//! | 4 | 6 | 3 | 2 | 80 | 3 |
//! | 5 | 6 | 5 | 1 | 112 | 3 |
//! | 6 | 6 | 5 | 2 | 192 | 4 |
//! | 7 | 6 | 3 | 1 | 320 | 1 |
//!
//! head: conv 1x1 to 1280 channels, batch norm, SiLU, global average pool, dropout, and the
//! replaced classifier (linear 1280 -> `n_classes`). On `[batch, 1, 56, 56]` the feature maps
//! are 28, 14, 7, 4 and 2 pixels wide. With 36 classes b0 has 4,053,088 trainable parameters
//! (torchvision's ImageNet b0: 5,288,548, of which 1,281,000 in its 1000-class classifier and
//! 576 more in its 3-channel stem).
//!
//! # Differences from torchvision and timm
//! - One input channel (the images are binary), so the stem has `1 x 3 x 3` kernels.
//!   [`load_pretrained`] sums a 3-channel stem over its input channels, as timm does when it
//!   adapts ImageNet weights to grey images.
//! - Variable names follow torchvision's `state_dict` (`features.0.0.weight`, ...,
//!   `classifier.1.weight`), so its weights, saved as safetensors, load as they are.
//! - Initialisation, batch-norm settings (eps 1e-5, momentum 0.1), SiLU, dropout before the
//!   classifier (0.2 for b0) and stochastic depth (0.2, growing linearly over the blocks) are
//!   torchvision's. timm's b0 is the same network except for its padding of strided
//!   convolutions ("same" padding in the TF-ported weights) and a drop-path default of 0.

use serde::{Deserialize, Serialize};
use tch::nn::{self, ModuleT};
use tch::{Kind, Tensor};

use crate::{Error, Result};

/// Configuration of an EfficientNet (serialisable; saved beside every checkpoint).
///
/// Defaults ([`EfficientNetParams::b0`]): width and depth multipliers 1.0, dropout 0.2,
/// stochastic depth 0.2, one input channel, 56x56 input, 36 classes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EfficientNetParams {
    /// Variant name, for tables and file names (`b0`, `b1`, ...).
    pub variant: String,
    /// Channel multiplier (> 0); channels are rounded to multiples of 8.
    pub width_mult: f64,
    /// Depth multiplier (> 0); the block count of each stage is rounded up.
    pub depth_mult: f64,
    /// Dropout before the classifier, in `[0, 1)`.
    pub dropout: f64,
    /// Stochastic depth rate of the last block, in `[0, 1)` (block `i` of `n` gets `rate * i / n`).
    pub stochastic_depth: f64,
    /// Input channels (>= 1).
    pub in_channels: i64,
    /// Input side in pixels (>= 32, square images).
    pub input_side: i64,
    /// Number of classes (> 1).
    pub n_classes: i64,
}

impl Default for EfficientNetParams {
    fn default() -> Self {
        EfficientNetParams::b0()
    }
}

/// One MBConv stage of the b0 table: expand ratio, kernel, stride, output channels, blocks.
const B0_STAGES: [(i64, i64, i64, i64, i64); 7] = [
    (1, 3, 1, 16, 1),
    (6, 3, 2, 24, 2),
    (6, 5, 2, 40, 2),
    (6, 3, 2, 80, 3),
    (6, 5, 1, 112, 3),
    (6, 5, 2, 192, 4),
    (6, 3, 1, 320, 1),
];

/// One stage of a built network (for layer tables).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StageInfo {
    /// Variable prefix (`features.N`, or `classifier`).
    pub name: String,
    /// What it does.
    pub kind: String,
    /// Output shape without the batch dimension.
    pub output: Vec<i64>,
}

fn make_divisible(v: f64) -> i64 {
    let d = 8.0;
    let new = ((v + d / 2.0) / d).floor().max(1.0) * d;
    let new = if new < 0.9 * v { new + d } else { new };
    new as i64
}

fn conv_out(side: i64, kernel: i64, stride: i64) -> i64 {
    let pad = (kernel - 1) / 2;
    (side + 2 * pad - kernel) / stride + 1
}

impl EfficientNetParams {
    /// EfficientNet-b0 (the report's model): multipliers 1.0 / 1.0, dropout 0.2.
    pub fn b0() -> Self {
        Self::scaled("b0", 1.0, 1.0, 0.2)
    }

    /// EfficientNet-b1: width 1.0, depth 1.1, dropout 0.2.
    pub fn b1() -> Self {
        Self::scaled("b1", 1.0, 1.1, 0.2)
    }

    /// EfficientNet-b2: width 1.1, depth 1.2, dropout 0.3.
    pub fn b2() -> Self {
        Self::scaled("b2", 1.1, 1.2, 0.3)
    }

    /// EfficientNet-b3: width 1.2, depth 1.4, dropout 0.3.
    pub fn b3() -> Self {
        Self::scaled("b3", 1.2, 1.4, 0.3)
    }

    /// A variant by name (`b0` to `b3`).
    pub fn variant(name: &str) -> Result<Self> {
        match name {
            "b0" => Ok(Self::b0()),
            "b1" => Ok(Self::b1()),
            "b2" => Ok(Self::b2()),
            "b3" => Ok(Self::b3()),
            other => Err(Error::param(
                "variant",
                format!("unknown EfficientNet variant `{other}`; use b0, b1, b2 or b3"),
            )),
        }
    }

    fn scaled(name: &str, width: f64, depth: f64, dropout: f64) -> Self {
        EfficientNetParams {
            variant: name.into(),
            width_mult: width,
            depth_mult: depth,
            dropout,
            stochastic_depth: 0.2,
            in_channels: 1,
            input_side: 56,
            n_classes: 36,
        }
    }

    /// Checks every value.
    pub fn check(&self) -> Result<()> {
        let positive = |v: f64| v > 0.0 && v.is_finite();
        if !positive(self.width_mult) || !positive(self.depth_mult) {
            return Err(Error::param(
                "width_mult/depth_mult",
                format!(
                    "multipliers must be positive (got {} and {})",
                    self.width_mult, self.depth_mult
                ),
            ));
        }
        for (name, rate) in [
            ("dropout", self.dropout),
            ("stochastic_depth", self.stochastic_depth),
        ] {
            if !(0.0..1.0).contains(&rate) {
                return Err(Error::param(name, format!("{rate} must lie in [0, 1)")));
            }
        }
        if self.in_channels < 1 {
            return Err(Error::param("in_channels", "at least one input channel"));
        }
        if self.input_side < 32 {
            return Err(Error::param(
                "input_side",
                format!(
                    "{} px is too small: five stride-2 stages need at least 32 px",
                    self.input_side
                ),
            ));
        }
        if self.n_classes < 2 {
            return Err(Error::param("n_classes", "at least two classes"));
        }
        Ok(())
    }

    fn channels(&self, c: i64) -> i64 {
        make_divisible(c as f64 * self.width_mult)
    }

    fn depth(&self, n: i64) -> i64 {
        (n as f64 * self.depth_mult).ceil() as i64
    }

    /// The stages of the network with their output shapes.
    pub fn stages(&self) -> Result<Vec<StageInfo>> {
        self.check()?;
        let mut side = conv_out(self.input_side, 3, 2);
        let mut out = vec![StageInfo {
            name: "features.0".into(),
            kind: "stem: conv 3x3 /2, BN, SiLU".into(),
            output: vec![self.channels(32), side, side],
        }];
        for (s, &(e, k, st, c, n)) in B0_STAGES.iter().enumerate() {
            side = conv_out(side, k, st);
            out.push(StageInfo {
                name: format!("features.{}", s + 1),
                kind: format!("{} x MBConv{e} {k}x{k} /{st}, SE", self.depth(n)),
                output: vec![self.channels(c), side, side],
            });
        }
        let head = self.channels(1280);
        out.push(StageInfo {
            name: "features.8".into(),
            kind: "head: conv 1x1, BN, SiLU".into(),
            output: vec![head, side, side],
        });
        out.push(StageInfo {
            name: "classifier".into(),
            kind: format!("avg pool, dropout {}, linear (logits)", self.dropout),
            output: vec![self.n_classes],
        });
        Ok(out)
    }
}

/// Convolution (no bias) + batch norm, optionally followed by SiLU.
#[derive(Debug)]
struct ConvBn {
    conv: nn::Conv2D,
    bn: nn::BatchNorm,
    act: bool,
}

impl ConvBn {
    #[allow(clippy::too_many_arguments)]
    fn new(
        p: nn::Path,
        c_in: i64,
        c_out: i64,
        k: i64,
        stride: i64,
        groups: i64,
        act: bool,
    ) -> Self {
        let conv = nn::conv2d(
            &p / 0,
            c_in,
            c_out,
            k,
            nn::ConvConfig {
                stride,
                padding: (k - 1) / 2,
                groups,
                bias: false,
                ws_init: nn::Init::Kaiming {
                    dist: nn::init::NormalOrUniform::Normal,
                    fan: nn::init::FanInOut::FanOut,
                    non_linearity: nn::init::NonLinearity::ReLU,
                },
                ..Default::default()
            },
        );
        let bn = nn::batch_norm2d(&p / 1, c_out, Default::default());
        ConvBn { conv, bn, act }
    }

    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let y = x.apply(&self.conv).apply_t(&self.bn, train);
        if self.act {
            y.silu()
        } else {
            y
        }
    }
}

/// Inverted residual block with squeeze-and-excitation.
#[derive(Debug)]
struct MbConv {
    expand: Option<ConvBn>,
    depthwise: ConvBn,
    se_reduce: nn::Conv2D,
    se_expand: nn::Conv2D,
    project: ConvBn,
    residual: bool,
    drop_rate: f64,
}

impl MbConv {
    #[allow(clippy::too_many_arguments)]
    fn new(
        p: nn::Path,
        c_in: i64,
        c_out: i64,
        expand: i64,
        k: i64,
        stride: i64,
        drop_rate: f64,
    ) -> Self {
        let hidden = make_divisible((c_in * expand) as f64);
        let mut i = -1i64;
        let mut next = || {
            i += 1;
            &p / i
        };
        let expand_layer = (expand != 1).then(|| ConvBn::new(next(), c_in, hidden, 1, 1, 1, true));
        let depthwise = ConvBn::new(next(), hidden, hidden, k, stride, hidden, true);
        let se = next();
        let squeeze = (c_in / 4).max(1);
        let se_reduce = nn::conv2d(&se / "fc1", hidden, squeeze, 1, Default::default());
        let se_expand = nn::conv2d(&se / "fc2", squeeze, hidden, 1, Default::default());
        let project = ConvBn::new(next(), hidden, c_out, 1, 1, 1, false);
        MbConv {
            expand: expand_layer,
            depthwise,
            se_reduce,
            se_expand,
            project,
            residual: stride == 1 && c_in == c_out,
            drop_rate,
        }
    }

    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let mut y = match &self.expand {
            Some(e) => e.forward_t(x, train),
            None => x.shallow_clone(),
        };
        y = self.depthwise.forward_t(&y, train);
        let s = y
            .mean_dim(&[2i64, 3][..], true, Kind::Float)
            .apply(&self.se_reduce)
            .silu()
            .apply(&self.se_expand)
            .sigmoid();
        y = self.project.forward_t(&(y * s), train);
        if !self.residual {
            return y;
        }
        if train && self.drop_rate > 0.0 {
            let keep = 1.0 - self.drop_rate;
            let n = y.size()[0];
            let mask = Tensor::rand([n, 1, 1, 1], (Kind::Float, y.device()))
                .lt(keep)
                .to_kind(Kind::Float)
                / keep;
            y *= mask;
        }
        y + x
    }
}

/// An EfficientNet: `[batch, in_channels, side, side]` -> logits `[batch, n_classes]`.
#[derive(Debug)]
pub struct EfficientNet {
    stem: ConvBn,
    blocks: Vec<MbConv>,
    head: ConvBn,
    classifier: nn::Linear,
    dropout: f64,
}

impl EfficientNet {
    /// Builds the network under `p` with torchvision's variable names and initialisation.
    pub fn new(p: &nn::Path, params: &EfficientNetParams) -> Result<Self> {
        params.check()?;
        let features = p / "features";
        let stem_c = params.channels(32);
        let stem = ConvBn::new(&features / 0, params.in_channels, stem_c, 3, 2, 1, true);
        let total: i64 = B0_STAGES.iter().map(|s| params.depth(s.4)).sum();
        let mut blocks = Vec::new();
        let mut c_in = stem_c;
        let mut id = 0;
        for (s, &(e, k, st, c, n)) in B0_STAGES.iter().enumerate() {
            let c_out = params.channels(c);
            let stage = &features / (s + 1);
            for j in 0..params.depth(n) {
                let drop = params.stochastic_depth * id as f64 / total as f64;
                let stride = if j == 0 { st } else { 1 };
                blocks.push(MbConv::new(
                    &stage / j / "block",
                    c_in,
                    c_out,
                    e,
                    k,
                    stride,
                    drop,
                ));
                c_in = c_out;
                id += 1;
            }
        }
        let head_c = params.channels(1280);
        let head = ConvBn::new(&features / 8, c_in, head_c, 1, 1, 1, true);
        let range = 1.0 / (params.n_classes as f64).sqrt();
        let classifier = nn::linear(
            p / "classifier" / 1,
            head_c,
            params.n_classes,
            nn::LinearConfig {
                ws_init: nn::Init::Uniform {
                    lo: -range,
                    up: range,
                },
                bs_init: Some(nn::Init::Const(0.0)),
                bias: true,
            },
        );
        Ok(EfficientNet {
            stem,
            blocks,
            head,
            classifier,
            dropout: params.dropout,
        })
    }
}

impl ModuleT for EfficientNet {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let mut y = self.stem.forward_t(x, train);
        for b in &self.blocks {
            y = b.forward_t(&y, train);
        }
        self.head
            .forward_t(&y, train)
            .adaptive_avg_pool2d([1, 1])
            .flatten(1, -1)
            .dropout(self.dropout, train)
            .apply(&self.classifier)
    }
}

/// Builds EfficientNet under `p` (see [`EfficientNet::new`]).
pub fn efficientnet(p: &nn::Path, params: &EfficientNetParams) -> Result<EfficientNet> {
    EfficientNet::new(p, params)
}

pub use super::pretrained::{load_pretrained, timm_to_torchvision, LoadReport};
