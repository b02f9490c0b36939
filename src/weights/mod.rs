//! The curated `weights/` folder: the trained networks behind the report's numbers, committed
//! with the project so that a reviewer re-scores them without training, and `charlab verify`,
//! which does.
//!
//! `weights/<section>/` is a run folder reduced to what loading needs: `best.safetensors`
//! (fp32, as trained) and `best.json` (its epoch), `config.json` (the network and the run's
//! configuration), `normalizer.json` (the training part's mean and std) and `history.jsonl`
//! (the epochs). A notebook's `Fit` with `reuse: Some(weights::folder(section))` loads it
//! instead of training when the data and configuration are the same. `weights/manifest.json`
//! ([`Manifest`]) lists each folder's files with their SHA-256, the hash of the data it was
//! trained on, the command that trains it, and the results file and numbers it reproduces.
//! `charlab predict --model weights/<section>` labels a user's images with it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::metrics::ConfusionMatrix;
use crate::sections::neural::NeuralResults;
use crate::{paths, Error, Result};

mod cv;
mod verify;

pub use cv::{best_network, export_fold_vote};

pub use verify::{table, verify, Check};

/// The files of a weights folder, in the order the manifest lists them.
pub const FILES: [&str; 5] = [
    paths::run_files::BEST_WEIGHTS,
    paths::run_files::BEST_RECORD,
    paths::run_files::CONFIG,
    paths::run_files::HISTORY,
    paths::run_files::NORMALIZER,
];

/// Largest file the folder may hold (the repository's limit).
pub const MAX_FILE_BYTES: u64 = 20 * 1024 * 1024;

/// `weights/` under the project root.
pub fn dir() -> PathBuf {
    paths::weights_dir()
}

/// `weights/<section>/`.
pub fn folder(section: &str) -> PathBuf {
    dir().join(section)
}

/// `weights/manifest.json`.
pub fn manifest_path() -> PathBuf {
    dir().join("manifest.json")
}

/// `weights/manifest.json`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// One entry per weights folder.
    pub models: Vec<Entry>,
}

/// One weights folder and what it reproduces.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The section it belongs to (its folder is `weights/<section>/`).
    pub section: String,
    /// The model of the section's results it holds, for a section of several (a variant, a
    /// vote or a pretraining run of section 6.1); its folder is then
    /// `weights/<section>/<model>/`. Empty: the section's one network.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub model: String,
    /// SHA-256 of each file of the folder.
    pub files: BTreeMap<String, String>,
    /// Content hash of the data set it was trained on (the stand-in's).
    pub data_hash: String,
    /// The command that trains it again.
    pub command: String,
    /// The results file whose numbers it reproduces, relative to the project root.
    pub results: String,
    /// Test accuracy in that file.
    pub test_accuracy: f64,
    /// Test macro F1 in that file.
    pub test_macro_f1: f64,
    /// Test images labelled (0 for a pretraining run, which has no test scores: it is checked
    /// by its hashes and by loading).
    pub test_images: usize,
    /// Whether the weights were used channels-last when the results were made (the setting
    /// changes float rounding, so verification uses the same).
    pub channels_last: bool,
}

impl Entry {
    /// Its folder: `weights/<section>/` or `weights/<section>/<model>/`.
    pub fn folder(&self) -> PathBuf {
        if self.model.is_empty() {
            folder(&self.section)
        } else {
            folder(&self.section).join(&self.model)
        }
    }

    /// `<section>` or `<section>/<model>`: how tables and messages name it.
    pub fn name(&self) -> String {
        if self.model.is_empty() {
            self.section.clone()
        } else {
            format!("{}/{}", self.section, self.model)
        }
    }
}

