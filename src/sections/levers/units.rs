//! Section 6.1 as units for a scheduler ([`crate::jobs`]): the plan, one unit alone, and the
//! collect step once every unit has finished.

use tch::Device;

use super::records::{self, pretrain_or_record};
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

/// Runs the unit `id` of [`plan`] alone (resuming it when started, nothing when finished or
/// recorded), writing only its run folder and its record ([`super::records`]; no results
/// file); the unit that finishes the last CNN-4 variant also records the votes, which need
/// every candidate's logits at once.
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
    let variants = all_variants(config);
    let mut images = PretrainImages::default();
    if let Some(spec) = pretraining
        .iter()
        .find(|p| format!("pretrain-{}", p.name) == id)
    {
        let source = images.of(spec, corpus)?;
        pretrain_or_record(data, source, config, spec, &variants, &split, true)?;
        return Ok(());
    }
    let v = variants
        .iter()
        .find(|v| v.name == id)
        .ok_or_else(|| Error::param("unit", format!("section 6.1's plan has no unit {id}")))?;
    let fit = config.variant_fit(v, data)?;
    let mut from = None;
    if let Some(p) = &v.pretrained {
        let s = pretraining
            .iter()
            .find(|s| &s.name == p)
            .ok_or_else(|| Error::param("pretrained", format!("{id} names no pretraining run")))?;
        let source = images.of(s, corpus)?;
        let pid = format!("pretrain-{p}");
        let pfit = pretrain_fit(data, source, s, &root.join(&pid), true);
        from = pretraining_digest(data, source, config, s, &split)?;
        let recorded = !fit.finished() && records::variant(id, &fit, from.as_deref())?.is_some();
        if recorded {
            println!(
                "{id} is recorded in {}: nothing to run",
                records::dir().display()
            );
            return Ok(());
        }
        let best = pfit.run_dir.join(crate::paths::run_files::BEST_WEIGHTS);
        if !pfit.finished() && !super::checkpoint(&best, data).is_file() {
            return Err(Error::bad_data(
                pfit.run_dir.join(crate::paths::run_files::BEST_WEIGHTS),
                format!(
                    "{id} is fine-tuned from {pid}, which has not finished here: run that unit \
                     first (a scheduler starts this stage after the pretraining's)"
                ),
            ));
        }
    } else if !fit.finished() && records::variant(id, &fit, None)?.is_some() {
        println!(
            "{id} is recorded in {}: nothing to run",
            records::dir().display()
        );
        return Ok(());
    }
    let e = Eval::new(data, &split, &LOOK_ALIKE_PAIRS);
    let td = TrainData::new(data, &split, Device::cuda_if_available())?;
    let (results, _validation_logits, _test_logits) =
        train_variant(data, config, v, &split, &td, &e, true)?;
    records::write_variant(&fit, from.as_deref(), &results)?;
    record_votes_when_ready(data, config, &split, &td, &e, &mut images, corpus)
}

/// [`records::history_digest`] of pretraining run `spec` (on `images`): of the run in its
/// folder when finished there (loaded and recorded), else of its record; `None` when neither.
fn pretraining_digest(
    data: &Dataset,
    images: &Dataset,
    config: &LeversConfig,
    spec: &super::PretrainSpec,
    split: &split::Split,
) -> Result<Option<String>> {
    let fit = config.pretrain_fit(spec, data, images);
    let results = match fit.finished() {
        true => Some(pretrain(data, images, config, spec, split, true)?),
        false => records::pretraining(&format!("pretrain-{}", spec.name), &fit)?,
    };
    Ok(results.as_ref().map(records::history_digest))
}

