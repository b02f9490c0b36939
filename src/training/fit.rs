//! [`Fit`]: the one way a network is trained, by the notebooks and by every section. It builds
//! a [`Net`], trains it into a run folder with [`super::train`] (resuming or reusing the run
//! already there), and hands back a [`Trained`] network holding its best-validation-loss
//! weights, ready to score.

use std::path::{Path, PathBuf};

use tch::nn::{ModuleT, VarStore};
use tch::{Device, Kind, Tensor};

use super::params::{EpochRecord, TrainParams};
use super::weights::load_weights;
use super::{train, TrainData};
use crate::data::Dataset;
use crate::models::Net;
use crate::split::Normalizer;
use crate::{paths, Error, Precision, Result};

/// Where a network's starting weights come from.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Init {
    /// Initialised at random (from the training seed).
    #[default]
    Scratch,
    /// A safetensors file with torchvision or timm names (ImageNet weights): every tensor that
    /// fits is loaded, the classifier is left as initialised, and what was loaded is printed.
    Pretrained(PathBuf),
    /// The `best.safetensors` of another charlab run of the same network (section 6.1's
    /// pretraining): every variable must fit exactly. A run folder fine-tuned from other
    /// weights than last time (`init.sha256` records them) starts over instead of resuming.
    Checkpoint(PathBuf),
}

/// How to train a network (see the module documentation).
///
/// ```no_run
/// use charlab::prelude::*;
/// # fn main() -> charlab::Result<()> {
/// let data = DataSpec::Default { n: 1_500, seed: 0 }.load()?;
/// let split = random_split(data.len(), 0)?;
/// let net = Net::Cnn(CnnParams::default());
/// let params = TrainParams { epochs: 2, ..Default::default() };
/// let train_data = TrainData::new(&data, &split, Device::cuda_if_available())?;
/// let trained = Fit::new(net, params, "target/runs/my-cnn").run(&train_data)?;
/// let pred = trained.predict(&data, &split.test)?;
/// println!("test accuracy {:.3}", accuracy(&data.labels_at(&split.test), &pred)?);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Fit {
    /// The network.
    pub net: Net,
    /// Optimisation (epochs, batch, learning rate, seed, class weights, augmentation).
    pub params: TrainParams,
    /// The run folder: `config.json`, `history.jsonl`, checkpoints, `best.safetensors`.
    pub run_dir: PathBuf,
    /// What `config.json` records: the run's identity, compared when resuming. `None`: the
    /// network, its kind and `params` ([`Fit::default_config`]); the sections give their
    /// own (their configuration and the data's hash).
    pub config: Option<serde_json::Value>,
    /// Starting weights.
    pub init: Init,
    /// Whether a run already in the folder with the same configuration is continued (or, when
    /// finished, reused without training); `false` starts over. Default `true`.
    pub resume: bool,
    /// A folder of finished weights (`config.json`, `normalizer.json`, `best.safetensors`,
    /// `history.jsonl`: the project's `weights/<section>/`) to load instead of training, when
    /// its `config.json` is this run's configuration and [`Fit::run_dir`] holds no run yet.
    /// `None` (the default) always trains.
    pub reuse: Option<PathBuf>,
}

impl Fit {
    /// `net` trained with `params` into `run_dir`, from scratch, resuming what is there.
    pub fn new(net: Net, params: TrainParams, run_dir: impl Into<PathBuf>) -> Fit {
        Fit {
            net,
            params,
            run_dir: run_dir.into(),
            config: None,
            init: Init::Scratch,
            resume: true,
            reuse: None,
        }
    }

    /// `{"model": ..., "model_kind": ..., "train": ...}`: what `config.json` records when
    /// [`Fit::config`] is `None`.
    pub fn default_config(&self) -> serde_json::Value {
        let mut c = serde_json::json!({
            "model": self.net.model_json(),
            "train": serde_json::to_value(&self.params).unwrap_or_default(),
        });
        self.net.tag(&mut c);
        c
    }

