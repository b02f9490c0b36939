//! Section 6.1 step by step, as notebook 06.1 walks it and [`super::run`] runs it: [`Steps`]
//! holds what every step shares (the split, the training tensors, the scoring truth), and
//! trains one pretraining run or one variant at a time, or takes it from its record
//! ([`super::records`]) when its run folder is not here.

use std::path::Path;

use tch::{Device, Tensor};

use super::records::{self, from_of, pretrain_or_record};
use super::{variant_fit, LeversConfig, PretrainResults, PretrainSpec, Variant, VariantResults};
use crate::data::{Dataset, LOOK_ALIKE_PAIRS};
use crate::inference::{score, Eval};
use crate::split::{self, Split};
use crate::training::{Fit, TrainData};
use crate::Result;

/// Section 6.1's steps on one data set (see the module documentation).
///
/// ```no_run
/// use charlab::prelude::*;
/// use charlab::sections::levers::{LeversConfig, PretrainImages, Steps};
/// # fn main() -> charlab::Result<()> {
/// let data = DataSpec::Default { n: 1_500, seed: 0 }.load()?;
/// let corpus = DataSpec::Default { n: 1_500, seed: 8 }.load()?;
/// let config = LeversConfig::for_profile(Profile::Quick);
/// let steps = Steps::new(&data, &config, true)?;
/// let (specs, runs) = config.runs();
/// let mut images = PretrainImages::default();
/// let mut pretraining = Vec::new();
/// for spec in &specs {
///     pretraining.push(steps.pretraining(spec, images.of(spec, &corpus)?)?);
/// }
/// for v in &runs {
///     let (results, _logits) = steps.variant(v, &pretraining)?;
///     println!("{}: test accuracy {:.3}", v.name, results.scored.test.adjusted_accuracy);
/// }
/// # Ok(()) }
/// ```
pub struct Steps<'a> {
    data: &'a Dataset,
    config: &'a LeversConfig,
    /// The configuration's variants and repeats ([`LeversConfig::runs`]).
    runs: Vec<Variant>,
    /// The section's split (seed [`LeversConfig::split_seed`]).
    pub split: Split,
    /// The normalised training and validation parts, built once.
    td: TrainData,
    /// The scoring truth of the split.
    eval: Eval,
    /// Whether finished runs are loaded and started ones resumed (else they start over).
    resume: bool,
}

impl<'a> Steps<'a> {
    /// The steps of `config` (checked) on `data`: draws the split and builds the training
    /// tensors (on the GPU when there is one). `resume`: a finished run is loaded, a started
    /// one resumed, an absent one taken from its record; `false` trains every run afresh.
    pub fn new(data: &'a Dataset, config: &'a LeversConfig, resume: bool) -> Result<Steps<'a>> {
        config.check()?;
        let split = split::random_split(data.len(), config.split_seed)?;
        let td = TrainData::new(data, &split, Device::cuda_if_available())?;
        let eval = Eval::new(data, &split, &LOOK_ALIKE_PAIRS);
        Ok(Steps {
            data,
            config,
            runs: config.runs().1,
            split,
            td,
            eval,
            resume,
        })
    }

    /// Pretraining run `spec` on `images` (what [`super::PretrainImages::of`] gives for it):
    /// taken from its record when its run folder does not hold it finished and every variant
    /// fine-tuned from it is finished or recorded as fine-tuned from this very run; else
    /// trained (or loaded, or resumed), minus the images identical to a validation or test
    /// image, and recorded.
    pub fn pretraining(&self, spec: &PretrainSpec, images: &Dataset) -> Result<PretrainResults> {
        pretrain_or_record(
            self.data,
            images,
            self.config,
            spec,
            &self.runs,
            &self.split,
            self.resume,
        )
    }

    /// Variant (or repeat) `v`, fine-tuned from its run among `pretraining` when it names one:
    /// its results and its validation and test logits when trained here (or loaded from its
    /// finished run folder), scored with `tau` chosen on validation and recorded; its recorded
    /// results and `None` when its run folder is not here and its record is of this very run.
    pub fn variant(
        &self,
        v: &Variant,
        pretraining: &[PretrainResults],
    ) -> Result<(VariantResults, Option<(Tensor, Tensor)>)> {
        let from = from_of(pretraining, v);
        let mut fit = self.config.variant_fit(v, self.data)?;
        fit.resume = self.resume;
        if self.resume && !fit.finished() {
            if let Some(r) = records::variant(&v.name, &fit, from.as_deref())? {
                return Ok((r, None));
            }
        }
        let (r, val, test) = fit_and_score(
            self.data,
            &self.split,
            v,
            &fit,
            &self.td,
            &self.eval,
            &self.config.tau_grid,
        )?;
        records::write_variant(&fit, from.as_deref(), &r)?;
        Ok((r, Some((val, test))))
    }
}

