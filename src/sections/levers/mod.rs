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

use serde::Serialize;
use tch::Tensor;

mod config;
mod effects;
pub mod figures;
mod records;
mod results;
mod steps;
mod table;
mod units;
mod votes;

use crate::models::Net;
pub use config::{LeverPair, LeversConfig, PretrainSource, PretrainSpec, Repeats, Variant};
pub use effects::{Effect, Spread};
pub use results::{Best, EnsembleResults, LeversResults, PretrainResults, VariantResults};
use steps::train_variant;
pub use steps::Steps;
pub(crate) use steps::{pretrain, run_variant};
pub(crate) use table::future_work;
pub use table::variants_table;
pub(crate) use table::FUTURE_WORK;
use units::all_variants;
pub(crate) use units::{collect, plan, run_unit};
use votes::{best_of, votes};

use crate::data::{Dataset, LOOK_ALIKE_PAIRS};
use crate::inference::{Adjustment, EnsembleSpec, Eval, Scored};
use crate::split;
use crate::training::{Fit, Init, Trained};
use crate::{paths, Error, Result};

/// Name of this section in file names ([`crate::paths::section`]).
pub(crate) const SECTION: &str = crate::paths::section::LEVERS;

/// The images each pretraining run trains on ([`PretrainSource`]): the corpus, or glyphs of
/// the embedded generator as many as the corpus has, generated on first use and kept (one set
/// per seed).
///
/// ```
/// use charlab::prelude::*;
/// use charlab::sections::levers::{LeversConfig, PretrainImages};
/// let corpus = DataSpec::Default { n: 300, seed: 8 }.load()?;
/// let config = LeversConfig::for_profile(Profile::Quick);
/// let mut images = PretrainImages::default();
/// for spec in &config.pretraining {
///     assert_eq!(images.of(spec, &corpus)?.len(), 300);
/// }
/// # Ok::<(), charlab::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct PretrainImages {
    glyphs: Vec<(u64, Dataset)>,
}

impl PretrainImages {
    /// What `spec` trains on: `corpus`, or its glyph set (as many images as `corpus` has).
    pub fn of<'a>(&'a mut self, spec: &PretrainSpec, corpus: &'a Dataset) -> Result<&'a Dataset> {
        let seed = match spec.source {
            PretrainSource::Corpus => return Ok(corpus),
            PretrainSource::Glyphs { seed } => seed,
        };
        let kept = |g: &(u64, Dataset)| g.0 == seed && g.1.len() == corpus.len();
        let i = match self.glyphs.iter().position(kept) {
            Some(i) => i,
            None => {
                let glyphs = crate::data::DataSpec::Default {
                    n: corpus.len(),
                    seed,
                }
                .load()?;
                self.glyphs.push((seed, glyphs));
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
        reuse: Some(committed(run_dir)),
        ..Fit::new(spec.net.clone(), spec.train.clone(), run_dir)
    }
}

/// The committed weights of the run in `run_dir`: the same place under `weights/` as the run
/// folder has under `data/models/` (`weights/06.1-levers/<run>/`, and for section 6.2's folds
/// `weights/06.2-cv/<model>/fold-N/`), which [`Fit::reuse`] loads when that folder holds no
/// run and they are of this very run.
fn committed(run_dir: &Path) -> PathBuf {
    match run_dir.strip_prefix(paths::models_dir()) {
        Ok(rel) => paths::weights_dir().join(rel),
        Err(_) => paths::weights_dir()
            .join(SECTION)
            .join(run_dir.file_name().unwrap_or_default()),
    }
}

/// The record of run `id` ([`records`]): `report/results/06.1-levers/<id>.json`.
pub(crate) fn record_path(id: &str) -> PathBuf {
    records::dir().join(format!("{id}.json"))
}

/// Where the weights at `path` (a pretraining run's `best.safetensors` under the section's
/// run folder, as the runs' identities name it) are: there when that run folder has them,
/// else in the committed `weights/06.1-levers/pretrain-<name>/` when those were trained on
/// `data`; `path` itself when neither (loading it then fails, naming it).
pub(crate) fn checkpoint(path: &Path, data: &Dataset) -> PathBuf {
    if path.is_file() {
        return path.to_path_buf();
    }
    let committed = path.parent().map(committed);
    let trained_on_data = |dir: &Path| {
        paths::read_json::<serde_json::Value>(&dir.join(crate::paths::run_files::CONFIG)).is_ok_and(
            |c| c.get("data_hash").and_then(|h| h.as_str()) == Some(&data.content_hash()),
        )
    };
    match committed {
        Some(dir) if trained_on_data(&dir) => dir.join(crate::paths::run_files::BEST_WEIGHTS),
        _ => path.to_path_buf(),
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
            Init::Checkpoint(checkpoint(path, data)),
            format!("pretrained: {}", paths::relative(path)),
        ),
        None => (Init::Scratch, "scratch".into()),
    };
    Fit {
        config: Some(run_config(variant, &variant.net, data, &init_note)),
        init,
        resume,
        reuse: Some(committed(run_dir)),
        ..Fit::new(variant.net.clone(), variant.train.clone(), run_dir)
    }
}

impl LeversConfig {
    /// Every run of the section, in the order [`run`] trains them: the pretraining runs (the
    /// configured ones, then those the repeats start from, `<name>-seed<s>`) and the variants
    /// (the configured ones, then the repeats, `<variant>-seed<s>`).
    pub fn runs(&self) -> (Vec<PretrainSpec>, Vec<Variant>) {
        (self.all_pretraining(), all_variants(self))
    }