    /// What `config.json` records for this run: [`Fit::config`], or
    /// [`Fit::default_config`] when it is `None`.
    pub fn identity(&self) -> serde_json::Value {
        self.config.clone().unwrap_or_else(|| self.default_config())
    }

    /// Trains on `data` (the training and validation tensors) into [`Fit::run_dir`]: builds
    /// the network after seeding libtorch with the training seed, loads [`Fit::init`], trains
    /// or resumes ([`super::train`]: progress per batch and a line per epoch), and loads the
    /// best-validation-loss weights. A finished run with the same configuration only loads.
    pub fn run(&self, data: &TrainData) -> Result<Trained> {
        let dir = &self.run_dir;
        let config = self.identity();
        if let Some(weights) = self.reusable(&config) {
            let trained = Trained::load(&weights)?;
            let best = weights.join(paths::run_files::BEST_WEIGHTS);
            println!(
                "loaded {} (trained {} epochs, best epoch {}; sha256 {}) instead of training: \
                 set `reuse: None` to train",
                paths::relative(&weights),
                trained.history.len(),
                trained.best_epoch,
                paths::sha256_file(&best)?
            );
            return Ok(trained);
        }
        let device = data.x_train.device();
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        paths::write_json(&dir.join(paths::run_files::NORMALIZER), &data.normalizer)?;
        tch::manual_seed(self.params.seed as i64);
        let mut vs = VarStore::new(device);
        let module = self.net.build(&vs)?;
        let mut resume = self.resume;
        match &self.init {
            Init::Scratch => {}
            Init::Pretrained(path) => {
                let report = crate::models::pretrained::load_pretrained(&mut vs, path)?;
                crate::progress::line(format_args!(
                    "weights {}: {} tensors loaded, {} left as initialised (the classifier), {} \
                     unused",
                    path.display(),
                    report.loaded.len(),
                    report.skipped.len(),
                    report.unused.len()
                ));
            }
            Init::Checkpoint(path) => resume &= load_checkpoint(&vs, path, dir, resume)?,
        }
        let outcome = train(&*module, &mut vs, data, &self.params, &config, dir, resume)?;
        let best = dir.join(paths::run_files::BEST_WEIGHTS);
        load_weights(&vs, &best).map_err(|e| Error::bad_data(&best, e))?;
        Ok(Trained {
            net: self.net.clone(),
            module,
            vs,
            normalizer: data.normalizer,
            eval_batch: self.params.eval_batch_size.max(1) as i64,
            precision: self.params.precision,
            history: outcome.history,
            best_epoch: outcome.best_epoch,
            run_dir: dir.clone(),
        })
    }

    /// Whether [`Fit::run_dir`] holds this run finished (its configuration, every epoch done):
    /// [`Fit::run`] with `resume` then only loads it.
    pub fn finished(&self) -> bool {
        let config = self.identity();
        let state: Option<super::run_folder::RunState> =
            paths::read_json(&self.run_dir.join(paths::run_files::STATE)).ok();
        super::can_resume(&self.run_dir, &config)
            && state.is_some_and(|s| s.epochs_done >= self.params.epochs)
    }

    /// [`Fit::reuse`] when it applies: its `config.json` is `config` and the run folder holds
    /// no run (no `state.json`).
    fn reusable(&self, config: &serde_json::Value) -> Option<PathBuf> {
        let weights = self.reuse.as_ref()?;
        if self.run_dir.join(paths::run_files::STATE).exists() {
            return None;
        }
        let saved: serde_json::Value =
            paths::read_json(&weights.join(paths::run_files::CONFIG)).ok()?;
        (&saved == config).then(|| weights.clone())
    }
}

