//! What the neural sections (4.2 CNN, 4.3 EfficientNet) share: training a tch model with
//! [`crate::training::train`] on the report's random split, evaluating the
//! best-validation-loss checkpoint on the test part, the results file, and tables.

use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tch::Device;

use crate::data::{Dataset, Source};
use crate::metrics::{ClassMetrics, ConfusionMatrix};
use crate::models::Net;
use crate::split::{self, Normalizer};
use crate::training::{self, EpochRecord, Fit, Init, TrainData, TrainParams};
use crate::{paths, Error, Result};

/// A neural section's configuration: its model's parameters, the training parameters and
/// the split seed (saved as the run's `config.json` and in the results).
pub trait NeuralConfig: Clone + Serialize + serde::de::DeserializeOwned + PartialEq {
    /// The section's id: its results file `report/results/<SECTION>.json` and run folder
    /// `data/models/<SECTION>/`.
    const SECTION: &'static str;
    /// Optimisation parameters.
    fn train(&self) -> &TrainParams;
    /// Seed of the train / validation / test split.
    fn split_seed(&self) -> u64;
    /// The network.
    fn net(&self) -> Net;
    /// Safetensors file with starting weights (torchvision or timm names; the classifier is
    /// left as initialised), if any.
    fn init(&self) -> Option<&Path>;

    /// The run configuration the section saves in its run folder (`config.json`, the run's
    /// identity when resuming): the configuration, its model kind and `data`'s hash. A
    /// notebook gives it to [`Fit`] to train into, or reuse, the same folder as the CLI.
    fn run_config(&self, data: &Dataset) -> Result<serde_json::Value> {
        let mut v = serde_json::to_value(self)
            .map_err(|e| Error::param("config", format!("cannot be saved as JSON: {e}")))?;
        v["data_hash"] = serde_json::Value::String(data.content_hash());
        self.net().tag(&mut v);
        Ok(v)
    }
}

/// Implements [`NeuralConfig`] for a section's configuration struct with fields `model`,
/// `train` and `split_seed`: `neural_config!(Config, Net::Variant, init_field)`, where
/// `init_field` is its `Option<PathBuf>` of starting weights; the section is the module's
/// `SECTION`.
macro_rules! neural_config {
    ($config:ty, $variant:path, $init:ident) => {
        impl $crate::sections::neural::NeuralConfig for $config {
            const SECTION: &'static str = SECTION;
            fn train(&self) -> &$crate::training::TrainParams {
                &self.train
            }
            fn split_seed(&self) -> u64 {
                self.split_seed
            }
            fn net(&self) -> $crate::models::Net {
                $variant(self.model.clone())
            }
            fn init(&self) -> Option<&std::path::Path> {
                self.$init.as_deref()
            }
        }
    };
}
pub(crate) use neural_config;

/// `report/results/04.2-cnn.json` and `04.3-efficientnet.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NeuralResults<C> {
    /// Section name.
    pub section: String,
    /// Where the data came from.
    pub source: Source,
    /// [`Dataset::content_hash`].
    pub data_hash: String,
    /// The run's configuration.
    pub config: C,
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
    /// Predicted class of every test image, in the split's test order (empty in files
    /// written before it was recorded).
    #[serde(default)]
    pub test_predictions: Vec<usize>,
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
    /// Whether the convolution weights were stored channels-last ([`crate::channels_last`])
    /// when these results were computed (absent, so `false`, in results written before the
    /// setting existed). A run trained earlier and only evaluated keeps its old history.
    #[serde(default)]
    pub channels_last: bool,
    /// The arithmetic of training and scoring ([`crate::Precision`]; absent, so fp32, in
    /// results written before it was a setting).
    #[serde(default)]
    pub precision: crate::Precision,
    /// Peak resident memory of the process when the results were made, MB (0 when unknown).
    #[serde(default)]
    pub peak_memory_mb: f64,
}

