//! Section 6.1, the report's future work on its own lever: pretraining on a larger corpus of
//! handwriting, then fine-tuning on the training part; class-weighted cross-entropy and
//! post-hoc logit adjustment for the imbalance; augmentation; bigger networks.
//!
//! Every choice is made on the validation part: the checkpoint (lowest validation loss), the
//! logit adjustment's `tau` (highest validation macro F1) and the best variant (highest
//! validation macro F1 after adjustment). The test part is only scored.
//!
//! Outputs: `report/results/06.1-levers.json` (rewritten after each finished variant, so a
//! long run's results can be read as they come) and the runs under
//! `data/models/06.1-levers/` (`pretrain-<name>/` and one folder per variant; each is a run
//! folder `charlab predict --model` accepts).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tch::{Device, Tensor};

mod config;
mod effects;
pub mod figures;
mod table;

use crate::models::Net;
pub use config::{LeverPair, LeversConfig, PretrainSource, PretrainSpec, Repeats, Variant};
pub use effects::{Effect, Spread};
pub(crate) use table::future_work;
pub use table::variants_table;
pub(crate) use table::FUTURE_WORK;

use crate::data::{Dataset, Source};
use crate::inference::{majority_vote, score, soft_vote, Adjustment, EnsembleSpec, Eval, Scored};
use crate::jobs::{self, Unit};
use crate::split::{self, Split};
use crate::training::{EpochRecord, Fit, Init, TrainData};
use crate::{paths, Error, Result};

/// Name of this section in file names.
pub const SECTION: &str = "06.1-levers";

/// The look-alike pairs whose confusions the section follows (characters).
pub(crate) const PAIRS: [(char, char); 4] = [('0', 'O'), ('5', 'S'), ('I', '1'), ('Z', '2')];

/// What a pretraining run did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PretrainResults {
    /// The spec's name.
    pub name: String,
    /// Corpus images used (after dropping duplicates).
    pub corpus_images: usize,
    /// Corpus images dropped as byte-identical to a validation or test image.
    pub dropped_duplicates: usize,
    /// Per-epoch history (validation: the data's validation part).
    pub history: Vec<EpochRecord>,
    /// Epoch with the lowest validation loss (its weights start the fine-tuning).
    pub best_epoch: usize,
    /// Seconds of training.
    pub seconds: f64,
}

/// The results of one variant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VariantResults {
    /// The variant as run.
    pub variant: Variant,
    /// Trainable parameters.
    pub parameters: i64,
    /// Per-epoch history of the fine-tuning (or training from scratch).
    pub history: Vec<EpochRecord>,
    /// Best epoch (lowest validation loss).
    pub best_epoch: usize,
    /// Seconds of training (pretraining not included).
    pub train_seconds: f64,
    /// Training images per second.
    pub train_images_per_second: f64,
    /// Its scores: `tau`, validation and test, per class, the look-alike pairs and the
    /// adjusted test predictions.
    #[serde(flatten)]
    pub scored: Scored,
}

/// An ensemble of finished variants: members picked on validation (the top `k` variants by
/// validation macro F1, `k` maximising the soft vote's validation macro F1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnsembleResults {
    /// `soft-vote` or `majority-vote`.
    pub name: String,
    /// Member variants.
    pub members: Vec<String>,
    /// Its scores (a majority vote is not adjusted: `tau` is 0).
    #[serde(flatten)]
    pub scored: Scored,
}

/// The best variant, chosen by adjusted validation macro F1 (percent, as the table).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Best {
    /// Variant name.
    pub model: String,
    /// Test accuracy after adjustment, percent.
    pub test_accuracy: f64,
    /// Test macro F1 after adjustment, percent.
    pub test_macro_f1: f64,
    /// Its run folder (for `charlab predict --model`); an ensemble's are in `members`.
    pub run_dir: String,
    /// Run folders of an ensemble's members (`charlab predict --model A --model B ...`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
}

