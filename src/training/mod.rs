//! Training: [`Fit`] builds a [`crate::models::Net`], trains it into a run folder (or picks up
//! the run already there) and returns the [`Trained`] network; the notebooks and every section
//! train through it. Below it, one training loop for every tch model ([`train`]): Adam,
//! seeded shuffling, evaluation over every image (the last partial batch included), a
//! per-epoch history written as it goes, the checkpoint with the best validation
//! cross-entropy, and exact resumption.
//!
//! # Files of a run (`run_dir`)
//! - `config.json`: what the run was started with (model and training configs, data hash);
//! - `history.jsonl`: one [`EpochRecord`] per finished epoch, rewritten atomically each epoch;
//! - `best.safetensors` (+ `best.json`): weights of the epoch with the lowest validation loss;
//! - `epoch-NNN.safetensors`, `epoch-NNN-optim.safetensors`, `state.json`: the end of the last
//!   finished epoch NNN: weights, Adam's moments and step, and the counters that point at them.
//!   The new pair is written before `state.json` (atomically) and the old pair deleted after,
//!   so a crash at any moment leaves a consistent checkpoint. `state.json` records the pair's
//!   SHA-256;
//! - `run.lock`: present while a training writes to the folder; a second one fails at once;
//! - `events.out.tfevents.charlab`: the same history for TensorBoard ([`tensorboard`]).
//!
//! [`run_folder`] reads and writes these files; a damaged folder is an error naming
//! the file and the fix, never a panic.
//!
//! # Exact resumption
//! Everything random is a function of `(seed, epoch)`: the shuffle of epoch `e` comes from a
//! ChaCha generator seeded with `seed` on stream `e`, and libtorch's generator (dropout) is
//! re-seeded with `seed * 1000 + e` at the start of epoch `e`. Adam is implemented here (not
//! `tch::nn::Adam`, whose moments cannot be saved), so its state is checkpointed with the
//! weights. A run killed at any point (Ctrl-C, `kill -9`) and resumed from `state.json` replays
//! the interrupted epoch and ends with the same history as an uninterrupted run (same threads).

use std::path::{Path, PathBuf};
use std::time::Instant;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tch::nn::{ModuleT, VarStore};
use tch::{Device, Kind, Tensor};

mod adam;
mod fit;
mod params;
pub mod run_folder;
pub mod tensorboard;
mod weights;

pub(crate) use adam::Adam;
pub use fit::{arg_max, logits_in_batches, Fit, Init, Trained};
pub use params::{EpochPhases, EpochRecord, TrainParams};
use tensorboard::EventWriter;
pub(crate) use weights::write_tensors;

use crate::augment::{PrefetchSource, Prefetcher};
use crate::data::Dataset;
use crate::paths::{read_json, sha256_file, write_json};
use crate::split::{Normalizer, Split};
use crate::{Error, Precision, Result};
use run_folder::{
    optim_name, remove_leftovers, remove_run_files, save_weights, weights_name, write_history,
    RunLock, RunState,
};

/// Normalised tensors of the training and validation parts, built once.
pub struct TrainData {
    /// `[n_train, 1, h, w]` float32.
    pub x_train: Tensor,
    /// `[n_train]` int64.
    pub y_train: Tensor,
    /// `[n_val, 1, h, w]` float32.
    pub x_val: Tensor,
    /// `[n_val]` int64.
    pub y_val: Tensor,
    /// Normalisation fitted on the training part.
    pub normalizer: Normalizer,
    /// Number of classes (the networks' outputs).
    pub n_classes: i64,
}

impl TrainData {
    /// Fits the normaliser on `split.train` and builds the tensors on `device`.
    pub fn new(data: &Dataset, split: &Split, device: Device) -> Result<TrainData> {
        TrainData::with_training_images(data, split, data, &split.train, device)
    }

    /// Like [`TrainData::new`], but the training images are `train` of `source` (section
    /// 6.1 pretrains on a corpus): normalised, like the validation part of `split` (from
    /// `data`), by `data`'s training part. An error when `source`'s images or classes are not
    /// `data`'s.
    pub fn with_training_images(
        data: &Dataset,
        split: &Split,
        source: &Dataset,
        train: &[usize],
        device: Device,
    ) -> Result<TrainData> {
        let same = source.height() == data.height()
            && source.width() == data.width()
            && source.n_classes() == data.n_classes();
        if !same {
            return Err(Error::param(
                "source",
                format!(
                    "{} has {}x{} images in {} classes, the data {}x{} in {}: give training \
                     images in the data's format (an EMNIST folder is converted to the report's)",
                    source.source(),
                    source.height(),
                    source.width(),
                    source.n_classes(),
                    data.height(),
                    data.width(),
                    data.n_classes()
                ),
            ));
        }
        let normalizer = Normalizer::fit(data, &split.train)?;
        let (x_train, y_train) = normalizer.tensors(source, train, device)?;
        let (x_val, y_val) = normalizer.tensors(data, &split.validation, device)?;
        Ok(TrainData {
            x_train,
            y_train,
            x_val,
            y_val,
            normalizer,
            n_classes: data.n_classes() as i64,
        })
    }
}