/// Trains `config`'s network ([`Fit`], from its starting weights when it names some) on
/// `data` (the report's random split) into `run_dir`, scores the best checkpoint on the test
/// part and returns the section's results (nothing is written to `report/`).
pub(crate) fn train_and_evaluate<C: NeuralConfig>(
    data: &Dataset,
    config: &C,
    run_dir: &Path,
    resume: bool,
) -> Result<NeuralResults<C>> {
    let split = split::random_split(data.len(), config.split_seed())?;
    let device = Device::cuda_if_available();
    let train_data = TrainData::new(data, &split, device)?;
    let fit = Fit {
        config: Some(config.run_config(data)?),
        init: config
            .init()
            .map_or(Init::Scratch, |p| Init::Pretrained(p.to_path_buf())),
        resume,
        ..Fit::new(config.net(), config.train().clone(), run_dir)
    };
    let trained = fit.run(&train_data)?;
    let t = Instant::now();
    let preds = trained.predict(data, &split.test)?;
    let infer_secs = t.elapsed().as_secs_f64();
    let cm = ConfusionMatrix::new(&data.labels_at(&split.test), &preds, data.n_classes())?;
    let n_train = split.train.len() as f64;
    let train_secs: f64 = trained.history.iter().map(|r| r.seconds).sum();
    Ok(NeuralResults {
        section: C::SECTION.into(),
        source: data.source().clone(),
        data_hash: data.content_hash(),
        config: config.clone(),
        split_sizes: split.sizes(),
        normalizer: train_data.normalizer,
        parameters: trained.parameters(),
        best_epoch: trained.best_epoch,
        test_accuracy: cm.accuracy(),
        test_macro_f1: cm.macro_f1(),
        per_class: cm.per_class(),
        confusion: cm.counts().to_vec(),
        test_predictions: preds,
        train_images_per_second: n_train * trained.history.len() as f64 / train_secs.max(1e-9),
        inference_images_per_second: split.test.len() as f64 / infer_secs.max(1e-9),
        history: trained.history,
        train_seconds: train_secs,
        device: device_name(device),
        threads: crate::threads(),
        channels_last: crate::channels_last(),
        precision: trained.precision,
        peak_memory_mb: crate::peak_memory_mb().unwrap_or(0.0),
    })
}

/// Whether `run_dir` holds a run of `config` on `data` (possibly with fewer epochs) that
/// [`train_and_evaluate`] can resume.
pub(crate) fn resumable<C: NeuralConfig>(data: &Dataset, config: &C, run_dir: &Path) -> bool {
    config
        .run_config(data)
        .map(|c| training::can_resume(run_dir, &c))
        .unwrap_or(false)
}

/// Writes `report/results/<section>.json`.
pub(crate) fn save_results<C: Serialize>(res: &NeuralResults<C>) -> Result<()> {
    paths::write_json(&paths::result(&res.section), res)
}

/// The section's run folder in the full profile: `data/models/<SECTION>/`.
pub(crate) fn run_dir<C: NeuralConfig>() -> std::path::PathBuf {
    paths::run_dir(C::SECTION, crate::Profile::Full)
}

/// Runs the section (4.2 or 4.3, by the configuration's type): trains (or resumes) into
/// [`run_dir`], scores, writes the results file.
pub(crate) fn run<C: NeuralConfig>(
    data: &Dataset,
    config: &C,
    resume: bool,
) -> Result<NeuralResults<C>> {
    let res = train_and_evaluate(data, config, &run_dir::<C>(), resume)?;
    save_results(&res)?;
    Ok(res)
}

/// The text `charlab train` prints for a network called `name` whose results file is
/// `report/results/<section>.json`: test accuracy and macro F1, best epoch, parameters,
/// throughput.
pub(crate) fn summary<C>(name: &str, section: &str, res: &NeuralResults<C>) -> String {
    format!(
        "{name}: test accuracy {:.2}%, macro F1 {:.2}% (best epoch {} of {}), {} parameters\n\
         training {:.0} images/s, inference {:.0} images/s, {:.0} s of training in all\n\
         wrote report/results/{section}.json\n",
        100.0 * res.test_accuracy,
        100.0 * res.test_macro_f1,
        res.best_epoch,
        res.history.len(),
        res.parameters,
        res.train_images_per_second,
        res.inference_images_per_second,
        res.train_seconds
    )
}

/// `cpu`, `cuda:N`, or the device's debug name for any other kind.
pub(crate) fn device_name(device: Device) -> String {
    match device {
        Device::Cpu => "cpu".into(),
        Device::Cuda(n) => format!("cuda:{n}"),
        other => format!("{other:?}").to_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_names_are_cpu_and_cuda_n() {
        assert_eq!(device_name(Device::Cpu), "cpu");
        assert_eq!(device_name(Device::Cuda(1)), "cuda:1");
    }
}