/// `report/results/06.1-levers.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LeversResults {
    /// [`SECTION`].
    pub section: String,
    /// The data.
    pub source: Source,
    /// Its content hash.
    pub data_hash: String,
    /// The character of each class (by index).
    #[serde(default)]
    pub class_chars: Vec<char>,
    /// The pretraining corpus.
    pub corpus: Source,
    /// Its content hash.
    pub corpus_hash: String,
    /// The configuration run.
    pub config: LeversConfig,
    /// Pretraining runs finished so far.
    pub pretraining: Vec<PretrainResults>,
    /// Variants finished so far, in the configuration's order.
    pub variants: Vec<VariantResults>,
    /// Soft and majority votes of the best variants (once two have finished).
    #[serde(default)]
    pub ensembles: Vec<EnsembleResults>,
    /// The best finished variant or ensemble.
    pub best: Option<Best>,
    /// Repeats finished so far (seed by seed, in the configuration's order), each named
    /// `<variant>-seed<seed>` and trained with that seed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repeats: Vec<VariantResults>,
    /// The spread of each variant run at two seeds or more.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spreads: Vec<Spread>,
    /// The configured lever comparisons, seed by seed, with their tests.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub effects: Vec<Effect>,
    /// Whether the networks were scored with their convolution weights channels-last
    /// ([`crate::channels_last`]; the layout changes float rounding, so re-scoring uses the
    /// same).
    #[serde(default)]
    pub channels_last: bool,
}

/// The images each pretraining run trains on: the corpus, or glyphs of the embedded generator
/// as many as the corpus has, generated once per seed.
pub(crate) struct Corpora<'a> {
    corpus: &'a Dataset,
    glyphs: Vec<(u64, Dataset)>,
}

impl<'a> Corpora<'a> {
    /// Over `corpus`.
    pub(crate) fn new(corpus: &'a Dataset) -> Self {
        Corpora {
            corpus,
            glyphs: Vec::new(),
        }
    }

    /// What `source` trains on.
    pub(crate) fn of(&mut self, source: PretrainSource) -> Result<&Dataset> {
        let seed = match source {
            PretrainSource::Corpus => return Ok(self.corpus),
            PretrainSource::Glyphs { seed } => seed,
        };
        let i = match self.glyphs.iter().position(|(s, _)| *s == seed) {
            Some(i) => i,
            None => {
                let spec = crate::data::DataSpec::Default {
                    n: self.corpus.len(),
                    seed,
                };
                self.glyphs.push((seed, spec.load()?));
                self.glyphs.len() - 1
            }
        };
        Ok(&self.glyphs[i].1)
    }
}

/// The section's run folders: `data/models/06.1-levers/`.
pub(crate) fn run_root() -> PathBuf {
    paths::run_dir(SECTION, crate::Profile::Full)
}

/// The pretraining corpus the notebooks use: `corpus` (`CHARLAB_CORPUS`, see
/// [`crate::Settings::corpus`]) when given, else the shared EMNIST folder when it exists beside
/// the project, else `default_n` glyphs of the embedded generator with another seed than the
/// embedded data set's.
pub(crate) fn corpus_spec(corpus: Option<&str>, default_n: usize) -> crate::data::DataSpec {
    use crate::data::{synth, DataSpec};
    let generated = DataSpec::Default {
        n: default_n,
        seed: synth::DEFAULT_SEED + 1,
    };
    match corpus {
        Some(v) => match DataSpec::from_arg(Some(v)) {
            DataSpec::Default { .. } => generated,
            other => other,
        },
        None if paths::shared_emnist_rest().is_dir() => DataSpec::Emnist {
            dir: paths::shared_emnist_rest(),
            report_format: true,
        },
        None => generated,
    }
}