/// Records the votes ([`super::votes`]) once every configured CNN-4 variant is finished in its
/// run folder, unless they are recorded over the same candidates already.
fn record_votes_when_ready(
    data: &Dataset,
    config: &LeversConfig,
    split: &split::Split,
    td: &TrainData,
    e: &Eval,
    images: &mut PretrainImages,
    corpus: &Dataset,
) -> Result<()> {
    let cands: Vec<&Variant> = config
        .variants
        .iter()
        .filter(|v| matches!(v.net, crate::models::Net::Cnn(_)))
        .collect();
    for v in &cands {
        if !config.variant_fit(v, data)?.finished() {
            return Ok(());
        }
    }
    let mut results = Vec::new();
    let mut logits = Vec::new();
    let specs = config.all_pretraining();
    for v in &cands {
        let mut from = None;
        if let Some(s) = specs
            .iter()
            .find(|s| v.pretrained.as_ref() == Some(&s.name))
        {
            from = pretraining_digest(data, images.of(s, corpus)?, config, s, split)?;
        }
        let fit = config.variant_fit(v, data)?;
        let recorded = records::variant(&v.name, &fit, from.as_deref())?;
        let (r, val, test) = train_variant(data, config, v, split, td, e, true)?;
        if recorded.is_none() {
            records::write_variant(&fit, from.as_deref(), &r)?;
        }
        results.push(r);
        logits.push(Some((val, test)));
    }
    let digest = records::candidates_digest(&results);
    if records::votes(&digest)?.is_some() {
        return Ok(());
    }
    super::votes(data, split, &results, &logits, &config.tau_grid)?;
    println!(
        "recorded the votes of the CNN-4 variants in {}",
        records::dir().display()
    );
    Ok(())
}

/// The results, votes and figures from the finished units: [`run`], resumed, once every
/// pretraining run, variant and repeat has finished here or is recorded
/// ([`super::records`]), and the votes can be computed (every CNN-4 variant finished here) or
/// are recorded (so nothing trains); refuses, naming what is missing, and then writes nothing.
pub(crate) fn collect(
    data: &Dataset,
    corpus: &Dataset,
    config: &LeversConfig,
    progress: impl FnMut(&str),
) -> Result<LeversResults> {
    config.check()?;
    let root = run_root();
    let split = split::random_split(data.len(), config.split_seed)?;
    let mut images = PretrainImages::default();
    let mut missing = Vec::new();
    let mut digests = std::collections::BTreeMap::new();
    for spec in config.all_pretraining() {
        let id = format!("pretrain-{}", spec.name);
        let source = images.of(&spec, corpus)?;
        let fit = pretrain_fit(data, source, &spec, &root.join(&id), true);
        let recorded = records::pretraining(&id, &fit)?;
        match (fit.finished(), recorded) {
            (true, _) => {
                let p = pretrain(data, source, config, &spec, &split, true)?;
                digests.insert(spec.name.clone(), records::history_digest(&p));
            }
            (false, Some(p)) => {
                digests.insert(spec.name.clone(), records::history_digest(&p));
            }
            (false, None) => missing.push(id),
        }
    }
    let mut cnn_recorded = Vec::new();
    let mut votes_computable = true;
    for v in &all_variants(config) {
        let init = init_of(config, v)?;
        let fit = variant_fit(data, v, init.as_deref(), &root.join(&v.name), true);
        let from = v
            .pretrained
            .as_ref()
            .and_then(|p| digests.get(p))
            .map(String::as_str);
        let finished = fit.finished();
        let recorded = records::variant(&v.name, &fit, from)?;
        if !finished && recorded.is_none() {
            missing.push(v.name.clone());
        }
        if config.variants.contains(v) && matches!(v.net, crate::models::Net::Cnn(_)) {
            votes_computable &= finished;
            cnn_recorded.extend(recorded);
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
    if !votes_computable && records::votes(&records::candidates_digest(&cnn_recorded))?.is_none() {
        return Err(Error::bad_data(
            records::dir().join("votes.json"),
            "the votes of the CNN-4 variants are not recorded for these runs, and not every \
             CNN-4 variant's run folder is here to compute them from: run those variants' units \
             again on one machine (`charlab levers run --unit N`), then collect",
        ));
    }
    run(data, corpus, config, true, progress)
}
