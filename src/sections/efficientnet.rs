//! Section 4.3 of the report: EfficientNet-b0 with its classifier replaced, nothing frozen,
//! trained like the CNN (same loop, split and normalisation), from scratch unless a weights
//! file is given.
//!
//! Outputs: `report/results/04.3-efficientnet.json` and the run under
//! `data/models/04.3-efficientnet/`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::models::EfficientNetParams;
use crate::models::Net;
use crate::sections::neural;
use crate::training::TrainParams;

/// Name of this section in file names ([`crate::paths::section`]).
pub(crate) const SECTION: &str = crate::paths::section::EFFICIENTNET;

/// Everything that defines an EfficientNet run (saved as the run's `config.json` and in the
/// results). Defaults: [`EfficientNetParams::b0`], [`TrainParams::default`], split seed 0, no
/// pretrained weights.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EfficientNetConfig {
    /// Architecture.
    pub model: EfficientNetParams,
    /// Optimisation.
    pub train: TrainParams,
    /// Seed of the train / validation / test split.
    pub split_seed: u64,
    /// Safetensors file with starting weights (torchvision names; the classifier is skipped).
    pub weights: Option<PathBuf>,
}

neural::neural_config!(EfficientNetConfig, Net::Efficientnet, weights);

/// `report/results/04.3-efficientnet.json`.
pub(crate) type NeuralResults = neural::NeuralResults<EfficientNetConfig>;