/// The result of [`train`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainOutcome {
    /// One record per epoch, including epochs done before a resume.
    pub history: Vec<EpochRecord>,
    /// Epoch (from 1) with the lowest validation loss; its weights are `best.safetensors`.
    pub best_epoch: usize,
    /// Where the run's files are.
    pub run_dir: PathBuf,
}

/// Mean cross-entropy, accuracy and predictions of `model` (eval mode) on `x`, `y`, in
/// batches of `batch` images; the last partial batch is included.
pub fn evaluate<M: ModuleT + ?Sized>(
    model: &M,
    x: &Tensor,
    y: &Tensor,
    batch: usize,
) -> Result<(f64, f64, Vec<i64>)> {
    evaluate_in(model, x, y, batch, Precision::Fp32)
}

/// [`evaluate`] with the forward passes in `precision` (the loss in fp32).
pub fn evaluate_in<M: ModuleT + ?Sized>(
    model: &M,
    x: &Tensor,
    y: &Tensor,
    batch: usize,
    precision: Precision,
) -> Result<(f64, f64, Vec<i64>)> {
    let n = x.size().first().copied().unwrap_or(0);
    if n == 0 {
        return Ok((0.0, 0.0, Vec::new()));
    }
    let mut loss_sum = 0.0;
    let mut correct = 0i64;
    let mut preds = Vec::with_capacity(n as usize);
    tch::no_grad(|| -> Result<()> {
        let mut start = 0i64;
        while start < n {
            let len = (batch as i64).min(n - start);
            let xb = x.narrow(0, start, len);
            let yb = y.narrow(0, start, len);
            let logits = precision
                .run(xb.device(), || model.forward_t(&xb, false))
                .to_kind(Kind::Float);
            let loss = logits.cross_entropy_for_logits(&yb);
            loss_sum += loss.double_value(&[]) * len as f64;
            let p = logits.argmax(-1, false);
            correct += p.eq_tensor(&yb).sum(Kind::Int64).int64_value(&[]);
            preds.extend(Vec::<i64>::try_from(&p.to_device(Device::Cpu))?);
            start += len;
        }
        Ok(())
    })?;
    Ok((loss_sum / n as f64, correct as f64 / n as f64, preds))
}

/// One optimisation step on the training images at `batch` (indices into `data`'s training
/// part); returns the batch's mean cross-entropy.
pub(crate) fn train_step<M: ModuleT + ?Sized>(
    model: &M,
    adam: &mut Adam,
    data: &TrainData,
    batch: &[i64],
    params: &TrainParams,
) -> f64 {
    let idx = Tensor::from_slice(batch).to_device(data.x_train.device());
    let xb = data.x_train.index_select(0, &idx);
    let yb = data.y_train.index_select(0, &idx);
    step_on(
        model,
        adam,
        &xb,
        &yb,
        None,
        params,
        &mut EpochPhases::default(),
    )
}

/// One optimisation step on the images `xb` with labels `yb`, the cross-entropy weighted by
/// `weights` (`[n_classes]`) when given, the forward pass in `params.precision`; returns the
/// batch's mean loss and adds the step's time to `phases`.
fn step_on<M: ModuleT + ?Sized>(
    model: &M,
    adam: &mut Adam,
    xb: &Tensor,
    yb: &Tensor,
    weights: Option<&Tensor>,
    params: &TrainParams,
    phases: &mut EpochPhases,
) -> f64 {
    let t = Instant::now();
    adam.zero_grad();
    let logits = params
        .precision
        .run(xb.device(), || model.forward_t(xb, true))
        .to_kind(Kind::Float);
    let loss = match weights {
        None => logits.cross_entropy_for_logits(yb),
        Some(w) => logits.cross_entropy_loss(yb, Some(w), tch::Reduction::Mean, -100, 0.0),
    };
    loss.backward();
    let t_step = Instant::now();
    phases.forward_backward += (t_step - t).as_secs_f64();
    adam.step(params);
    let l = loss.double_value(&[]);
    phases.optimizer += t_step.elapsed().as_secs_f64();
    l
}