fn check_corpus(corpus: &Dataset, data: &Dataset) -> Result<()> {
    let same = corpus.height() == data.height()
        && corpus.width() == data.width()
        && corpus.n_classes() == data.n_classes();
    if !same {
        return Err(Error::param(
            "corpus",
            format!(
                "{} has {}x{} images in {} classes, the data {}x{} in {}: give a corpus in \
                 the data's format (an EMNIST folder is converted to the report's)",
                corpus.source(),
                corpus.height(),
                corpus.width(),
                corpus.n_classes(),
                data.height(),
                data.width(),
                data.n_classes()
            ),
        ));
    }
    Ok(())
}

fn run_config(spec: &impl Serialize, net: &Net, data: &Dataset, extra: &str) -> serde_json::Value {
    let mut config = serde_json::json!({
        "model": net.model_json(),
        "net": net.label(),
        "spec": spec,
        "data_hash": data.content_hash(),
        "init": extra,
    });
    net.tag(&mut config);
    config
}

/// The training of pretraining run `spec` into `run_dir`.
fn pretrain_fit(
    data: &Dataset,
    corpus: &Dataset,
    spec: &PretrainSpec,
    run_dir: &Path,
    resume: bool,
) -> Fit {
    Fit {
        config: Some(run_config(spec, &spec.net, data, &corpus.content_hash())),
        resume,
        ..Fit::new(spec.net.clone(), spec.train.clone(), run_dir)
    }
}

/// The training of `variant` into `run_dir`, from `init`'s weights when given.
fn variant_fit(
    data: &Dataset,
    variant: &Variant,
    init: Option<&Path>,
    run_dir: &Path,
    resume: bool,
) -> Fit {
    let (init, init_note) = match init {
        Some(path) => (
            Init::Checkpoint(path.to_path_buf()),
            format!("pretrained: {}", paths::relative(path)),
        ),
        None => (Init::Scratch, "scratch".into()),
    };
    Fit {
        config: Some(run_config(variant, &variant.net, data, &init_note)),
        init,
        resume,
        ..Fit::new(variant.net.clone(), variant.train.clone(), run_dir)
    }
}

/// Pretrains `spec.net` on `corpus` (minus the images identical to a validation or test image
/// of `data`), validated on `data`'s validation part, normalised as `data`'s training part;
/// the run goes to `run_dir`.
pub(crate) fn pretrain(
    data: &Dataset,
    corpus: &Dataset,
    spec: &PretrainSpec,
    split: &Split,
    run_dir: &Path,
    resume: bool,
) -> Result<PretrainResults> {
    check_corpus(corpus, data)?;
    let held_out: Vec<usize> = split
        .validation
        .iter()
        .chain(&split.test)
        .copied()
        .collect();
    let (kept, dropped) = crate::data::dedupe(corpus, data, &held_out);
    let td =
        TrainData::with_training_images(data, split, corpus, &kept, Device::cuda_if_available())?;
    let outcome = pretrain_fit(data, corpus, spec, run_dir, resume).run(&td)?;
    Ok(PretrainResults {
        name: spec.name.clone(),
        corpus_images: kept.len(),
        dropped_duplicates: dropped,
        seconds: outcome.history.iter().map(|r| r.seconds).sum(),
        best_epoch: outcome.best_epoch,
        history: outcome.history,
    })
}

/// Trains `variant` on `data`'s training part (from `init`'s weights when given) into
/// `run_dir`, picks `tau` on validation and scores the test part.
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
    let trained = variant_fit(data, variant, init, run_dir, resume).run(&td)?;
    let val_logits = trained.logits(data, &split.validation)?;
    let test_logits = trained.logits(data, &split.test)?;
    let e = Eval::new(data, split, &PAIRS);
    let sc = score(&e, &val_logits, &test_logits, tau_grid)?;
    let adjustment = Adjustment {
        tau: sc.tau,
        log_prior: e.prior.clone(),
    };
    paths::write_json(
        &run_dir.join(crate::paths::run_files::ADJUSTMENT),
        &adjustment,
    )?;
    let train_seconds: f64 = trained.history.iter().map(|r| r.seconds).sum();
    let res = VariantResults {
        variant: variant.clone(),
        parameters: trained.parameters(),
        best_epoch: trained.best_epoch,
        train_images_per_second: (split.train.len() * trained.history.len()) as f64
            / train_seconds.max(1e-9),
        train_seconds,
        history: trained.history,
        scored: sc,
    };
    Ok((res, val_logits, test_logits))
}