    /// The training of pretraining run `spec` on `images` (what [`PretrainImages::of`] gives
    /// for it) into `pretrain-<name>/` under the section's run folder, normalised by `data`'s
    /// training part and validated on its validation part. Its identity (the spec, the
    /// network, `data`'s and `images`' hashes) is what the run's `config.json` records: a
    /// finished run is loaded, a started one resumes.
    pub fn pretrain_fit(&self, spec: &PretrainSpec, data: &Dataset, images: &Dataset) -> Fit {
        let dir = run_root().join(format!("pretrain-{}", spec.name));
        pretrain_fit(data, images, spec, &dir, true)
    }

    /// The training of variant `v` (one of [`LeversConfig::runs`]) on `data`'s training part
    /// into `<name>/` under the section's run folder, from the best weights of the pretraining
    /// run it names (none: from scratch); an error when the configuration lacks that run. Its
    /// identity is recorded as [`LeversConfig::pretrain_fit`]'s.
    pub fn variant_fit(&self, v: &Variant, data: &Dataset) -> Result<Fit> {
        let init = init_of(self, v)?;
        Ok(variant_fit(
            data,
            v,
            init.as_deref(),
            &run_root().join(&v.name),
            true,
        ))
    }
}

impl VariantResults {
    /// What the section records of `variant`, trained as `trained` on `train_images` training
    /// images and scored as `scored` ([`crate::inference::score`]); also writes the chosen logit
    /// adjustment (`tau` and the training part's log prior `prior`) as the run folder's
    /// `adjustment.json`, which `charlab predict --model` applies.
    pub(crate) fn record(
        variant: &Variant,
        trained: &Trained,
        train_images: usize,
        scored: Scored,
        prior: &[f64],
    ) -> Result<VariantResults> {
        let adjustment = Adjustment {
            tau: scored.tau,
            log_prior: prior.to_vec(),
        };
        paths::write_json(
            &trained.run_dir.join(crate::paths::run_files::ADJUSTMENT),
            &adjustment,
        )?;
        let train_seconds: f64 = trained.history.iter().map(|r| r.seconds).sum();
        Ok(VariantResults {
            variant: variant.clone(),
            parameters: trained.parameters(),
            best_epoch: trained.best_epoch,
            train_images_per_second: (train_images * trained.history.len()) as f64
                / train_seconds.max(1e-9),
            train_seconds,
            history: trained.history.clone(),
            scored,
        })
    }
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
/// Draws `figures/06-augmentation` with the first augmentation `config` trains with, on the
/// training part of `data` (nothing when no run is augmented).
pub(crate) fn augmentation_figure(
    data: &Dataset,
    config: &LeversConfig,
) -> Result<Option<crate::plot::Png>> {
    let split = split::random_split(data.len(), config.split_seed)?;
    match config.first_augmentation() {
        Some(a) => figures::augmentation_figure(data, &split.train, a, config.split_seed).map(Some),
        None => Ok(None),
    }
}

/// The section's results from the runs finished so far: the pretraining runs, the variants
/// (with each one's validation and test logits, in the same order; `None` for one whose
/// results came from its record), and the repeats. Adds the soft and majority votes of the
/// best CNN-4 variants (members chosen on validation; recorded, see [`LeversConfig::runs`]; each vote's
/// `ensemble.json` written under the section's run folder, for `charlab predict --model`), the
/// best of all on validation, each repeated variant's spread and each configured lever's effect over the seeds; writes
/// `report/results/06.1-levers.json` and `06-future-work.json`.
pub fn record(
    data: &Dataset,
    corpus: &Dataset,
    config: &LeversConfig,
    pretraining: Vec<PretrainResults>,
    variants: Vec<VariantResults>,
    logits: &[Option<(Tensor, Tensor)>],
    repeats: Vec<VariantResults>,
) -> Result<LeversResults> {
    let split = split::random_split(data.len(), config.split_seed)?;
    let root = run_root();
    let e = Eval::new(data, &split, &LOOK_ALIKE_PAIRS);
    let ensembles = votes(data, &split, &variants, logits, &config.tau_grid)?;
    for en in &ensembles {
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
    let mut res = LeversResults {
        section: SECTION.into(),
        source: data.source().clone(),
        data_hash: data.content_hash(),
        class_chars: data.class_chars().to_vec(),
        corpus: corpus.source().clone(),
        corpus_hash: corpus.content_hash(),
        config: config.clone(),
        best: best_of(&variants, &ensembles),
        pretraining,
        variants,
        ensembles,
        repeats,
        spreads: Vec::new(),
        effects: Vec::new(),
        channels_last: crate::channels_last(),
    };
    res.spreads = effects::spreads(&res);
    res.effects = effects::effects(&res, &e.test_truth)?;
    paths::write_json(&paths::result(SECTION), &res)?;
    paths::write_json(&paths::result(FUTURE_WORK), &future_work(&res))?;
    Ok(res)
}

/// Runs the section with the same [`Steps`] as notebook 06.1: each pretraining run, then each
/// variant, then each repeat ([`LeversConfig::runs`]; finished or started runs resumed when
/// `resume`), [`record`]ing the results after each variant and repeat; `progress` is told what
/// starts.
pub fn run(
    data: &Dataset,
    corpus: &Dataset,
    config: &LeversConfig,
    resume: bool,
    mut progress: impl FnMut(&str),
) -> Result<LeversResults> {
    let steps = Steps::new(data, config, resume)?;
    augmentation_figure(data, config)?;
    let (specs, runs) = config.runs();
    let mut images = PretrainImages::default();
    let mut pretraining = Vec::new();
    for spec in &specs {
        let source = images.of(spec, corpus)?;
        progress(&format!("pretraining {} on {}", spec.name, source.source()));
        pretraining.push(steps.pretraining(spec, source)?);
    }
    let (mut variants, mut logits, mut repeats) = (Vec::new(), Vec::new(), Vec::new());
    let mut res = None;
    for (i, v) in runs.iter().enumerate() {
        let repeat = i >= config.variants.len();
        progress(&if repeat {
            format!("repeat {} (seed {})", v.name, v.train.seed)
        } else {
            format!("variant {}", v.name)
        });
        let (r, l) = steps.variant(v, &pretraining)?;
        if l.is_none() {
            progress(&format!(
                "{}: its run folder is not here; its results from {}",
                v.name,
                paths::relative(&record_path(&v.name))
            ));
        }
        if repeat {
            repeats.push(r);
        } else {
            variants.push(r);
            logits.push(l);
        }
        res = Some(record(
            data,
            corpus,
            config,
            pretraining.clone(),
            variants.clone(),
            &logits,
            repeats.clone(),
        )?);
    }
    match res {
        Some(res) => Ok(res),
        None => record(
            data,
            corpus,
            config,
            pretraining,
            variants,
            &logits,
            repeats,
        ),
    }
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