/// Pretrains `spec.net` on `images` (minus those identical to a validation or test image of
/// `data`) with [`LeversConfig::pretrain_fit`], validated on `data`'s validation part and
/// normalised as `data`'s training part; records its results ([`records`]).
pub(crate) fn pretrain(
    data: &Dataset,
    images: &Dataset,
    config: &LeversConfig,
    spec: &PretrainSpec,
    split: &Split,
    resume: bool,
) -> Result<PretrainResults> {
    let (kept, dropped) = crate::data::dedupe(images, data, &split.validation_and_test());
    let td =
        TrainData::with_training_images(data, split, images, &kept, Device::cuda_if_available())?;
    let mut fit = config.pretrain_fit(spec, data, images);
    fit.resume = resume;
    let outcome = fit.run(&td)?;
    let p = PretrainResults {
        name: spec.name.clone(),
        corpus_images: kept.len(),
        dropped_duplicates: dropped,
        seconds: outcome.history.iter().map(|r| r.seconds).sum(),
        best_epoch: outcome.best_epoch,
        history: outcome.history,
    };
    records::write_pretraining(&format!("pretrain-{}", spec.name), &fit, &p)?;
    Ok(p)
}

/// Trains (or loads, or resumes) `v` on `td` (the training part of `split`, the section's
/// split), picks `tau` on validation and scores the test part: [`LeversConfig::variant_fit`],
/// [`crate::inference::score`], [`VariantResults::record`]. Also returns the validation and
/// test logits.
pub(super) fn train_variant(
    data: &Dataset,
    config: &LeversConfig,
    v: &Variant,
    split: &Split,
    td: &TrainData,
    e: &Eval,
    resume: bool,
) -> Result<(VariantResults, Tensor, Tensor)> {
    let mut fit = config.variant_fit(v, data)?;
    fit.resume = resume;
    fit_and_score(data, split, v, &fit, td, e, &config.tau_grid)
}

/// The steps of [`train_variant`] for a run outside the section's folders (section 6.2's
/// folds and grid points): `variant` trained on `split`'s training part into `run_dir`, from
/// `init`'s weights when given.
pub(crate) fn run_variant(
    data: &Dataset,
    variant: &Variant,
    split: &Split,
    init: Option<&Path>,
    tau_grid: &[f64],
    run_dir: &Path,
    resume: bool,
) -> Result<(VariantResults, Tensor, Tensor)> {
    let td = TrainData::new(data, split, Device::cuda_if_available())?;
    let e = Eval::new(data, split, &LOOK_ALIKE_PAIRS);
    let fit = variant_fit(data, variant, init, run_dir, resume);
    fit_and_score(data, split, variant, &fit, &td, &e, tau_grid)
}

fn fit_and_score(
    data: &Dataset,
    split: &Split,
    v: &Variant,
    fit: &Fit,
    td: &TrainData,
    e: &Eval,
    tau_grid: &[f64],
) -> Result<(VariantResults, Tensor, Tensor)> {
    let trained = fit.run(td)?;
    let val = trained.logits(data, &split.validation)?;
    let test = trained.logits(data, &split.test)?;
    let scored = score(e, &val, &test, tau_grid)?;
    let r = VariantResults::record(v, &trained, split.train.len(), scored, &e.prior)?;
    Ok((r, val, test))
}
