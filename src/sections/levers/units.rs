//! Section 6.1 as units for a scheduler ([`crate::jobs`]): the plan, one unit alone, and the
//! collect step once every unit has finished.

use tch::Device;

use super::{
    init_of, pretrain, pretrain_fit, run, run_root, train_variant, variant_fit, LeversConfig,
    LeversResults, PretrainImages, Variant,
};
use crate::data::{Dataset, LOOK_ALIKE_PAIRS};
use crate::inference::Eval;
use crate::jobs::{self, Unit};
use crate::training::Fit;
use crate::training::TrainData;
use crate::{paths, split, Error, Result};

pub(super) fn all_variants(config: &LeversConfig) -> Vec<Variant> {
    let repeats = config.repeated().into_iter().map(|(_, _, v)| v);
    config.variants.iter().cloned().chain(repeats).collect()
}

/// The units of the section for a scheduler ([`crate::jobs`]): each pretraining run
/// (`pretrain-<name>`), then each variant and repeat (a fine-tuned one depends on its
/// pretraining).
pub(crate) fn plan(data: &Dataset, corpus: &Dataset, config: &LeversConfig) -> Result<Vec<Unit>> {
    config.check()?;
    let root = run_root();
    let key = |fit: &Fit| paths::sha256_bytes(fit.identity().to_string().as_bytes());
    let mut images = PretrainImages::default();
    let mut units = Vec::new();
    for spec in config.all_pretraining() {
        let id = format!("pretrain-{}", spec.name);
        let dir = root.join(&id);
        let source = images.of(&spec, corpus)?;
        units.push(Unit {
            index: 0,
            what: format!(
                "pretrain {} {} epochs on {}",
                spec.net.label(),
                spec.train.epochs,
                source.source()
            ),
            run_dir: paths::relative(&dir),
            key: Some(key(&pretrain_fit(data, source, &spec, &dir, true))),
            depends_on: Vec::new(),
            stage: 0,
            id,
        });
    }
    for v in &all_variants(config) {
        let dir = root.join(&v.name);
        let init = init_of(config, v)?;
        units.push(Unit {
            index: 0,
            id: v.name.clone(),
            what: format!(
                "{} {} epochs{}",
                v.net.label(),
                v.train.epochs,
                match &v.pretrained {
                    Some(p) => format!(", fine-tuned from pretrain-{p}"),
                    None => ", from scratch".into(),
                }
            ),
            run_dir: paths::relative(&dir),
            key: Some(key(&variant_fit(data, v, init.as_deref(), &dir, true))),
            depends_on: v
                .pretrained
                .iter()
                .map(|p| format!("pretrain-{p}"))
                .collect(),
            stage: 0,
        });
    }
    jobs::number(units)
}

/// Runs the unit `id` of [`plan`] alone (resuming it when started, nothing when finished),
/// writing only its run folder (no results file, no vote).
pub(crate) fn run_unit(
    data: &Dataset,
    corpus: &Dataset,
    config: &LeversConfig,
    id: &str,
) -> Result<()> {
    config.check()?;
    let split = split::random_split(data.len(), config.split_seed)?;
    let root = run_root();
    let pretraining = config.all_pretraining();
    let mut images = PretrainImages::default();
    if let Some(spec) = pretraining
        .iter()
        .find(|p| format!("pretrain-{}", p.name) == id)
    {
        let source = images.of(spec, corpus)?;
        pretrain(data, source, config, spec, &split, true)?;
        return Ok(());
    }
    let variants = all_variants(config);
    let v = variants
        .iter()
        .find(|v| v.name == id)
        .ok_or_else(|| Error::param("unit", format!("section 6.1's plan has no unit {id}")))?;
    let init = init_of(config, v)?;
    if let (Some(p), Some(path)) = (&v.pretrained, &init) {
        let mut done = false;
        if let Some(s) = pretraining.iter().find(|s| &s.name == p) {
            let source = images.of(s, corpus)?;
            let dir = root.join(format!("pretrain-{p}"));
            done = pretrain_fit(data, source, s, &dir, true).finished();
        }
        if !done {
            return Err(Error::bad_data(
                path,
                format!(
                    "{id} is fine-tuned from pretrain-{p}, which has not finished: run that unit \
                     first (a scheduler starts this stage after the pretraining's)"
                ),
            ));
        }
    }
    let e = Eval::new(data, &split, &LOOK_ALIKE_PAIRS);
    let td = TrainData::new(data, &split, Device::cuda_if_available())?;
    let (_results, _validation_logits, _test_logits) =
        train_variant(data, config, v, &split, &td, &e, true)?;
    Ok(())
}

/// The results, votes and figures from the finished units: [`run`], resumed, once every
/// pretraining run, variant and repeat has finished (so nothing trains); refuses, naming
/// them, when some have not, and then writes nothing.
pub(crate) fn collect(
    data: &Dataset,
    corpus: &Dataset,
    config: &LeversConfig,
    progress: impl FnMut(&str),
) -> Result<LeversResults> {
    config.check()?;
    let root = run_root();
    let mut images = PretrainImages::default();
    let mut missing = Vec::new();
    for spec in config.all_pretraining() {
        let id = format!("pretrain-{}", spec.name);
        let source = images.of(&spec, corpus)?;
        if !pretrain_fit(data, source, &spec, &root.join(&id), true).finished() {
            missing.push(id);
        }
    }
    for v in &all_variants(config) {
        let init = init_of(config, v)?;
        if !variant_fit(data, v, init.as_deref(), &root.join(&v.name), true).finished() {
            missing.push(v.name.clone());
        }
    }
    if !missing.is_empty() {
        return Err(jobs::missing_error(
            &root,
            &missing,
            "charlab levers run --unit N",
            "charlab levers collect",
        ));
    }
    run(data, corpus, config, true, progress)
}
