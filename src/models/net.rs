//! [`Net`]: the one definition of charlab's network kinds (the report's CNN family,
//! EfficientNet, ResNet), with what every layer above needs of a kind: building it, its label,
//! its parameter count, its serialised form in a run's `config.json`, and reading that back.
//!
//! Every network maps normalised images `[batch, in_channels, side, side]` (float32) to class
//! logits `[batch, n_classes]`.

use std::path::Path;

use serde::{Deserialize, Serialize};
use tch::nn::{ModuleT, VarStore};

use super::cnn::{cnn, CnnParams, ConvBlock};
use super::efficientnet::{efficientnet, EfficientNetParams};
use super::resnet::{resnet, ResNetParams};
use crate::{Error, Result};

/// A network: its kind and architecture. Serialised as `{"kind": "cnn", "params": {...}}`.
///
/// ```
/// use charlab::models::{CnnParams, Net};
/// # fn main() -> charlab::Result<()> {
/// let net = Net::Cnn(CnnParams::default()); // the report's CNN
/// assert_eq!(net.label(), "cnn");
/// assert_eq!(net.parameter_count()?, 1_707_812);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "params", rename_all = "lowercase")]
pub enum Net {
    /// The report's CNN family ([`CnnParams`]).
    Cnn(CnnParams),
    /// EfficientNet ([`EfficientNetParams`]).
    Efficientnet(EfficientNetParams),
    /// ResNet ([`ResNetParams`]).
    Resnet(ResNetParams),
}

impl Net {
    /// The key under which a run's `config.json` records the kind ([`Net::kind`]).
    pub const KIND_KEY: &'static str = "model_kind";

    /// Builds the network's variables under `vs`'s root: a module mapping `[n, c, s, s]`
    /// normalised images to `[n, n_classes]` logits. A bad architecture is an error.
    pub fn build(&self, vs: &VarStore) -> Result<Box<dyn ModuleT>> {
        Ok(match self {
            Net::Cnn(p) => Box::new(cnn(&vs.root(), p)?),
            Net::Efficientnet(p) => Box::new(efficientnet(&vs.root(), p)?),
            Net::Resnet(p) => Box::new(resnet(&vs.root(), p)?),
        })
    }