/// Class weights for [`TrainParams::class_weight_power`] from the training labels: `[k]`
/// float on the labels' device (0 for classes without training images).
pub fn class_weights(y_train: &Tensor, n_classes: i64, power: f64) -> Result<Tensor> {
    let labels = Vec::<i64>::try_from(&y_train.to_device(Device::Cpu))?;
    let mut counts = vec![0usize; n_classes.max(0) as usize];
    for &l in &labels {
        if let Some(c) = counts.get_mut(l.max(0) as usize) {
            *c += 1;
        }
    }
    let n = labels.len().max(1) as f64;
    let raw: Vec<f64> = counts
        .iter()
        .map(|&c| {
            if c == 0 {
                0.0
            } else {
                (n / c as f64).powf(power)
            }
        })
        .collect();
    let present = counts.iter().filter(|&&c| c > 0).count().max(1) as f64;
    let mean = raw.iter().sum::<f64>() / present;
    let w: Vec<f32> = raw
        .iter()
        .map(|&r| (r / mean.max(1e-12)).min(10.0) as f32)
        .collect();
    Ok(Tensor::from_slice(&w).to_device(y_train.device()))
}

/// A run configuration without its epoch count and model kind: two runs that differ only in
/// epochs can resume one another, and a run folder written before the kind was recorded
/// ([`crate::models::Net::KIND_KEY`]) resumes as it did.
fn comparable(c: &serde_json::Value) -> serde_json::Value {
    let mut c = c.clone();
    if let Some(t) = c.pointer_mut("/train/epochs") {
        *t = serde_json::Value::Null;
    }
    if let Some(map) = c.as_object_mut() {
        map.remove(crate::models::Net::KIND_KEY);
    }
    c
}

/// Whether `run_dir` holds a started run (its `state.json`) whose `config.json` matches
/// `config` except for the epoch count, so that [`train`] can resume it.
pub fn can_resume(run_dir: &Path, config: &serde_json::Value) -> bool {
    run_dir.join(crate::paths::run_files::STATE).exists()
        && read_json::<serde_json::Value>(&run_dir.join(crate::paths::run_files::CONFIG))
            .map(|saved| comparable(&saved) == comparable(config))
            .unwrap_or(false)
}