/// Soft and majority votes over the top `k` variants by validation macro F1, `k` (from 2)
/// chosen by the soft vote's validation macro F1. `logits[i]` are variant `i`'s validation and
/// test logits.
pub(crate) fn ensembles(
    data: &Dataset,
    split: &Split,
    variants: &[VariantResults],
    logits: &[(Tensor, Tensor)],
    tau_grid: &[f64],
) -> Result<Vec<EnsembleResults>> {
    if variants.len() < 2 {
        return Ok(Vec::new());
    }
    let e = Eval::new(data, split, &PAIRS);
    let mut order: Vec<usize> = (0..variants.len()).collect();
    order.sort_by(|&a, &b| {
        variants[b]
            .scored
            .validation
            .adjusted_macro_f1
            .total_cmp(&variants[a].scored.validation.adjusted_macro_f1)
    });
    let mut best: Option<(usize, Scored)> = None;
    for k in 2..=order.len() {
        let val: Vec<&Tensor> = order[..k].iter().map(|&i| &logits[i].0).collect();
        let test: Vec<&Tensor> = order[..k].iter().map(|&i| &logits[i].1).collect();
        let sc = score(&e, &soft_vote(&val)?, &soft_vote(&test)?, tau_grid)?;
        let better = best.as_ref().is_none_or(|(_, b)| {
            sc.validation.adjusted_macro_f1 > b.validation.adjusted_macro_f1 + 1e-12
        });
        if better {
            best = Some((k, sc));
        }
    }
    let Some((k, soft)) = best else {
        return Ok(Vec::new());
    };
    let members: Vec<String> = order[..k]
        .iter()
        .map(|&i| variants[i].variant.name.clone())
        .collect();
    let val: Vec<&Tensor> = order[..k].iter().map(|&i| &logits[i].0).collect();
    let test: Vec<&Tensor> = order[..k].iter().map(|&i| &logits[i].1).collect();
    let majority = score(&e, &majority_vote(&val)?, &majority_vote(&test)?, &[0.0])?;
    Ok(vec![
        EnsembleResults {
            name: "soft-vote".into(),
            members: members.clone(),
            scored: soft,
        },
        EnsembleResults {
            name: "majority-vote".into(),
            members,
            scored: majority,
        },
    ])
}

/// Picks the best finished variant or ensemble by adjusted validation macro F1.
pub(crate) fn best_of(variants: &[VariantResults], ensembles: &[EnsembleResults]) -> Option<Best> {
    let dir = |name: &str| paths::relative(&run_root().join(name));
    let mut cands: Vec<(f64, Best)> = variants
        .iter()
        .map(|v| {
            (
                v.scored.validation.adjusted_macro_f1,
                Best {
                    model: v.variant.name.clone(),
                    test_accuracy: 100.0 * v.scored.test.adjusted_accuracy,
                    test_macro_f1: 100.0 * v.scored.test.adjusted_macro_f1,
                    run_dir: dir(&v.variant.name),
                    members: Vec::new(),
                },
            )
        })
        .collect();
    for en in ensembles {
        cands.push((
            en.scored.validation.adjusted_macro_f1,
            Best {
                model: en.name.clone(),
                test_accuracy: 100.0 * en.scored.test.adjusted_accuracy,
                test_macro_f1: 100.0 * en.scored.test.adjusted_macro_f1,
                run_dir: dir(&en.name),
                members: en.members.iter().map(|m| dir(m)).collect(),
            },
        ));
    }
    cands
        .into_iter()
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, b)| b)
}

