//! `charlab reproduce`: every section of the report in order, reusing what has not changed.
//!
//! Each step (a section, a figure, the report) has a **key**: the SHA-256 of its name, the
//! data's content hash, its configuration and the contents of the results files it reads.
//! After a step runs, the manifest `report/results/reproduce.json` records its key, the
//! SHA-256 of every file it wrote and how long it took. A step is reused when its key is the
//! recorded one and every recorded output still exists with the recorded hash; otherwise it
//! runs again. So a changed configuration or data set, a deleted figure, or an edited or
//! corrupted results file all make the step (and the steps that read its outputs) run again,
//! and a second `reproduce` in a row does no work.
//!
//! The neural sections resume their run folders when the folder was started with the same
//! configuration and data (all epochs done: only the test evaluation runs again), else they
//! train afresh. Quick runs use their own run folders (`data/models/quick/`), so they never
//! touch a full run's checkpoints.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::data::Dataset;
use crate::sections::{self, baselines, cnn, cnn_tuning, cv, dataset, efficientnet};
use crate::sections::{learning_curves, levers, neural, preprocessing, results};
use crate::{paths, report, Error, Profile, Result};

/// What a reproduction computes. [`ReproduceConfig::full`] is the report's;
/// [`ReproduceConfig::quick`] finishes in minutes on the embedded default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReproduceConfig {
    /// Seed of the sample figure and of the splits' summaries.
    pub seed: u64,
    /// Section 4.1.
    pub baselines: baselines::BaselinesConfig,
    /// Section 4.2.
    pub cnn: cnn::CnnConfig,
    /// Section 4.3.
    pub efficientnet: efficientnet::EfficientNetConfig,
    /// The CNN's tuning (section 4.2).
    pub tuning: cnn_tuning::TuningConfig,
    /// Section 6.1.
    pub levers: levers::LeversConfig,
    /// Section 6.1's pretraining corpus: an EMNIST folder, a `train.pkl`, or `default` for
    /// [`ReproduceConfig::corpus_size`] glyphs of the embedded generator (seed 1).
    pub corpus: String,
    /// Images of the generated corpus (at most the quick profile's in quick mode).
    pub corpus_size: usize,
    /// Section 6.2.
    pub cv: cv::CvConfig,
    /// The profile: [`Profile::Quick`] puts the run folders under `data/models/quick/`
    /// instead of `data/models/`.
    pub profile: Profile,
}

impl ReproduceConfig {
    /// The report's settings (25 epochs for both networks; the tuning's, 6.1's and 6.2's
    /// committed configurations; the generated corpus of 60,000 glyphs unless `corpus` is
    /// set).
    pub fn full() -> Self {
        ReproduceConfig {
            seed: 0,
            baselines: baselines::BaselinesConfig::default(),
            cnn: cnn::CnnConfig::default(),
            efficientnet: efficientnet::EfficientNetConfig::default(),
            tuning: cnn_tuning::TuningConfig::for_profile(Profile::Full),
            levers: levers::LeversConfig::for_profile(Profile::Full),
            corpus: "default".into(),
            corpus_size: 60_000,
            cv: cv::CvConfig::for_profile(Profile::Full),
            profile: Profile::Full,
        }
    }

    /// A few minutes on the embedded default: [`ReproduceConfig::for_profile`] of
    /// [`Profile::Quick`].
    pub fn quick() -> Self {
        ReproduceConfig::for_profile(Profile::Quick)
    }

    /// The configuration of `profile`: the report's, or (quick) the CNN and EfficientNet with
    /// the profile's epochs and the logistic regression with its iteration cap.
    pub fn for_profile(profile: Profile) -> Self {
        let mut c = ReproduceConfig::full();
        c.profile = profile;
        c.cnn.train.epochs = profile.cnn_epochs(c.cnn.train.epochs);
        c.efficientnet.train.epochs = profile.efficientnet_epochs(c.efficientnet.train.epochs);
        c.baselines.logreg.max_iter = profile.logreg_max_iter(c.baselines.logreg.max_iter);
        c.tuning = cnn_tuning::TuningConfig::for_profile(profile);
        c.levers = levers::LeversConfig::for_profile(profile);
        c.cv = cv::CvConfig::for_profile(profile);
        c.corpus_size = profile.corpus_size(c.corpus_size);
        c
    }
}

/// What happened to one step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// The step's key (see the module documentation).
    pub key: String,
    /// Files written, relative to the project root, with their SHA-256.
    pub outputs: BTreeMap<String, String>,
    /// Wall time of the run that produced the outputs, seconds.
    pub seconds: f64,
}

/// `report/results/reproduce.json`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Hash of the data of the last run.
    pub data_hash: String,
    /// One record per step name.
    pub steps: BTreeMap<String, StepRecord>,
}

/// How a step went in this run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepOutcome {
    /// Step name (the section's file name).
    pub name: String,
    /// Whether the recorded outputs were reused (no work done).
    pub reused: bool,
    /// Seconds spent now (0 when reused).
    pub seconds: f64,
    /// Seconds the outputs took when they were made.
    pub recorded_seconds: f64,
    /// Files the step wrote (or would have).
    pub outputs: Vec<String>,
}

