//! Inference: a trained run folder (`data/models/<section>/`) loaded back as a classifier, the
//! task's API: images in, one label per image out.
//!
//! A run folder holds `config.json` (the model's configuration), `normalizer.json` (the
//! training part's mean and std) and `best.safetensors` (the best-validation-loss weights);
//! optionally `adjustment.json` ([`Adjustment`]: logit adjustment chosen on validation).
//! An ensemble folder holds `ensemble.json` ([`EnsembleSpec`]): its members' run folders,
//! whose probabilities are averaged (a soft vote), and its adjustment.
//!
//! A folder that does not fit together (weights of another network than `config.json`
//! describes) or that does not fit the data (another image size or class count) is an error
//! that says so, never a panic.

use std::path::{Path, PathBuf};

use tch::{Device, Tensor};

mod losses;
mod scoring;
mod vote;

pub use losses::{top_losses, TopLoss};
pub use scoring::{score, scores, Eval, PairConfusion, Scored, Scores, TOP_CONFUSIONS};
pub use vote::{
    adjusted_predictions, arg_max, log_prior, majority_of_labels, majority_vote, soft_vote,
};
pub use vote::{Adjustment, EnsembleSpec};

use crate::data::Dataset;
use crate::paths::read_json;
use crate::training::Trained;
use crate::{Error, Result};

/// A trained network, or a soft vote of several, ready to label images.
#[derive(Debug)]
pub struct Predictor {
    /// Further members of a soft vote (empty for one network).
    others: Vec<Predictor>,
    /// Applied to the logits (or the vote's log-probabilities).
    adjustment: Option<Adjustment>,
    /// Applied to this network's logits before they enter a vote (members of an ensemble
    /// whose `ensemble.json` sets `adjusted_members`).
    member_adjustment: Option<Adjustment>,
    /// A majority vote instead of a soft vote.
    majority: bool,
    /// The network, its weights and normaliser.
    trained: Trained,
    /// `cnn` or `efficientnet-b0` (...).
    pub kind: String,
    /// The run (or ensemble) folder it was loaded from.
    run_dir: PathBuf,
}

impl Predictor {
    /// Loads the run in `run_dir` (CNN or EfficientNet, told apart by its `config.json`) on
    /// CUDA when available, else the CPU.
    pub fn load(run_dir: &Path) -> Result<Predictor> {
        Predictor::load_as(run_dir, crate::channels_last())
    }

    /// [`Predictor::load`] with every network's convolution weights channels-last or not,
    /// whatever the settings say (to label as a run was scored: the layout changes float
    /// rounding).
    pub fn load_as(run_dir: &Path, channels_last: bool) -> Result<Predictor> {
        let ens_path = run_dir.join(crate::paths::run_files::ENSEMBLE);
        if ens_path.exists() {
            let spec: EnsembleSpec = read_json(&ens_path)?;
            let mut members = Vec::new();
            for m in &spec.members {
                let mut p = Predictor::load_as(&run_dir.join(m), channels_last)?;
                let own = p.adjustment.take();
                p.member_adjustment = if spec.adjusted_members { own } else { None };
                members.push(p);
            }
            if members.is_empty() {
                return Err(Error::bad_data(&ens_path, "lists no member run folder"));
            }
            let mut first = members.remove(0);
            if let Some(o) = members.iter().find(|o| {
                (o.input_side(), o.n_classes()) != (first.input_side(), first.n_classes())
            }) {
                return Err(Error::bad_data(
                    &ens_path,
                    format!(
                        "members do not agree: {} takes {s}x{s} images of {} classes, {} takes \
                         {t}x{t} images of {} classes",
                        first.run_dir.display(),
                        first.n_classes(),
                        o.run_dir.display(),
                        o.n_classes(),
                        s = first.input_side(),
                        t = o.input_side(),
                    ),
                ));
            }
            first.majority = match spec.rule.as_str() {
                "soft" => false,
                "majority" => true,
                other => {
                    return Err(Error::bad_data(
                        &ens_path,
                        format!("rule `{other}` is neither `soft` nor `majority`"),
                    ))
                }
            };
            first.kind = format!("{} vote of {} networks", spec.rule, members.len() + 1);
            first.others = members;
            first.adjustment = spec.adjustment;
            first.run_dir = run_dir.to_path_buf();
            return Ok(first);
        }
        let trained = Trained::load_as(run_dir, channels_last)?;
        let adj_path = run_dir.join(crate::paths::run_files::ADJUSTMENT);
        let adjustment = if adj_path.exists() {
            Some(read_json::<Adjustment>(&adj_path)?)
        } else {
            None
        };
        Ok(Predictor {
            others: Vec::new(),
            adjustment,
            member_adjustment: None,
            majority: false,
            kind: trained.net.label(),
            trained,
            run_dir: run_dir.to_path_buf(),
        })
    }