/// Copies `names` from `from` into `to`, each at most [`MAX_FILE_BYTES`], and returns their
/// SHA-256.
fn copy_files(from: &Path, to: &Path, names: &[&str]) -> Result<BTreeMap<String, String>> {
    std::fs::create_dir_all(to).map_err(|e| Error::io(to, e))?;
    let mut files = BTreeMap::new();
    for name in names {
        let src = from.join(name);
        let bytes = std::fs::read(&src).map_err(|e| Error::io(&src, e))?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(Error::bad_data(
                &src,
                format!(
                    "is {} MB, over the {} MB a committed file may have",
                    bytes.len() / (1 << 20),
                    MAX_FILE_BYTES >> 20
                ),
            ));
        }
        paths::write_atomic(&to.join(name), &bytes)?;
        files.insert(name.to_string(), paths::sha256_file(&to.join(name))?);
    }
    Ok(files)
}

/// The scores of `model` in the results `res` of a section of several models (section
/// 6.1's layout: a variant's or a repeat's `variant.name`, a vote's `name`), with its test
/// predictions.
fn scored_in<'a>(res: &'a serde_json::Value, model: &str) -> Option<&'a serde_json::Value> {
    let named = |o: &&serde_json::Value| {
        o.pointer("/variant/name").or_else(|| o.get("name")) == Some(&serde_json::json!(model))
    };
    ["variants", "repeats", "ensembles"]
        .iter()
        .filter_map(|k| res.get(*k).and_then(|v| v.as_array()))
        .flat_map(|a| a.iter())
        .find(|o| named(o) && o.get("test_predictions").is_some())
}

/// Adjusted test accuracy and macro F1 and the adjusted test predictions of `scored`.
fn adjusted(scored: &serde_json::Value) -> (f64, f64, Vec<usize>) {
    let f = |p: &str| {
        scored
            .pointer(p)
            .and_then(|v| v.as_f64())
            .unwrap_or(f64::NAN)
    };
    let preds = scored
        .get("test_predictions")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default();
    (
        f("/test/adjusted_accuracy"),
        f("/test/adjusted_macro_f1"),
        preds,
    )
}

