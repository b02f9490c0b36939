//! Section 4.2 of the report: the CNN, trained with [`crate::training::train`] on the report's
//! split, the best-validation-loss checkpoint evaluated on the test part.
//!
//! Outputs: `report/results/04.2-cnn.json` and the run under `data/models/04.2-cnn/`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tch::nn::VarStore;
use tch::Device;

use crate::data::{Dataset, Source};
use crate::metrics::{ClassMetrics, ConfusionMatrix};
use crate::models::cnn::{cnn, CnnParams};
use crate::models::parameter_count;
use crate::split::{self, Normalizer};
use crate::training::{self, EpochRecord, TrainData, TrainParams};
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
}

/// `report/results/04.2-cnn.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NeuralResults {
    /// Section name.
    pub section: String,
    /// Where the data came from.
    pub source: Source,
    /// [`Dataset::content_hash`].
    pub data_hash: String,
    /// The run's configuration.
    pub config: CnnConfig,
    /// Train, validation, test sizes.
    pub split_sizes: (usize, usize, usize),
    /// Normalisation fitted on the training part.
    pub normalizer: Normalizer,
    /// Trainable parameters.
    pub parameters: i64,
    /// Per-epoch history.
    pub history: Vec<EpochRecord>,
    /// Epoch (from 1) of the checkpoint evaluated on test.
    pub best_epoch: usize,
    /// Test accuracy of the best checkpoint.
    pub test_accuracy: f64,
    /// Test macro F1 of the best checkpoint.
    pub test_macro_f1: f64,
    /// Per-class test metrics.
    pub per_class: Vec<ClassMetrics>,
    /// Test confusion matrix, row-major `[truth, predicted]`.
    pub confusion: Vec<u64>,
    /// Training images per second of epoch wall time (each epoch's validation included).
    pub train_images_per_second: f64,
    /// Test-set inference throughput (images per second).
    pub inference_images_per_second: f64,
    /// Wall time of all epochs (training and validation), seconds; from the history, so a
    /// resumed run counts every epoch once.
    pub train_seconds: f64,
    /// `cpu` or `cuda:N`.
    pub device: String,
    /// CPU threads used by libtorch.
    pub threads: usize,
}

/// The run folder of this section: `data/models/04.2-cnn/`.
pub fn run_dir() -> PathBuf {
    paths::data_dir().join("models").join(SECTION)
}

/// Trains the CNN on `data` (the report's random split) into `run_dir`, evaluates the best
/// checkpoint on the test part and returns the results (nothing is written to `report/`).
pub fn train_and_evaluate(
    data: &Dataset,
    config: &CnnConfig,
    run_dir: &Path,
    resume: bool,
) -> Result<NeuralResults> {
    let split = split::random_split(data.len(), config.split_seed)?;
    let device = Device::cuda_if_available();
    let train_data = TrainData::new(data, &split, device)?;
    tch::manual_seed(config.train.seed as i64);
    let mut vs = VarStore::new(device);
    let net = cnn(&vs.root(), &config.model)?;
    let mut config_json = serde_json::to_value(config).map_err(|source| crate::Error::Json {
        path: run_dir.join("config.json"),
        source,
    })?;
    config_json["data_hash"] = serde_json::Value::String(data.content_hash());
    let outcome = training::train(
        &net,
        &mut vs,
        &train_data,
        &config.train,
        &config_json,
        run_dir,
        resume,
    )?;
    vs.load(run_dir.join("best.safetensors"))?;
    let (x_test, y_test) = train_data.normalizer.tensors(data, &split.test, device)?;
    let t = Instant::now();
    let (_, _, preds) = training::evaluate(&net, &x_test, &y_test, config.train.eval_batch_size)?;
    let infer_secs = t.elapsed().as_secs_f64();
    let truth: Vec<usize> = split.test.iter().map(|&i| data.labels()[i]).collect();
    let preds: Vec<usize> = preds.iter().map(|&p| p.max(0) as usize).collect();
    let cm = ConfusionMatrix::new(&truth, &preds, data.n_classes())?;
    let n_train = split.train.len() as f64;
    let train_secs: f64 = outcome.history.iter().map(|r| r.seconds).sum();
    Ok(NeuralResults {
        section: SECTION.into(),
        source: data.source().clone(),
        data_hash: data.content_hash(),
        config: config.clone(),
        split_sizes: split.sizes(),
        normalizer: train_data.normalizer,
        parameters: parameter_count(&vs),
        best_epoch: outcome.best_epoch,
        test_accuracy: cm.accuracy(),
        test_macro_f1: cm.macro_f1(),
        per_class: cm.per_class(),
        confusion: cm.counts().to_vec(),
        train_images_per_second: n_train * outcome.history.len() as f64 / train_secs.max(1e-9),
        inference_images_per_second: split.test.len() as f64 / infer_secs.max(1e-9),
        history: outcome.history,
        train_seconds: train_secs,
        device: format!("{device:?}").to_lowercase(),
        threads: crate::threads(),
    })
}

/// Writes `report/results/04.2-cnn.json`.
pub fn save_results(res: &NeuralResults) -> Result<()> {
    paths::write_json(&paths::result(SECTION), res)
}

/// Runs section 4.2: trains (or resumes), evaluates, writes the results file.
pub fn run(data: &Dataset, config: &CnnConfig, resume: bool) -> Result<NeuralResults> {
    let res = train_and_evaluate(data, config, &run_dir(), resume)?;
    save_results(&res)?;
    Ok(res)
}

/// The CNN's layers as a table: name, what it does, output shape, parameters.
pub fn layer_table(params: &CnnParams) -> Result<polars::prelude::DataFrame> {
    use polars::prelude::*;
    let layers = params.layers()?;
    Ok(df!(
        "layer" => layers.iter().map(|l| l.name.clone()).collect::<Vec<_>>(),
        "does" => layers.iter().map(|l| l.kind.clone()).collect::<Vec<_>>(),
        "output" => layers.iter().map(|l| format!("{:?}", l.output)).collect::<Vec<_>>(),
        "parameters" => layers.iter().map(|l| l.parameters).collect::<Vec<_>>(),
    )?)
}

/// A training history as a table: epoch, train loss, validation loss, validation accuracy
/// (%), seconds.
pub fn history_table(history: &[EpochRecord]) -> Result<polars::prelude::DataFrame> {
    use polars::prelude::*;
    Ok(df!(
        "epoch" => history.iter().map(|r| r.epoch as u32).collect::<Vec<_>>(),
        "train_loss" => history.iter().map(|r| r.train_loss).collect::<Vec<_>>(),
        "val_loss" => history.iter().map(|r| r.val_loss).collect::<Vec<_>>(),
        "val_accuracy_%" => history.iter().map(|r| 100.0 * r.val_accuracy).collect::<Vec<_>>(),
        "seconds" => history.iter().map(|r| r.seconds).collect::<Vec<_>>(),
    )?)
}

/// Per-class test metrics as a table (class, character, precision, recall, F1, support).
pub fn per_class_table(
    per_class: &[ClassMetrics],
    chars: &[char],
) -> Result<polars::prelude::DataFrame> {
    use polars::prelude::*;
    Ok(df!(
        "class" => (0..per_class.len() as u32).collect::<Vec<_>>(),
        "character" => chars.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
        "precision" => per_class.iter().map(|m| m.precision).collect::<Vec<_>>(),
        "recall" => per_class.iter().map(|m| m.recall).collect::<Vec<_>>(),
        "f1" => per_class.iter().map(|m| m.f1).collect::<Vec<_>>(),
        "support" => per_class.iter().map(|m| m.support).collect::<Vec<_>>(),
    )?)
}