    /// Side of the square images the network takes (56 for the report's networks).
    pub fn input_side(&self) -> i64 {
        self.trained.net.input_side()
    }

    /// Number of classes the network tells apart.
    pub fn n_classes(&self) -> i64 {
        self.trained.net.n_classes()
    }

    /// `Ok` when `data` has the network's image size and class count; else an error that says
    /// which differs.
    pub fn check_data(&self, data: &Dataset) -> Result<()> {
        let side = self.input_side() as usize;
        if (data.height(), data.width()) != (side, side) {
            return Err(Error::bad_data(
                &self.run_dir,
                format!(
                    "the model expects {side}x{side} images, the data ({}) has {}x{}",
                    data.source(),
                    data.height(),
                    data.width()
                ),
            ));
        }
        if data.n_classes() as i64 != self.n_classes() {
            return Err(Error::bad_data(
                &self.run_dir,
                format!(
                    "the model tells {} classes apart, the data ({}) has {}: its labels would not \
                     name the data's characters; use a model trained on data with these classes",
                    self.n_classes(),
                    data.source(),
                    data.n_classes()
                ),
            ));
        }
        Ok(())
    }

    /// Class scores `[n, n_classes]` of `images`, `[n, 1, side, side]` float 0/1 (not
    /// normalised; another shape is an error):
    /// the network's logits, or a soft vote's log mean probabilities, adjusted when the run
    /// folder has an adjustment.
    pub fn logits(&self, images: &Tensor) -> Result<Tensor> {
        let raw = if self.others.is_empty() {
            self.net_logits(images)?
        } else {
            let mut all = vec![adjust(self.net_logits(images)?, &self.member_adjustment)];
            for o in &self.others {
                all.push(adjust(o.net_logits(images)?, &o.member_adjustment));
            }
            let refs: Vec<&Tensor> = all.iter().collect();
            if self.majority {
                majority_vote(&refs)?
            } else {
                soft_vote(&refs)?
            }
        };
        Ok(adjust(raw, &self.adjustment))
    }

    /// One network's logits, in batches of 1,024.
    fn net_logits(&self, images: &Tensor) -> Result<Tensor> {
        let side = self.input_side();
        let size = images.size();
        if size.len() != 4 || size[1] != 1 || size[2] != side || size[3] != side {
            return Err(Error::param(
                "images",
                format!("the model expects [n, 1, {side}, {side}] images, not {size:?}"),
            ));
        }
        let n = size[0];
        let mut out = Vec::new();
        tch::no_grad(|| {
            let mut start = 0;
            while start < n {
                let len = (n - start).min(1024);
                let xb = images
                    .narrow(0, start, len)
                    .to_device(self.trained.device());
                let norm = &self.trained.normalizer;
                let xb = (xb - norm.mean as f64) / norm.std as f64;
                let logits = self.trained.module().forward_t(&xb, false);
                out.push(logits.to_device(Device::Cpu));
                start += len;
            }
        });
        if out.is_empty() {
            return Err(Error::param("images", "no image to label"));
        }
        Ok(Tensor::cat(&out, 0))
    }

    /// The most likely class of every image of `data` (its labels are not used).
    pub fn predict(&self, data: &Dataset) -> Result<Vec<usize>> {
        self.check_data(data)?;
        let x = Tensor::from_slice(data.images())
            .view([
                data.len() as i64,
                1,
                data.height() as i64,
                data.width() as i64,
            ])
            .to_kind(tch::Kind::Float);
        let pred = self.logits(&x)?.argmax(-1, false);
        Ok(Vec::<i64>::try_from(&pred)?
            .into_iter()
            .map(|p| p.max(0) as usize)
            .collect())
    }
}

/// `logits - tau * log_prior` under `adjustment`, or `logits` unchanged without one.
fn adjust(logits: Tensor, adjustment: &Option<Adjustment>) -> Tensor {
    match adjustment {
        Some(a) => a.apply(logits),
        None => logits,
    }
}

/// Labels of `data` as CSV (`index,class,character`, one line per image), the output of
/// `charlab predict`.
pub fn labels_csv(data: &Dataset, labels: &[usize]) -> String {
    let mut text = String::from("index,class,character\n");
    for (i, &c) in labels.iter().enumerate() {
        let ch = data.class_chars().get(c).copied().unwrap_or('?');
        text.push_str(&format!("{i},{c},{ch}\n"));
    }
    text
}

/// Share of `labels` that agree with the labels `data` comes with (0 for no image).
pub fn agreement(data: &Dataset, labels: &[usize]) -> f64 {
    let correct = labels
        .iter()
        .zip(data.labels())
        .filter(|(p, t)| p == t)
        .count();
    correct as f64 / labels.len().max(1) as f64
}