/// Loads `path` (another run's best weights) into `vs`; returns whether the run in `dir` may
/// still resume (`false` when it was fine-tuned from other weights), recording the weights'
/// SHA-256 in `init.sha256`.
fn load_checkpoint(vs: &VarStore, path: &Path, dir: &Path, resume: bool) -> Result<bool> {
    load_weights(vs, path).map_err(|e| {
        Error::bad_data(
            path,
            format!("cannot start from these pretrained weights: {e}"),
        )
    })?;
    let digest = paths::sha256_file(path)?;
    let stamp = dir.join("init.sha256");
    let previous = std::fs::read_to_string(&stamp).ok();
    let changed = previous.as_deref().is_some_and(|p| p.trim() != digest);
    if resume && changed {
        crate::progress::line(format_args!(
            "{}: its pretrained weights changed; fine-tuning again",
            paths::relative(dir)
        ));
    }
    paths::write_atomic(&stamp, digest.as_bytes())?;
    Ok(!changed)
}

/// A trained network with its best-validation-loss weights, as [`Fit::run`] returns it.
pub struct Trained {
    /// The network.
    pub net: Net,
    module: Box<dyn ModuleT>,
    vs: VarStore,
    /// The training part's normalisation, applied to every image it scores.
    pub normalizer: Normalizer,
    eval_batch: i64,
    /// The arithmetic it scores in: the run's training precision unless changed
    /// ([`Trained::with_precision`]).
    pub precision: Precision,
    /// One record per epoch (those of earlier sessions of a resumed run included).
    pub history: Vec<EpochRecord>,
    /// Epoch (from 1) of the weights it holds.
    pub best_epoch: usize,
    /// Its run folder.
    pub run_dir: PathBuf,
}

impl std::fmt::Debug for Trained {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trained")
            .field("net", &self.net.label())
            .field("best_epoch", &self.best_epoch)
            .field("epochs", &self.history.len())
            .field("run_dir", &self.run_dir)
            .finish()
    }
}

impl Trained {
    /// The network of the run folder `run_dir` with its best weights (`config.json`,
    /// `normalizer.json`, `best.safetensors`; the history from `history.jsonl` when it is
    /// there), on CUDA when available, its convolutions channels-last as the settings say:
    /// what [`Fit::run`] returns for a finished run, without the run's lock or checkpoint. A
    /// missing or mismatched file is an error naming it and the fix.
    pub fn load(run_dir: &Path) -> Result<Trained> {
        Trained::load_as(run_dir, crate::channels_last())
    }

    /// [`Trained::load`] with the convolution weights stored channels-last or not, whatever
    /// the settings say (to score as a run was scored: the layout changes float rounding).
    pub fn load_as(run_dir: &Path, channels_last: bool) -> Result<Trained> {
        let config_path = run_dir.join(paths::run_files::CONFIG);
        let config: serde_json::Value = paths::read_json(&config_path)?;
        let net = Net::from_run_config(&config, &config_path)?;
        let kind = net.label();
        let channels = net.in_channels();
        if channels != 1 {
            return Err(Error::bad_data(
                &config_path,
                format!("the {kind} network takes {channels}-channel images; charlab's have one"),
            ));
        }
        let norm_path = run_dir.join(paths::run_files::NORMALIZER);
        if !norm_path.exists() {
            return Err(Error::bad_data(
                &norm_path,
                "missing; runs trained before it was saved get it from \
                 `charlab train <model> --resume` (which only evaluates a finished run)",
            ));
        }
        let normalizer: Normalizer = paths::read_json(&norm_path)?;
        let vs = VarStore::new(Device::cuda_if_available());
        let module = net.build(&vs)?;
        if channels_last {
            crate::models::to_channels_last(&vs);
        }
        let best = run_dir.join(paths::run_files::BEST_WEIGHTS);
        if !best.exists() {
            return Err(Error::bad_data(
                &best,
                "missing; is the run finished? (`charlab train <model> --resume` finishes it)",
            ));
        }
        load_weights(&vs, &best).map_err(|why| {
            Error::bad_data(
                &best,
                format!(
                    "does not fit the {kind} network of config.json ({why}); config.json and \
                     best.safetensors must come from the same run"
                ),
            )
        })?;
        // The training parameters sit under `train` (sections 4.2, 4.3, the notebooks) or
        // `spec.train` (section 6.1's variants).
        let train_field = |key: &str| {
            ["/train/", "/spec/train/"]
                .iter()
                .find_map(|base| config.pointer(&format!("{base}{key}")))
        };
        let eval_batch = train_field("eval_batch_size")
            .and_then(serde_json::Value::as_i64)
            .unwrap_or(1024);
        let precision = match train_field("precision").and_then(serde_json::Value::as_str) {
            Some(name) => Precision::parse(name)
                .map_err(|e| Error::bad_data(&config_path, format!("train.precision: {e}")))?,
            None => Precision::Fp32,
        };
        let history =
            super::run_folder::read_history_file(&run_dir.join(paths::run_files::HISTORY));
        let best_epoch =
            paths::read_json::<EpochRecord>(&run_dir.join(paths::run_files::BEST_RECORD))
                .map_or(0, |r| r.epoch);
        Ok(Trained {
            net,
            module,
            vs,
            normalizer,
            eval_batch,
            precision,
            history,
            best_epoch,
            run_dir: run_dir.to_path_buf(),
        })
    }