/// The best weights of the pretraining run `variant` starts from (`None`: from scratch).
fn init_of(config: &LeversConfig, v: &Variant) -> Result<Option<PathBuf>> {
    let Some(name) = &v.pretrained else {
        return Ok(None);
    };
    if !config.all_pretraining().iter().any(|p| &p.name == name) {
        return Err(Error::param(
            "pretrained",
            format!(
                "variant {} names pretraining run `{name}`, which the configuration lacks",
                v.name
            ),
        ));
    }
    Ok(Some(
        run_root()
            .join(format!("pretrain-{name}"))
            .join(crate::paths::run_files::BEST_WEIGHTS),
    ))
}

/// Every variant run: the configured ones, then their repeats ([`LeversConfig::repeated`]).
fn all_variants(config: &LeversConfig) -> Vec<Variant> {
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
    let mut corpora = Corpora::new(corpus);
    let mut units = Vec::new();
    for spec in config.all_pretraining() {
        let id = format!("pretrain-{}", spec.name);
        let dir = root.join(&id);
        let source = corpora.of(spec.source)?;
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
    let mut corpora = Corpora::new(corpus);
    if let Some(spec) = pretraining
        .iter()
        .find(|p| format!("pretrain-{}", p.name) == id)
    {
        let source = corpora.of(spec.source)?;
        pretrain(data, source, spec, &split, &root.join(id), true)?;
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
            let source = corpora.of(s.source)?;
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
    let (_results, _validation_logits, _test_logits) = run_variant(
        data,
        v,
        &split,
        init.as_deref(),
        &config.tau_grid,
        &root.join(id),
        true,
    )?;
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
    let mut corpora = Corpora::new(corpus);
    let mut missing = Vec::new();
    for spec in config.all_pretraining() {
        let id = format!("pretrain-{}", spec.name);
        let source = corpora.of(spec.source)?;
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

/// Draws `figures/06-augmentation` with the first augmentation `config` trains with, on the
/// training part of `data` (nothing when no run is augmented).
pub(crate) fn augmentation_figure(
    data: &Dataset,
    config: &LeversConfig,
) -> Result<Option<crate::plot::Png>> {
    let split = split::random_split(data.len(), config.split_seed)?;
    let augmented = config
        .variants
        .iter()
        .map(|v| &v.train)
        .chain(config.pretraining.iter().map(|p| &p.train));
    match augmented.filter_map(|t| t.augment.as_ref()).next() {
        Some(a) => figures::augmentation_figure(data, &split.train, a, config.split_seed).map(Some),
        None => Ok(None),
    }
}

/// Runs the section: each pretraining run, then each variant, then each repeat (resuming
/// finished or started runs when `resume`), rewriting the results file after each variant
/// and repeat; `progress` is told what starts.
pub fn run(
    data: &Dataset,
    corpus: &Dataset,
    config: &LeversConfig,
    resume: bool,
    mut progress: impl FnMut(&str),
) -> Result<LeversResults> {
    config.check()?;
    let split = split::random_split(data.len(), config.split_seed)?;
    let root = run_root();
    let mut res = LeversResults {
        section: SECTION.into(),
        source: data.source().clone(),
        data_hash: data.content_hash(),
        class_chars: data.class_chars().to_vec(),
        corpus: corpus.source().clone(),
        corpus_hash: corpus.content_hash(),
        config: config.clone(),
        pretraining: Vec::new(),
        variants: Vec::new(),
        ensembles: Vec::new(),
        best: None,
        repeats: Vec::new(),
        spreads: Vec::new(),
        effects: Vec::new(),
        channels_last: crate::channels_last(),
    };
    let e = Eval::new(data, &split, &PAIRS);
    let mut all_logits = Vec::new();
    augmentation_figure(data, config)?;
    let mut corpora = Corpora::new(corpus);
    for spec in config.all_pretraining() {
        let source = corpora.of(spec.source)?;
        progress(&format!("pretraining {} on {}", spec.name, source.source()));
        let dir = root.join(format!("pretrain-{}", spec.name));
        res.pretraining
            .push(pretrain(data, source, &spec, &split, &dir, resume)?);
    }
    // Trains (or loads) a variant or a repeat, picks its tau and scores it.
    let train = |v: &Variant| {
        let init = init_of(config, v)?;
        let dir = root.join(&v.name);
        run_variant(
            data,
            v,
            &split,
            init.as_deref(),
            &config.tau_grid,
            &dir,
            resume,
        )
    };
    for v in &config.variants {
        progress(&format!("variant {}", v.name));
        let (r, vl, tl) = train(v)?;
        res.variants.push(r);
        all_logits.push((vl, tl));
        res.ensembles = ensembles(data, &split, &res.variants, &all_logits, &config.tau_grid)?;
        for en in &res.ensembles {
            let spec = EnsembleSpec {
                members: en.members.iter().map(|m| Path::new("..").join(m)).collect(),
                rule: if en.name == "soft-vote" {
                    "soft"
                } else {
                    "majority"
                }
                .into(),
                adjustment: Some(Adjustment {
                    tau: en.scored.tau,
                    log_prior: e.prior.clone(),
                }),
                adjusted_members: false,
            };
            paths::write_json(
                &root.join(&en.name).join(crate::paths::run_files::ENSEMBLE),
                &spec,
            )?;
        }
        res.best = best_of(&res.variants, &res.ensembles);
        write_results(&mut res, &e)?;
    }
    for (_, seed, v) in config.repeated() {
        progress(&format!("repeat {} (seed {seed})", v.name));
        let (r, _, _) = train(&v)?;
        res.repeats.push(r);
        write_results(&mut res, &e)?;
    }
    Ok(res)
}

/// Recomputes the spreads and effects of `res` and writes its results files.
fn write_results(res: &mut LeversResults, e: &Eval) -> Result<()> {
    res.spreads = effects::spreads(res);
    res.effects = effects::effects(res, &e.test_truth)?;
    paths::write_json(&paths::result(SECTION), res)?;
    paths::write_json(&paths::result(FUTURE_WORK), &future_work(res))
}

/// The text `charlab levers` prints: each pretraining, each variant's validation and test
/// scores (adjusted, then raw), and the best on validation.
pub(crate) fn summary(res: &LeversResults) -> String {
    let mut s = String::new();
    for p in &res.pretraining {
        s.push_str(&format!(
            "pretraining {}: {} corpus images ({} dropped as identical to a validation or test \
             image), best epoch {} of {}, {:.0} s\n",
            p.name,
            p.corpus_images,
            p.dropped_duplicates,
            p.best_epoch,
            p.history.len(),
            p.seconds
        ));
    }
    s.push_str(
        "variant                          tau  val acc  val F1  test acc  test F1  (raw acc / F1)\n",
    );
    for v in &res.variants {
        s.push_str(&format!(
            "{:<30} {:>5.2}  {:>6.2}%  {:>5.2}%  {:>7.2}%  {:>6.2}%  ({:.2} / {:.2})\n",
            v.variant.name,
            v.scored.tau,
            100.0 * v.scored.validation.adjusted_accuracy,
            100.0 * v.scored.validation.adjusted_macro_f1,
            100.0 * v.scored.test.adjusted_accuracy,
            100.0 * v.scored.test.adjusted_macro_f1,
            100.0 * v.scored.test.accuracy,
            100.0 * v.scored.test.macro_f1
        ));
    }
    if let Some(b) = &res.best {
        s.push_str(&format!(
            "best on validation: {} ({})\n",
            b.model, b.run_dir
        ));
    }
    s
}
