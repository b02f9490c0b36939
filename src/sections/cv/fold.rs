//! One model in one fold: fitted on the other folds, scored on the held-out fold and on the
//! test part; its scores and test predictions kept in the fold's folder (`fold.json`, and a
//! network's adjusted test logits in `test-logits.safetensors`) so it is never fitted twice.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tch::Tensor;

use super::config::{CvConfig, CvKind, CvModel};
use super::run_root;
use crate::data::Dataset;
use crate::inference::adjusted_predictions;
use crate::jobs::Pass;
use crate::metrics::ConfusionMatrix;
use crate::models::svm::Svm;
use crate::sections::baselines::{self, ModelResult};
use crate::sections::levers::{self, Variant};
use crate::split::{self, Fold, Split};
use crate::{paths, Error, Result};

/// One fold model's scores (fractions).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FoldScore {
    /// Fold (from 0).
    pub fold: usize,
    /// Images it was fitted on (a network's inner validation part excluded).
    pub fit_images: usize,
    /// Held-out images.
    pub heldout_images: usize,
    /// Accuracy on the held-out fold.
    pub heldout_accuracy: f64,
    /// Macro F1 on the held-out fold.
    pub heldout_macro_f1: f64,
    /// Macro F1 on the held-out fold over the classes its fit part has images of: a class
    /// whose every image is held out (class 30's single one, in one fold) cannot be learned,
    /// and the test split's macro F1 leaves it out too, because test lacks it (`None` in
    /// results written before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heldout_macro_f1_learnable: Option<f64>,
    /// Accuracy on the test part.
    pub test_accuracy: f64,
    /// Macro F1 on the test part.
    pub test_macro_f1: f64,
    /// Logit adjustment picked on the inner validation part (0 for the pixel models).
    pub tau: f64,
    /// Seconds to fit.
    pub seconds: f64,
}

/// What a fold's folder keeps: the key it was computed for, its scores and test predictions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct FoldRecord {
    pub key: String,
    pub score: FoldScore,
    pub test_predictions: Vec<usize>,
}

/// Folder of `model`'s fold `f`.
pub(crate) fn fold_dir(model: &str, f: usize) -> PathBuf {
    run_root().join(model).join(format!("fold-{}", f + 1))
}