    /// `cnn`, `efficientnet` or `resnet`: the kind as a run's `config.json` records it.
    pub fn kind(&self) -> &'static str {
        match self {
            Net::Cnn(_) => "cnn",
            Net::Efficientnet(_) => "efficientnet",
            Net::Resnet(_) => "resnet",
        }
    }

    /// `cnn`, `efficientnet-b0`, `resnet-18` (...): the network as messages and tables name it.
    pub fn label(&self) -> String {
        match self {
            Net::Cnn(_) => "cnn".into(),
            Net::Efficientnet(p) => format!("efficientnet-{}", p.variant),
            Net::Resnet(p) => format!("resnet-{}", 2 + 2 * p.layers.iter().sum::<usize>()),
        }
    }

    /// Side of the square images it takes.
    pub fn input_side(&self) -> i64 {
        match self {
            Net::Cnn(p) => p.input_side,
            Net::Efficientnet(p) => p.input_side,
            Net::Resnet(p) => p.input_side,
        }
    }

    /// Number of classes it tells apart.
    pub fn n_classes(&self) -> i64 {
        match self {
            Net::Cnn(p) => p.n_classes,
            Net::Efficientnet(p) => p.n_classes,
            Net::Resnet(p) => p.n_classes,
        }
    }

    /// Channels of the images it takes (the CNN always takes one).
    pub fn in_channels(&self) -> i64 {
        match self {
            Net::Cnn(_) => 1,
            Net::Efficientnet(p) => p.in_channels,
            Net::Resnet(p) => p.in_channels,
        }
    }

    /// The same network with its output layer sized for `n` classes.
    pub fn with_classes(&self, n: usize) -> Net {
        let n = n as i64;
        match self.clone() {
            Net::Cnn(p) => Net::Cnn(CnnParams { n_classes: n, ..p }),
            Net::Efficientnet(p) => Net::Efficientnet(EfficientNetParams { n_classes: n, ..p }),
            Net::Resnet(p) => Net::Resnet(ResNetParams { n_classes: n, ..p }),
        }
    }

    /// Number of trainable parameters (built once on the CPU to count them).
    pub fn parameter_count(&self) -> Result<i64> {
        let vs = VarStore::new(tch::Device::Cpu);
        self.build(&vs)?;
        Ok(super::parameter_count(&vs))
    }

    /// The architecture alone, as saved under `model` in a run's `config.json`.
    pub fn model_json(&self) -> serde_json::Value {
        match self {
            Net::Cnn(p) => serde_json::to_value(p),
            Net::Efficientnet(p) => serde_json::to_value(p),
            Net::Resnet(p) => serde_json::to_value(p),
        }
        .unwrap_or(serde_json::Value::Null)
    }

    /// Records the kind in a run configuration (a JSON object) before it is saved.
    pub fn tag(&self, config: &mut serde_json::Value) {
        if let Some(map) = config.as_object_mut() {
            map.insert(Self::KIND_KEY.into(), self.kind().into());
        }
    }

    /// The network of the run whose `config.json` (at `path`) is `config`: its `model` entry
    /// read as the kind its `model_kind` names, or, for folders written before the kind was
    /// recorded, the kind told by the entry's fields (`layers`: ResNet, `variant`:
    /// EfficientNet, else the CNN). A missing or unreadable entry is an error naming `path`.
    pub fn from_run_config(config: &serde_json::Value, path: &Path) -> Result<Net> {
        let model = config
            .get("model")
            .cloned()
            .ok_or_else(|| Error::bad_data(path, "has no `model` entry"))?;
        let kind = match config.get(Self::KIND_KEY) {
            Some(k) => k
                .as_str()
                .ok_or_else(|| Error::bad_data(path, "`model_kind` is not a string"))?
                .to_string(),
            None if model.get("layers").is_some() => "resnet".into(),
            None if model.get("variant").is_some() => "efficientnet".into(),
            None => "cnn".into(),
        };
        let json = |source| Error::Json {
            path: path.to_path_buf(),
            source,
        };
        Ok(match kind.as_str() {
            "cnn" => Net::Cnn(serde_json::from_value(model).map_err(json)?),
            "efficientnet" => Net::Efficientnet(serde_json::from_value(model).map_err(json)?),
            "resnet" => Net::Resnet(serde_json::from_value(model).map_err(json)?),
            other => {
                return Err(Error::bad_data(
                    path,
                    format!("`model_kind` is `{other}`: charlab knows cnn, efficientnet, resnet"),
                ))
            }
        })
    }
}

impl CnnParams {
    /// The report's CNN head on conv blocks of `(filters, kernel)` (section 4.2's tuning
    /// picked 4 blocks of 5x5: `CnnParams::of_blocks(&[(16, 5), (32, 5), (64, 5), (128, 5)])`).
    pub fn of_blocks(blocks: &[(i64, i64)]) -> CnnParams {
        CnnParams {
            blocks: blocks
                .iter()
                .map(|&(filters, kernel)| ConvBlock { filters, kernel })
                .collect(),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_kind_is_read_when_recorded_and_told_by_the_model_in_older_folders() {
        let path = Path::new("config.json");
        let net = Net::Cnn(CnnParams::default());
        let mut tagged = json!({ "model": net.model_json() });
        net.tag(&mut tagged);
        assert_eq!(tagged["model_kind"], "cnn");
        assert_eq!(Net::from_run_config(&tagged, path).ok(), Some(net));
        for (net, kind) in [
            (Net::Resnet(ResNetParams::resnet18()), "resnet"),
            (Net::Efficientnet(EfficientNetParams::b0()), "efficientnet"),
            (Net::Cnn(CnnParams::default()), "cnn"),
        ] {
            let old = json!({ "model": net.model_json() });
            let read = Net::from_run_config(&old, path).ok();
            assert_eq!(read.as_ref().map(Net::kind), Some(kind));
            assert_eq!(read, Some(net));
        }
        assert!(Net::from_run_config(&json!({}), path).is_err());
        let tree = json!({ "model": {}, "model_kind": "tree" });
        assert!(Net::from_run_config(&tree, path).is_err());
    }
}
