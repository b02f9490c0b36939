//! Section 4.2 of the report: the CNN, trained with [`crate::training::train`] on the report's
//! split, the best-validation-loss checkpoint evaluated on the test part.
//!
//! Outputs: `report/results/04.2-cnn.json` and the run under `data/models/04.2-cnn/`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::models::{CnnParams, Net};
use crate::sections::neural;
use crate::training::TrainParams;

/// Name of this section in file names ([`crate::paths::section`]).
pub(crate) const SECTION: &str = crate::paths::section::CNN;

/// Everything that defines a CNN run (saved as the run's `config.json` and in the results).
/// Defaults: [`CnnParams::default`], [`TrainParams::default`], split seed 0.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CnnConfig {
    /// Architecture.
    pub model: CnnParams,
    /// Optimisation.
    pub train: TrainParams,
    /// Seed of the train / validation / test split.
    pub split_seed: u64,
    /// Safetensors file with starting weights (`--init`; the classifier is left as
    /// initialised); from scratch when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init: Option<PathBuf>,
}

neural::neural_config!(CnnConfig, Net::Cnn, init);

/// `report/results/04.2-cnn.json`.
pub(crate) type NeuralResults = neural::NeuralResults<CnnConfig>;