    /// The same network scoring in `precision` (a run trained in fp32 can be scored in bf16
    /// and the other way round; the weights stay fp32).
    pub fn with_precision(mut self, precision: Precision) -> Trained {
        self.precision = precision;
        self
    }

    /// Trainable parameters.
    pub fn parameters(&self) -> i64 {
        crate::models::parameter_count(&self.vs)
    }

    /// The network as a module (eval mode: `forward_t(x, false)`), for callers that feed it
    /// tensors of their own.
    pub(crate) fn module(&self) -> &dyn ModuleT {
        &*self.module
    }

    /// The device its weights are on.
    pub fn device(&self) -> Device {
        self.vs.device()
    }

    /// Raw logits `[idx.len(), n_classes]` (CPU, float32) of the images `idx` of `data`,
    /// normalised as the training part was, in batches of the evaluation batch size.
    pub fn logits(&self, data: &Dataset, idx: &[usize]) -> Result<Tensor> {
        let (x, _) = self.normalizer.tensors(data, idx, self.device())?;
        logits_in_batches(&*self.module, &x, self.eval_batch, self.precision)
    }

    /// The most likely class of each image `idx` of `data`.
    pub fn predict(&self, data: &Dataset, idx: &[usize]) -> Result<Vec<usize>> {
        arg_max(&self.logits(data, idx)?)
    }
}

/// Logits of `net` (eval mode) on `x` in batches of `batch`, computed in `precision`, on
/// the CPU as float32.
pub fn logits_in_batches(
    net: &dyn ModuleT,
    x: &Tensor,
    batch: i64,
    precision: Precision,
) -> Result<Tensor> {
    let n = x.size().first().copied().unwrap_or(0);
    let mut parts = Vec::new();
    tch::no_grad(|| {
        let mut start = 0;
        while start < n {
            let len = batch.max(1).min(n - start);
            let xb = x.narrow(0, start, len);
            let l = precision.run(xb.device(), || net.forward_t(&xb, false));
            parts.push(l.to_device(Device::Cpu).to_kind(Kind::Float));
            start += len;
        }
    });
    Ok(Tensor::f_cat(&parts, 0)?)
}

/// The arg-max class of each row of `scores` (`[n, k]`).
pub fn arg_max(scores: &Tensor) -> Result<Vec<usize>> {
    let p = scores.argmax(-1, false);
    Ok(Vec::<i64>::try_from(&p)?
        .into_iter()
        .map(|v| v.max(0) as usize)
        .collect())
}