/// A digest of everything a fold's result depends on.
pub(crate) fn key(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    h.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub(crate) fn indices_digest(idx: &[usize]) -> String {
    let mut h = Sha256::new();
    for &i in idx {
        h.update((i as u64).to_le_bytes());
    }
    h.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The record in `dir` if it was computed for `key`.
pub(crate) fn cached(dir: &Path, key: &str) -> Result<Option<FoldRecord>> {
    let rec: Option<FoldRecord> = super::records::read(&dir.join("fold.json"))?;
    Ok(rec.filter(|r| r.key == key))
}

fn truths(data: &Dataset, idx: &[usize]) -> Vec<usize> {
    idx.iter().map(|&i| data.labels()[i]).collect()
}

/// Macro F1 of `pred` on `heldout` over the classes `fit` has images of
/// ([`FoldScore::heldout_macro_f1_learnable`]).
fn learnable_macro_f1(
    data: &Dataset,
    fit: &[usize],
    heldout: &[usize],
    pred: &[usize],
) -> Result<f64> {
    let mut seen = vec![false; data.n_classes()];
    for &i in fit {
        seen[data.labels()[i]] = true;
    }
    let classes: Vec<usize> = (0..seen.len()).filter(|&c| seen[c]).collect();
    let cm = ConfusionMatrix::new(&truths(data, heldout), pred, data.n_classes())?;
    Ok(cm.macro_f1_over(&classes))
}

fn acc_f1(data: &Dataset, idx: &[usize], pred: &[usize]) -> Result<(f64, f64)> {
    let cm = ConfusionMatrix::new(&truths(data, idx), pred, data.n_classes())?;
    Ok((cm.accuracy(), cm.macro_f1()))
}

/// The unit id of `model`'s fold `f` (its folder relative to the section's run folder).
pub(crate) fn fold_id(model: &str, f: usize) -> String {
    format!("{model}/fold-{}", f + 1)
}

/// The key of `model`'s fold: the model, the data, the fold's images, the test part and the
/// inner validation share and seed.
pub(crate) fn fold_key(
    data: &Dataset,
    model: &CvModel,
    config: &CvConfig,
    fold: &Fold,
    test: &[usize],
) -> Result<String> {
    let kind = serde_json::to_string(&model.kind).map_err(|source| Error::Json {
        path: fold_dir(&model.name, 0).join("fold.json"),
        source,
    })?;
    Ok(key(&[
        &kind,
        &data.content_hash(),
        &indices_digest(&fold.train),
        &indices_digest(&fold.test),
        &indices_digest(test),
        &format!("{} {}", config.inner_validation, config.fold_seed),
    ]))
}

/// Fits `model` on `fold`'s training images (reusing `fold.json` when the pass resumes and it
/// matches), scores the held-out images and `test`. `None` (the unit added to `missing`) when
/// the fold has not finished and `pass` does not compute it.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_fold(
    data: &Dataset,
    model: &CvModel,
    config: &CvConfig,
    f: usize,
    fold: &Fold,
    test: &[usize],
    pass: Pass,
    missing: &mut Vec<String>,
) -> Result<Option<FoldScore>> {
    let dir = fold_dir(&model.name, f);
    let k = fold_key(data, model, config, fold, test)?;
    if pass.resume() {
        if let Some(rec) = cached(&dir, &k)? {
            return Ok(Some(rec.score));
        }
    }
    let id = fold_id(&model.name, f);
    if !pass.computes(&id) {
        missing.push(id);
        return Ok(None);
    }
    let resume = pass.resume();
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let (score, preds) = match &model.kind {
        CvKind::Logreg { params } => {
            let (m, r) = baselines::fit_logreg(data, &pixel_split(fold), params)?;
            pixel_score(
                data,
                f,
                fold,
                test,
                &r,
                m.predict(data.features(test).view())?,
            )?
        }
        CvKind::Svm { params } => {
            let (m, r): (Svm, _) =
                baselines::fit_svm(data, &pixel_split(fold), params, &model.name)?;
            pixel_score(data, f, fold, test, &r, m.predict(&data.pixel_rows(test))?)?
        }
        CvKind::Net {
            net,
            train,
            pretrained,
            tau_grid,
        } => {
            let net = net.with_classes(data.n_classes());
            let labels = truths(data, &fold.train);
            let n_val = ((fold.train.len() as f64) * config.inner_validation).round() as usize;
            let inner =
                split::stratified_split_sizes(&labels, n_val, 0, config.fold_seed + f as u64)?;
            let split = Split {
                train: inner.train.iter().map(|&p| fold.train[p]).collect(),
                validation: inner.validation.iter().map(|&p| fold.train[p]).collect(),
                test: fold.test.clone(),
            };
            let init = match pretrained {
                Some(name) => {
                    let path = levers::run_root()
                        .join(format!("pretrain-{name}"))
                        .join("best.safetensors");
                    if !levers::checkpoint(&path, data).is_file() {
                        return Err(Error::bad_data(
                            &path,
                            format!(
                                "{} starts from section 6.1's pretraining run `{name}`, which has \
                                 not run on this data: run `charlab pretrain` with the same \
                                 --data first",
                                model.name
                            ),
                        ));
                    }
                    Some(path)
                }
                None => None,
            };
            let variant = Variant {
                name: format!("{}-fold{}", model.name, f + 1),
                net: net.clone(),
                pretrained: pretrained.clone(),
                train: train.clone(),
            };
            let (vr, _, _) = levers::run_variant(
                data,
                &variant,
                &split,
                init.as_deref(),
                tau_grid,
                &dir,
                resume,
            )?;
            // The adjustment the variant chose and saved (what `Predictor` applies too).
            let adjustment: crate::inference::Adjustment =
                paths::read_json(&dir.join(paths::run_files::ADJUSTMENT))?;
            let logits = test_logits(data, test, &dir)?;
            let adjusted = adjustment.apply(logits);
            let k = adjustment.log_prior.len();
            crate::training::write_tensors(
                &[("logits".to_string(), adjusted.shallow_clone())],
                &dir.join("test-logits.safetensors"),
            )?;
            let preds = adjusted_predictions(&adjusted, &vec![0.0; k], 0.0)?;
            let (ta, tf) = acc_f1(data, test, &preds)?;
            let score = FoldScore {
                fold: f,
                fit_images: split.train.len(),
                heldout_images: fold.test.len(),
                heldout_accuracy: vr.scored.test.adjusted_accuracy,
                heldout_macro_f1: vr.scored.test.adjusted_macro_f1,
                heldout_macro_f1_learnable: Some(learnable_macro_f1(
                    data,
                    &split.train,
                    &fold.test,
                    &vr.scored.test_predictions,
                )?),
                test_accuracy: ta,
                test_macro_f1: tf,
                tau: vr.scored.tau,
                seconds: vr.train_seconds,
            };
            (score, preds)
        }
    };
    super::records::write(
        &dir.join("fold.json"),
        &FoldRecord {
            key: k,
            score: score.clone(),
            test_predictions: preds,
        },
    )?;
    Ok(Some(score))
}

/// A fold as the pixel models' split: fitted on the training folds (their `validation` is
/// empty), scored on the held-out fold.
pub(crate) fn pixel_split(fold: &Fold) -> Split {
    Split {
        train: fold.train.clone(),
        validation: Vec::new(),
        test: fold.test.clone(),
    }
}

fn pixel_score(
    data: &Dataset,
    f: usize,
    fold: &Fold,
    test: &[usize],
    heldout: &ModelResult,
    preds: Vec<usize>,
) -> Result<(FoldScore, Vec<usize>)> {
    let (ta, tf) = acc_f1(data, test, &preds)?;
    Ok((
        FoldScore {
            fold: f,
            fit_images: fold.train.len(),
            heldout_images: fold.test.len(),
            heldout_accuracy: heldout.test.accuracy,
            heldout_macro_f1: heldout.test.macro_f1,
            heldout_macro_f1_learnable: Some(learnable_macro_f1(
                data,
                &fold.train,
                &fold.test,
                &heldout.test.predictions,
            )?),
            test_accuracy: ta,
            test_macro_f1: tf,
            tau: 0.0,
            seconds: heldout.fit_seconds,
        },
        preds,
    ))
}

/// Raw logits on `idx` of the network whose run folder is `dir` (scored as the folds were
/// scored: convolutions in the usual layout, whatever the settings say).
pub(crate) fn test_logits(data: &Dataset, idx: &[usize], dir: &Path) -> Result<Tensor> {
    crate::training::Trained::load_as(dir, false)?.logits(data, idx)
}

/// A finished fold's adjusted test logits (networks only).
pub(crate) fn read_test_logits(model: &str, f: usize) -> Result<Tensor> {
    let path = fold_dir(model, f).join("test-logits.safetensors");
    let named =
        Tensor::read_safetensors(&path).map_err(|e| Error::bad_data(&path, e.to_string()))?;
    named
        .into_iter()
        .find(|(n, _)| n == "logits")
        .map(|(_, t)| t)
        .ok_or_else(|| Error::bad_data(&path, "no `logits` tensor: rerun the fold"))
}