/// Trains `model` (whose variables live in `vs`) on `data` and writes the run's files to
/// `run_dir` (see the module documentation). `config` is saved as `config.json`; with
/// `resume`, a run already in `run_dir` continues from its last finished epoch, provided it
/// was started with the same `config` (the epoch count may grow). Without `resume`, any
/// previous run in `run_dir` is replaced.
pub fn train<M: ModuleT + ?Sized>(
    model: &M,
    vs: &mut VarStore,
    data: &TrainData,
    params: &TrainParams,
    config: &serde_json::Value,
    run_dir: &Path,
    resume: bool,
) -> Result<TrainOutcome> {
    params.check()?;
    tch::set_num_threads(crate::threads() as i32);
    std::fs::create_dir_all(run_dir).map_err(|e| Error::io(run_dir, e))?;
    // Held until this function returns, by any path.
    let _lock = RunLock::acquire(run_dir)?;
    let f = |name: &str| run_dir.join(name);
    if crate::channels_last() {
        // Before Adam: its moments copy the weights' layout.
        crate::models::to_channels_last(vs);
    }
    let mut adam = Adam::new(vs);
    let mut history = Vec::new();
    let mut state = RunState::fresh();
    if resume && f(crate::paths::run_files::STATE).exists() {
        let saved: serde_json::Value =
            run_folder::read_for_resume(&f(crate::paths::run_files::CONFIG))?;
        if comparable(&saved) != comparable(config) {
            return Err(Error::bad_data(
                f(crate::paths::run_files::CONFIG),
                "this run was started with another configuration or data set; \
                 resume it with the same settings, or start afresh without --resume",
            ));
        }
        (state, history) = run_folder::resume(run_dir, vs, &mut adam)?;
        remove_leftovers(run_dir);
    } else {
        remove_run_files(run_dir)?;
    }
    write_json(&f(crate::paths::run_files::CONFIG), config)?;

    let n = data.y_train.size()[0] as usize;
    let mut events = EventWriter::start(run_dir, config, &history, params.learning_rate, n)?;
    let batches = n.div_ceil(params.batch_size);
    let weights = match params.class_weight_power {
        Some(p) => Some(class_weights(&data.y_train, data.n_classes, p)?),
        None => None,
    };
    for epoch in state.epochs_done + 1..=params.epochs {
        let start = Instant::now();
        tch::manual_seed((params.seed as i64).wrapping_mul(1000) + epoch as i64);
        let mut order: Vec<i64> = (0..n as i64).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
        rng.set_stream(epoch as u64);
        order.shuffle(&mut rng);
        let bar = crate::progress::Progress::new(
            batches as u64,
            format!("epoch {epoch}/{}", params.epochs),
        );
        let mut loss_sum = 0.0;
        let mut phases = EpochPhases::default();
        let mut batches_in = Prefetcher::start(
            PrefetchSource {
                x: data.x_train.shallow_clone(),
                y: data.y_train.shallow_clone(),
                levels: data.normalizer.levels(),
            },
            order.clone(),
            params.batch_size,
            params.augment.clone(),
            params.seed,
            epoch,
            2,
        );
        for chunk in order.chunks(params.batch_size) {
            let t = Instant::now();
            let (xb, yb) = batches_in.next_batch().ok_or_else(|| {
                Error::param("batch", "the batch-preparing thread stopped early")
            })??;
            phases.data += t.elapsed().as_secs_f64();
            let l = step_on(
                model,
                &mut adam,
                &xb,
                &yb,
                weights.as_ref(),
                params,
                &mut phases,
            );
            if !l.is_finite() {
                return Err(Error::param(
                    "learning_rate",
                    format!(
                        "training diverged at epoch {epoch} (loss {l}); lower the learning rate"
                    ),
                ));
            }
            loss_sum += l * chunk.len() as f64;
            bar.inc(1);
            bar.set_message(format!("loss {l:.4}"));
        }
        bar.finish();
        let t = Instant::now();
        let (val_loss, val_accuracy, _) = evaluate_in(
            model,
            &data.x_val,
            &data.y_val,
            params.eval_batch_size,
            params.precision,
        )?;
        phases.evaluation = t.elapsed().as_secs_f64();
        let t = Instant::now();
        // Checkpoint: the new weights and optimizer first, then the counters that point at
        // them, then the previous pair goes. The best weights are written with the epoch's
        // record once its phases are known, below.
        let best = val_loss < state.best_val_loss;
        if best {
            save_weights(vs, &f(crate::paths::run_files::BEST_WEIGHTS))?;
        }
        save_weights(vs, &f(&weights_name(epoch)))?;
        adam.save(&f(&optim_name(epoch)))?;
        phases.checkpoint = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let weights_sha256 = sha256_file(&f(&weights_name(epoch)))?;
        let optim_sha256 = sha256_file(&f(&optim_name(epoch)))?;
        phases.hashing = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let mut record = EpochRecord {
            epoch,
            train_loss: loss_sum / n as f64,
            val_loss,
            val_accuracy,
            seconds: start.elapsed().as_secs_f64(),
            phases: None,
        };
        // `seconds` was taken above, so that TensorBoard's images/s is the record's.
        events.epoch(&record)?;
        phases.history = t.elapsed().as_secs_f64();
        record.phases = Some(phases);
        history.push(record.clone());
        write_history(&f(crate::paths::run_files::HISTORY), &history)?;
        if best {
            state.best_val_loss = val_loss;
            state.best_epoch = epoch;
            write_json(&f(crate::paths::run_files::BEST_RECORD), &record)?;
        }
        let previous = state.epochs_done;
        state.epochs_done = epoch;
        state.step = adam.step;
        state.weights_sha256 = Some(weights_sha256);
        state.optim_sha256 = Some(optim_sha256);
        write_json(&f(crate::paths::run_files::STATE), &state)?;
        crate::progress::line(format_args!(
            "epoch {epoch}/{}: train loss {:.4}, val loss {:.4}, val accuracy {:.2}%, {:.0} s",
            params.epochs,
            record.train_loss,
            record.val_loss,
            100.0 * record.val_accuracy,
            record.seconds
        ));
        if previous > 0 {
            let _ = std::fs::remove_file(f(&weights_name(previous)));
            let _ = std::fs::remove_file(f(&optim_name(previous)));
        }
    }
    Ok(TrainOutcome {
        history,
        best_epoch: state.best_epoch,
        run_dir: run_dir.to_path_buf(),
    })
}