/// The manifest's path.
pub fn manifest_path() -> PathBuf {
    paths::result("reproduce")
}

fn sha256_file(path: &Path) -> Option<String> {
    paths::sha256_file(path).ok()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn step_key(name: &str, data_hash: &str, config: &serde_json::Value, inputs: &[PathBuf]) -> String {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(data_hash.as_bytes());
    h.update(config.to_string().as_bytes());
    for p in inputs {
        h.update(paths::relative(p).as_bytes());
        h.update(sha256_file(p).unwrap_or_default().as_bytes());
    }
    hex(&h.finalize())
}

/// How `charlab reproduce` runs a section.
#[derive(Clone, Copy, Debug)]
struct Hook {
    /// The section's configuration in a reproduction (the profile's, see
    /// [`ReproduceConfig::for_profile`]), as JSON: part of the step's key, so a changed
    /// configuration runs the section again.
    config: fn(&ReproduceConfig) -> Result<serde_json::Value>,
    /// Runs the section on the data: writes its figures and results file (its run folders
    /// under [`paths::run_dir`] of the reproduction's profile).
    run: fn(&Dataset, &ReproduceConfig) -> Result<()>,
}

/// The hook of the section `id` (every section of the registry has one).
fn hook(id: &str) -> Option<Hook> {
    let h = |config, run| Some(Hook { config, run });
    match id {
        dataset::SECTION => h(|c| json(&c.seed), run_dataset),
        preprocessing::SECTION => h(|c| json(&c.seed), run_preprocessing),
        baselines::SECTION => h(|c| json(&c.baselines), run_baselines),
        cnn::SECTION => h(|c| json(&c.cnn), run_cnn),
        efficientnet::SECTION => h(|c| json(&c.efficientnet), run_efficientnet),
        learning_curves::FIGURE => h(no_config, |_, _| learning_curves::run().map(drop)),
        results::SECTION => h(no_config, |data, _| results::run(data).map(drop)),
        cnn_tuning::SECTION => h(|c| json(&c.tuning), run_tuning),
        levers::SECTION => h(|c| json(&(&c.levers, &c.corpus, c.corpus_size)), run_levers),
        cv::SECTION => h(|c| json(&c.cv), run_cv),
        _ => None,
    }
}

fn json<T: serde::Serialize>(v: &T) -> Result<serde_json::Value> {
    serde_json::to_value(v).map_err(|source| Error::Json {
        path: manifest_path(),
        source,
    })
}

fn run_dataset(data: &Dataset, c: &ReproduceConfig) -> Result<()> {
    dataset::run(data, c.seed).map(drop)
}

fn run_preprocessing(data: &Dataset, c: &ReproduceConfig) -> Result<()> {
    preprocessing::run(data, c.seed).map(drop)
}

fn run_baselines(data: &Dataset, c: &ReproduceConfig) -> Result<()> {
    let res = baselines::run(data, &c.baselines, baselines::Which::All)?;
    baselines::f1_figure(&res, data.class_chars()).map(drop)
}

fn run_cnn(data: &Dataset, c: &ReproduceConfig) -> Result<()> {
    let dir = paths::run_dir(cnn::SECTION, c.profile);
    let resume = neural::resumable(data, &c.cnn, &dir);
    neural::save_results(&neural::train_and_evaluate(data, &c.cnn, &dir, resume)?)
}

fn run_efficientnet(data: &Dataset, c: &ReproduceConfig) -> Result<()> {
    let dir = paths::run_dir(efficientnet::SECTION, c.profile);
    let resume = neural::resumable(data, &c.efficientnet, &dir);
    let res = neural::train_and_evaluate(data, &c.efficientnet, &dir, resume)?;
    neural::save_results(&res)
}

fn run_tuning(data: &Dataset, c: &ReproduceConfig) -> Result<()> {
    cnn_tuning::run(data, &c.tuning, true).map(drop)
}

/// Section 6.1 on [`ReproduceConfig::corpus`], resuming its runs.
fn run_levers(data: &Dataset, c: &ReproduceConfig) -> Result<()> {
    let corpus = levers::corpus_spec(Some(&c.corpus), c.corpus_size).load()?;
    levers::run(data, &corpus, &c.levers, true, |m| {
        crate::progress::line(format_args!("[6.1] {m}"))
    })
    .map(drop)
}

/// Section 6.2, resuming its folds and grid points.
fn run_cv(data: &Dataset, c: &ReproduceConfig) -> Result<()> {
    cv::run(data, &c.cv, true, |m| {
        crate::progress::line(format_args!("[6.2] {m}"))
    })
    .map(drop)
}

fn no_config(_: &ReproduceConfig) -> Result<serde_json::Value> {
    Ok(serde_json::Value::Null)
}

/// A step of the reproduction: a section of the registry, or the report.
enum Step {
    Section(&'static sections::Section, Hook),
    Report,
}

impl Step {
    fn name(&self) -> &'static str {
        match self {
            Step::Section(s, _) => s.id,
            Step::Report => report::STEP,
        }
    }
}

/// The steps in order: every section of [`sections::SECTIONS`] that `reproduce` runs, then
/// the report; each with the results files it reads and its configuration.
fn plan(config: &ReproduceConfig) -> Result<Vec<(Step, Vec<PathBuf>, serde_json::Value)>> {
    let mut steps = Vec::new();
    for s in &sections::SECTIONS {
        if let Some(h) = hook(s.id) {
            let inputs = s.reads.iter().map(|id| paths::result(id)).collect();
            steps.push((Step::Section(s, h), inputs, (h.config)(config)?));
        }
    }
    // The report reads the results of every section in its key; the sections `reproduce`
    // does not run (section 6.1: a corpus and an hour of training) are included when they
    // exist.
    let inputs = sections::SECTIONS
        .iter()
        .filter(|s| s.in_report_key)
        .filter_map(|s| s.results_file())
        .collect();
    steps.push((Step::Report, inputs, serde_json::Value::Null));
    Ok(steps)
}

/// Runs one step; returns the files it wrote.
fn run_step(step: &Step, data: &Dataset, config: &ReproduceConfig) -> Result<Vec<PathBuf>> {
    match step {
        Step::Section(s, h) => {
            (h.run)(data, config)?;
            Ok(s.outputs())
        }
        Step::Report => report::write(),
    }
}

/// Runs every step on `data` with `config`, reusing unchanged ones; `progress` is told each
/// step's name before it starts (and whether it is reused). Writes the manifest after every
/// step, so an interrupted run keeps what it finished.
pub fn run(
    data: &Dataset,
    config: &ReproduceConfig,
    mut progress: impl FnMut(usize, usize, &str, bool),
) -> Result<Vec<StepOutcome>> {
    let mpath = manifest_path();
    // An unreadable manifest is a reason to recompute, not to fail.
    let mut manifest: Manifest = paths::read_json(&mpath).unwrap_or_default();
    let hash = data.content_hash();
    manifest.data_hash = hash.clone();
    let steps = plan(config)?;
    let total = steps.len();
    let mut outcomes = Vec::new();
    for (i, (step, inputs, step_config)) in steps.into_iter().enumerate() {
        let name = step.name();
        let key = step_key(name, &hash, &step_config, &inputs);
        let reusable = manifest.steps.get(name).filter(|rec| {
            rec.key == key
                && !rec.outputs.is_empty()
                && rec
                    .outputs
                    .iter()
                    .all(|(p, h)| sha256_file(&paths::root().join(p)).as_deref() == Some(h))
        });
        if let Some(rec) = reusable {
            progress(i, total, name, true);
            outcomes.push(StepOutcome {
                name: name.into(),
                reused: true,
                seconds: 0.0,
                recorded_seconds: rec.seconds,
                outputs: rec.outputs.keys().cloned().collect(),
            });
            continue;
        }
        progress(i, total, name, false);
        let t = Instant::now();
        let files = run_step(&step, data, config)?;
        let seconds = t.elapsed().as_secs_f64();
        let mut outputs = BTreeMap::new();
        for f in &files {
            let h = sha256_file(f).ok_or_else(|| {
                Error::results(
                    paths::relative(f),
                    format!("step {name} ran but did not write it"),
                    "charlab reproduce",
                )
            })?;
            outputs.insert(paths::relative(f), h);
        }
        manifest.steps.insert(
            name.into(),
            StepRecord {
                key,
                outputs: outputs.clone(),
                seconds,
            },
        );
        paths::write_json(&mpath, &manifest)?;
        outcomes.push(StepOutcome {
            name: name.into(),
            reused: false,
            seconds,
            recorded_seconds: seconds,
            outputs: outputs.into_keys().collect(),
        });
    }
    paths::write_json(&mpath, &manifest)?;
    Ok(outcomes)
}

/// The table `charlab reproduce` prints: the data's load time, one line per step (reused or
/// its time now, its time when made, its outputs), and the totals; `seconds` is the whole
/// run's wall time.
pub fn summary(steps: &[StepOutcome], load_seconds: f64, seconds: f64) -> String {
    let mut s = format!(
        "load data: {load_seconds:.1} s\n{:<22} {:>10} {:>12}  outputs\n",
        "step", "this run", "when made"
    );
    for step in steps {
        s.push_str(&format!(
            "{:<22} {:>10} {:>10.1} s  {}\n",
            step.name,
            if step.reused {
                "reused".to_string()
            } else {
                format!("{:.1} s", step.seconds)
            },
            step.recorded_seconds,
            step.outputs.join(", ")
        ));
    }
    let made: f64 = steps.iter().map(|s| s.recorded_seconds).sum();
    s.push_str(&format!(
        "done in {seconds:.1} s ({} of {} steps reused; all outputs took {made:.0} s to make); \
         report: {}\n",
        steps.iter().filter(|s| s.reused).count(),
        steps.len(),
        paths::relative(&report::markdown_path())
    ));
    s
}