/// The epochs and losses of a history (JSON records), which identify a run (its timings do
/// not).
fn losses(history: &serde_json::Value) -> Vec<(u64, String, String)> {
    let f = |r: &serde_json::Value, k: &str| r.get(k).map(|v| v.to_string()).unwrap_or_default();
    history
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| {
                    let epoch = r.get("epoch").and_then(|e| e.as_u64()).unwrap_or(0);
                    (epoch, f(r, "train_loss"), f(r, "val_loss"))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// [`losses`] of the run folder `dir`'s `history.jsonl`.
fn run_losses(dir: &Path) -> Result<Vec<(u64, String, String)>> {
    let path = dir.join(paths::run_files::HISTORY);
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let records: Vec<serde_json::Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<std::result::Result<_, _>>()
        .map_err(|source| Error::Json {
            path: path.clone(),
            source,
        })?;
    Ok(losses(&serde_json::Value::Array(records)))
}

/// Copies the run folder `run_dir` of `model` (a variant, a vote or a pretraining run named
/// in `report/results/<section>.json`, section 6.1's layout) into
/// `weights/<section>/<model>/` and returns its manifest entry: a network's files with its
/// logit adjustment, or a vote's `ensemble.json` (its members are entries of their own,
/// exported beside it). The scores are the adjusted ones the results file gives; a
/// pretraining run has none. A model the results file lacks, a network trained on other data
/// or a file over [`MAX_FILE_BYTES`] is an error.
pub fn export_model(
    section: &str,
    run_dir: &Path,
    model: &str,
    command: &str,
    channels_last: bool,
) -> Result<Entry> {
    use paths::run_files::{ADJUSTMENT, ENSEMBLE};
    let results_path = paths::result(section);
    let res: serde_json::Value = paths::read_json(&results_path)?;
    let data_hash = res
        .get("data_hash")
        .and_then(|h| h.as_str())
        .unwrap_or_default()
        .to_string();
    let scored = scored_in(&res, model);
    if scored.is_none() && !model.starts_with("pretrain-") {
        return Err(Error::bad_data(
            &results_path,
            format!("has no model `{model}`: finish section {section} and collect its results"),
        ));
    }
    let names: Vec<&str> = if run_dir.join(ENSEMBLE).exists() {
        vec![ENSEMBLE]
    } else {
        let config: serde_json::Value = paths::read_json(&run_dir.join(paths::run_files::CONFIG))?;
        if config.get("data_hash").and_then(|h| h.as_str()) != Some(data_hash.as_str()) {
            return Err(Error::bad_data(
                run_dir.join(paths::run_files::CONFIG),
                format!(
                    "was trained on other data than {} reports; run `{command}` again",
                    paths::relative(&results_path)
                ),
            ));
        }
        if let Some(h) = scored.and_then(|v| v.get("history")) {
            if losses(h) != run_losses(run_dir)? {
                return Err(Error::bad_data(
                    run_dir.join(paths::run_files::HISTORY),
                    format!(
                        "is not the run {} reports (trained again since?): collect the \
                         section's results from this run first",
                        paths::relative(&results_path)
                    ),
                ));
            }
        }
        FILES
            .iter()
            .copied()
            .chain(run_dir.join(ADJUSTMENT).exists().then_some(ADJUSTMENT))
            .collect()
    };
    let out = folder(section).join(model);
    let files = copy_files(run_dir, &out, &names)?;
    let (test_accuracy, test_macro_f1, preds) = scored.map(adjusted).unwrap_or((0.0, 0.0, vec![]));
    Ok(Entry {
        section: section.into(),
        model: model.into(),
        files,
        data_hash,
        command: format!(
            "CHARLAB_THREADS=2 CHARLAB_CHANNELS_LAST={} {command}",
            u8::from(channels_last)
        ),
        results: paths::relative(&results_path),
        test_accuracy,
        test_macro_f1,
        test_images: preds.len(),
        channels_last,
    })
}

/// Exports section 6.1's best model on validation (see [`export_model`]) from its run folders
/// under `run_root`: the pretraining runs its networks were fine-tuned from, its networks
/// (a vote's members) and, for a vote, the vote; `command` trains them again.
pub fn export_levers_best(
    res: &crate::sections::levers::LeversResults,
    run_root: &Path,
    command: &str,
) -> Result<Vec<Entry>> {
    let section = paths::section::LEVERS;
    let Some(best) = &res.best else {
        return Err(Error::bad_data(
            paths::result(section),
            "names no best model yet: finish section 6.1 (`charlab levers --resume`)",
        ));
    };
    let vote = res.ensembles.iter().find(|e| e.name == best.model);
    let networks: Vec<String> = match vote {
        Some(v) => v.members.clone(),
        None => vec![best.model.clone()],
    };
    let mut names: Vec<String> = Vec::new();
    for n in &networks {
        let from = res
            .variants
            .iter()
            .find(|v| &v.variant.name == n)
            .and_then(|v| v.variant.pretrained.clone());
        if let Some(p) = from.map(|p| format!("pretrain-{p}")) {
            if !names.contains(&p) {
                names.push(p);
            }
        }
    }
    names.extend(networks);
    names.extend(vote.map(|v| v.name.clone()));
    // A run whose folder is not here but whose weights are committed (a pretraining run
    // reused from `weights/`) keeps its entry; one in neither place is an error below.
    let committed_only =
        |n: &str| !run_root.join(n).exists() && dir().join(section).join(n).is_dir();
    names
        .iter()
        .filter(|n| !committed_only(n))
        .map(|n| export_model(section, &run_root.join(n), n, command, res.channels_last))
        .collect()
}

/// Copies the finished run `run_dir` of `section` (whose results file is
/// `report/results/<section>.json`) into `weights/<section>/` and returns its manifest entry.
/// A file over [`MAX_FILE_BYTES`] is an error, and so is a results file made from another
/// run (other data or configuration).
pub fn export(section: &str, run_dir: &Path, command: &str) -> Result<Entry> {
    let results_path = paths::result(section);
    let res: NeuralResults<serde_json::Value> = paths::read_json(&results_path)?;
    let config: serde_json::Value = paths::read_json(&run_dir.join(paths::run_files::CONFIG))?;
    if config.get("data_hash").and_then(|h| h.as_str()) != Some(res.data_hash.as_str()) {
        return Err(Error::bad_data(
            run_dir.join(paths::run_files::CONFIG),
            format!(
                "was trained on other data than {} reports; train the run again or rewrite the \
                 results with `{command}`",
                paths::relative(&results_path)
            ),
        ));
    }
    let history =
        crate::training::run_folder::read_history_file(&run_dir.join(paths::run_files::HISTORY));
    let same = |a: &[crate::training::EpochRecord], b: &[crate::training::EpochRecord]| {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.val_loss == y.val_loss)
    };
    if !same(&history, &res.history) {
        return Err(Error::bad_data(
            run_dir.join(paths::run_files::HISTORY),
            format!(
                "holds {} epochs that are not the {} behind {}: finish the run and write its \
                 results with `{command}`",
                history.len(),
                res.history.len(),
                paths::relative(&results_path)
            ),
        ));
    }
    let files = copy_files(run_dir, &dir().join(section), &FILES)?;
    // The settings that change float rounding, as the run had them.
    let command = format!(
        "CHARLAB_THREADS={} CHARLAB_CHANNELS_LAST={} {command}",
        res.threads,
        u8::from(res.channels_last)
    );
    Ok(Entry {
        section: section.into(),
        model: String::new(),
        files,
        data_hash: res.data_hash,
        command,
        results: paths::relative(&results_path),
        test_accuracy: res.test_accuracy,
        test_macro_f1: res.test_macro_f1,
        test_images: res.test_predictions.len(),
        channels_last: res.channels_last,
    })
}

/// `weights/README.md`: how to check and use the weights, and a model card per entry (data,
/// training, test scores, most frequent confusions, what it is not for), every number from
/// the manifest and the results files.
pub fn model_cards(manifest: &Manifest) -> Result<String> {
    let mut s = String::from(
        "# Trained weights\n\n\
         Written by `charlab export-weights` from the runs behind the report's numbers; \
         `charlab verify` (or `make verify`) checks every file against `manifest.json` and \
         re-scores each network on the stand-in's test part. Each folder is a run folder that \
         `charlab predict --model weights/<section> --data <your train.pkl or EMNIST folder>` \
         loads to label images (56x56 binary, the 36 classes of the report).\n",
    );
    for e in &manifest.models {
        if !e.model.is_empty() {
            s.push_str(&model_card(e)?);
            continue;
        }
        let res: NeuralResults<serde_json::Value> =
            paths::read_json(&paths::root().join(&e.results))?;
        let k = res.per_class.len();
        let cm = ConfusionMatrix::from_counts(k, res.confusion.clone())?;
        let chars = crate::data::REPORT_CLASSES;
        let ch = |c: usize| chars.get(c).map_or('?', |x| *x);
        let confusions: Vec<String> = cm
            .most_confused(5)
            .iter()
            .map(|c| format!("{} read as {} ({})", ch(c.truth), ch(c.predicted), c.count))
            .collect();
        let size: u64 = e
            .files
            .keys()
            .filter_map(|f| std::fs::metadata(dir().join(&e.section).join(f)).ok())
            .map(|m| m.len())
            .sum();
        s.push_str(&format!(
            "\n## {section}\n\n\
             - **Network**: `{net}` in `config.json` under `model`, {params} parameters; \
             {mb:.1} MB in all.\n\
             - **Data**: the stand-in `train.pkl` (EMNIST ByClass test images in the report's \
             format, content hash `{hash}`), the report's random split: {tr} training, {va} \
             validation, {te} test images.\n\
             - **Training**: {epochs} epochs, the weights of epoch {best} (lowest validation \
             cross-entropy), on {device} with {threads} threads. Again: `{command}` (on another \
             CPU the float rounding differs, and so do the retrained numbers, a little).\n\
             - **Test scores**: accuracy {acc:.2}%, macro F1 {f1:.2}% on the {n} test images \
             (`{results}`).\n\
             - **Most frequent confusions** (true read as predicted, test images): {conf}.\n\
             - **Not for**: other image sizes or class sets, colour or grey-level images, \
             lower-case letters as a class of their own (the stand-in merges upper and lower case), \
             or any decision about people.\n",
            section = e.section,
            net = res
                .config
                .pointer("/model/variant")
                .and_then(|v| v.as_str())
                .map_or("cnn".to_string(), |v| format!("efficientnet-{v}")),
            params = res.parameters,
            mb = size as f64 / 1e6,
            hash = e.data_hash.get(..16).unwrap_or(&e.data_hash),
            tr = res.split_sizes.0,
            va = res.split_sizes.1,
            te = res.split_sizes.2,
            epochs = res.history.len(),
            best = res.best_epoch,
            device = res.device,
            threads = res.threads,
            command = e.command,
            acc = 100.0 * e.test_accuracy,
            f1 = 100.0 * e.test_macro_f1,
            n = e.test_images,
            results = e.results,
            conf = confusions.join(", "),
        ));
    }
    Ok(s)
}

/// The card of a model of a section of several (see [`export_model`]): the network and its
/// training from its `config.json` and history, or a vote's members, and the test scores.
fn model_card(e: &Entry) -> Result<String> {
    let folder = e.folder();
    let ens = folder.join(paths::run_files::ENSEMBLE);
    let what = if ens.exists() {
        let spec: crate::inference::EnsembleSpec = paths::read_json(&ens)?;
        let members: Vec<String> = spec
            .members
            .iter()
            .map(|m| format!("`{}`", m.display()))
            .collect();
        let adjusted = if spec.adjusted_members {
            "each member's logits adjusted as its own run chose, then voted"
        } else {
            "logit-adjusted after the vote"
        };
        format!(
            "a {} vote of {} (folders beside this one), {adjusted}",
            spec.rule,
            members.join(", ")
        )
    } else {
        let config: serde_json::Value = paths::read_json(&folder.join(paths::run_files::CONFIG))?;
        let history =
            crate::training::run_folder::read_history_file(&folder.join(paths::run_files::HISTORY));
        let net = config
            .get("net")
            .and_then(|v| v.as_str())
            .unwrap_or("network");
        let init = if e.model.starts_with("pretrain-") {
            "on the pretraining corpus"
        } else {
            config
                .get("init")
                .and_then(|v| v.as_str())
                .unwrap_or("scratch")
        };
        let adjusted = if folder.join(paths::run_files::ADJUSTMENT).exists() {
            ", its logits adjusted for the training prior (`adjustment.json`)"
        } else {
            ""
        };
        format!(
            "`{net}`, {} epochs ({init}), the weights of the epoch with the lowest validation \
             cross-entropy{adjusted}",
            history.len()
        )
    };
    let scores = if e.test_images == 0 {
        "none: a pretraining run, the start of the fine-tuned variants; `charlab verify` \
         checks its hashes and loads it"
            .to_string()
    } else {
        format!(
            "accuracy {:.2}%, macro F1 {:.2}% on the {} test images after logit adjustment \
             (`{}`)",
            100.0 * e.test_accuracy,
            100.0 * e.test_macro_f1,
            e.test_images,
            e.results
        )
    };
    Ok(format!(
        "\n## {name}\n\n\
         - **Model**: {what}.\n\
         - **Data**: the stand-in `train.pkl` (content hash `{hash}`), {data}.\n\
         - **Training again**: `{command}`.\n\
         - **Test scores**: {scores}.\n\
         - **Not for**: other image sizes or class sets, lower-case letters as a class of \
         their own, or any decision about people.\n",
        name = e.name(),
        data = if e.section == paths::section::CV {
            "the report's random split; each fold model fitted on four of the five folds of \
             its training and validation parts (a stratified share of them kept for the \
             checkpoint and the logit adjustment), scored on the test part"
        } else {
            "the report's random split; pretraining runs on the corpus named in `config.json`"
        },
        hash = e.data_hash.get(..16).unwrap_or(&e.data_hash),
        command = e.command,
    ))
}
