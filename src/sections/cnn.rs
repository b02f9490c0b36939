//! Section 4.2 of the report: the CNN, trained with [`crate::training::train`] on the report's
//! split, the best-validation-loss checkpoint evaluated on the test part.
//!
//! Outputs: `report/results/04.2-cnn.json` and the run under `data/models/04.2-cnn/`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::data::Dataset;
use crate::models::{CnnParams, Net};
use crate::sections::neural::{self, NeuralConfig};
use crate::training::TrainParams;
use crate::{paths, Result};

/// Name of this section in file names.
pub const SECTION: &str = "04.2-cnn";

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

impl NeuralConfig for CnnConfig {
    fn train(&self) -> &TrainParams {
        &self.train
    }
    fn split_seed(&self) -> u64 {
        self.split_seed
    }
    fn net(&self) -> Net {
        Net::Cnn(self.model.clone())
    }
    fn init(&self) -> Option<&Path> {
        self.init.as_deref()
    }
}

/// `report/results/04.2-cnn.json`.
pub type NeuralResults = neural::NeuralResults<CnnConfig>;

/// The run folder of this section: `data/models/04.2-cnn/`.
pub fn run_dir() -> PathBuf {
    paths::run_dir(SECTION, crate::Profile::Full)
}

/// Trains the CNN on `data` (the report's random split) into `run_dir`, evaluates the best
/// checkpoint on the test part and returns the results (nothing is written to `report/`).
pub fn train_and_evaluate(
    data: &Dataset,
    config: &CnnConfig,
    run_dir: &Path,
    resume: bool,
) -> Result<NeuralResults> {
    neural::train_and_evaluate(SECTION, data, config, run_dir, resume)
}

/// Writes `report/results/04.2-cnn.json`.
pub fn save_results(res: &NeuralResults) -> Result<()> {
    neural::save_results(res)
}

/// Runs section 4.2: trains (or resumes), evaluates, writes the results file.
pub fn run(data: &Dataset, config: &CnnConfig, resume: bool) -> Result<NeuralResults> {
    let res = train_and_evaluate(data, config, &run_dir(), resume)?;
    save_results(&res)?;
    Ok(res)
}

/// The results file when it was made from `data` with `config` (a notebook then shows the
/// run that the CLI finished, without training it again or rewriting its timings), else
/// [`run`], resuming the run folder.
pub fn load_or_run(data: &Dataset, config: &CnnConfig) -> Result<NeuralResults> {
    match neural::saved(SECTION, data, config) {
        Some(r) => Ok(r),
        None => run(data, config, true),
    }
}
