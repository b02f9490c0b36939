//! Section 4.3 of the report: EfficientNet-b0 with its classifier replaced, nothing frozen,
//! trained like the CNN (same loop, split and normalisation), from scratch unless a weights
//! file is given.
//!
//! Outputs: `report/results/04.3-efficientnet.json` and the run under
//! `data/models/04.3-efficientnet/`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::data::Dataset;
use crate::models::EfficientNetParams;
use crate::models::Net;
use crate::sections::neural::{self, NeuralConfig};
use crate::training::TrainParams;
use crate::{paths, Result};

/// Name of this section in file names.
pub const SECTION: &str = "04.3-efficientnet";

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

impl NeuralConfig for EfficientNetConfig {
    fn train(&self) -> &TrainParams {
        &self.train
    }
    fn split_seed(&self) -> u64 {
        self.split_seed
    }
    fn net(&self) -> Net {
        Net::Efficientnet(self.model.clone())
    }
    fn init(&self) -> Option<&Path> {
        self.weights.as_deref()
    }
}

/// `report/results/04.3-efficientnet.json`.
pub type NeuralResults = neural::NeuralResults<EfficientNetConfig>;

/// The run folder of this section: `data/models/04.3-efficientnet/`.
pub fn run_dir() -> PathBuf {
    paths::run_dir(SECTION, crate::Profile::Full)
}

/// Trains EfficientNet on `data` into `run_dir` (loading `config.weights` first when given,
/// and printing what was loaded and skipped), evaluates the best checkpoint on the test part
/// and returns the results (nothing is written to `report/`).
pub fn train_and_evaluate(
    data: &Dataset,
    config: &EfficientNetConfig,
    run_dir: &Path,
    resume: bool,
) -> Result<NeuralResults> {
    neural::train_and_evaluate(SECTION, data, config, run_dir, resume)
}

/// Writes `report/results/04.3-efficientnet.json`.
pub fn save_results(res: &NeuralResults) -> Result<()> {
    neural::save_results(res)
}

/// Runs section 4.3: trains (or resumes), evaluates, writes the results file.
pub fn run(data: &Dataset, config: &EfficientNetConfig, resume: bool) -> Result<NeuralResults> {
    let res = train_and_evaluate(data, config, &run_dir(), resume)?;
    save_results(&res)?;
    Ok(res)
}

/// The results file when it was made from `data` with `config` (a notebook then shows the
/// run that the CLI finished, without training it again or rewriting its timings), else
/// [`run`], resuming the run folder.
pub fn load_or_run(data: &Dataset, config: &EfficientNetConfig) -> Result<NeuralResults> {
    match neural::saved(SECTION, data, config) {
        Some(r) => Ok(r),
        None => run(data, config, true),
    }
}
