//! Section 6.2's best fold vote in `weights/06.2-cv/<model>/`: its five fold models (run
//! folders `fold-N/`, each with the logit adjustment its fold chose) and the vote
//! (`fold-vote/ensemble.json`, members `../fold-N`), as `charlab predict --model` loads them.
//! A fold model reproduces its record's test predictions
//! (`report/results/06.2-cv/<model>/fold-N/fold.json`), the vote the recorded soft vote's
//! (`report/results/06.2-cv/<model>/soft-vote.json`) and its scores in `06.2-cv.json`.

use std::path::Path;

use super::{copy_files, Entry, FILES};
use crate::data::Dataset;
use crate::paths::{self, run_files, section};
use crate::sections::cv::{self, CvKind, CvResults};
use crate::{Error, Result};

/// The model whose fold vote ships: of the networks cross-validated on every fold, the one
/// with the highest mean held-out macro F1 (chosen without the test part).
pub fn best_network(res: &CvResults) -> Option<&str> {
    res.models
        .iter()
        .filter(|m| matches!(m.model.kind, CvKind::Net { .. }))
        .filter(|m| m.folds.len() == res.config.folds)
        .max_by(|a, b| a.heldout_macro_f1.mean.total_cmp(&b.heldout_macro_f1.mean))
        .map(|m| m.model.name.as_str())
}

/// The fold vote of `model` in `res`: its ensemble result (the soft vote with a folder).
fn vote_of<'a>(res: &'a CvResults, model: &str) -> Option<&'a cv::EnsembleResult> {
    let dir = format!("{model}/fold-vote");
    res.ensembles
        .iter()
        .find(|e| e.rule == "soft" && e.run_dir.as_deref().is_some_and(|d| d.ends_with(&dir)))
}

/// Exports [`best_network`]'s fold models and fold vote from its run folders under
/// `run_root` (`data/models/06.2-cv/`) into `weights/06.2-cv/<model>/`; `command` trains them
/// again. An error naming what is missing when the model has not finished every fold here.
pub fn export_fold_vote(res: &CvResults, run_root: &Path, command: &str) -> Result<Vec<Entry>> {
    let results = paths::result(section::CV);
    let model = best_network(res).ok_or_else(|| {
        Error::bad_data(
            &results,
            "has no network cross-validated on every fold: finish section 6.2 (`charlab cv \
             --resume`)",
        )
    })?;
    let vote = vote_of(res, model).ok_or_else(|| {
        Error::bad_data(
            &results,
            format!("has no soft vote of {model}'s fold models"),
        )
    })?;
    let test_images = res.test_images;
    let entry = |sub: &str, files, results: &Path, acc: f64, f1: f64| Entry {
        section: section::CV.into(),
        model: format!("{model}/{sub}"),
        files,
        data_hash: res.data_hash.clone(),
        command: format!(
            "CHARLAB_THREADS=2 CHARLAB_CHANNELS_LAST={} {command}",
            u8::from(res.channels_last)
        ),
        results: paths::relative(results),
        test_accuracy: acc,
        test_macro_f1: f1,
        test_images,
        channels_last: res.channels_last,
    };
    let mut out = Vec::new();
    for f in 0..res.config.folds {
        let sub = format!("fold-{}", f + 1);
        let from = run_root.join(model).join(&sub);
        if !from.join(run_files::BEST_WEIGHTS).is_file() {
            return Err(Error::bad_data(
                &from,
                format!("holds no finished fold model: run `{command}` on this machine first"),
            ));
        }
        let (record, rec) = cv::fold_test_record(model, f)?;
        let Some(score) = rec else {
            return Err(Error::bad_data(
                &record,
                "missing: collect section 6.2 first",
            ));
        };
        let (acc, f1) = (score.test_accuracy, score.test_macro_f1);
        let names: Vec<&str> = FILES
            .iter()
            .copied()
            .chain([run_files::ADJUSTMENT])
            .collect();
        let files = copy_files(
            &from,
            &super::folder(section::CV).join(model).join(&sub),
            &names,
        )?;
        out.push(entry(&sub, files, &record, acc, f1));
    }
    let from = run_root.join(model).join("fold-vote");
    let files = copy_files(
        &from,
        &super::folder(section::CV).join(model).join("fold-vote"),
        &[run_files::ENSEMBLE],
    )?;
    out.push(entry(
        "fold-vote",
        files,
        &results,
        vote.test_accuracy,
        vote.test_macro_f1,
    ));
    Ok(out)
}

/// What a section 6.2 entry must reproduce: its test accuracy and macro F1 in the committed
/// results, and the test predictions recorded for it.
pub(super) fn expected(e: &Entry) -> Result<((f64, f64), Vec<usize>)> {
    let results = paths::root().join(&e.results);
    let (model, sub) = e.model.rsplit_once('/').unwrap_or((e.model.as_str(), ""));
    if sub == "fold-vote" {
        let res: CvResults = paths::read_json(&results)?;
        let vote = vote_of(&res, model).ok_or_else(|| {
            Error::bad_data(
                &results,
                format!(
                    "has no soft vote of {model}'s fold models, which weights/manifest.json \
                     lists: re-export the weights (`charlab export-weights`)"
                ),
            )
        })?;
        let (record, pred) = cv::fold_vote_record(model)?;
        let pred = pred.ok_or_else(|| Error::bad_data(&record, "missing: collect section 6.2"))?;
        return Ok(((vote.test_accuracy, vote.test_macro_f1), pred));
    }
    let rec: serde_json::Value = paths::read_json(&results)?;
    let num = |p: &str| rec.pointer(p).and_then(serde_json::Value::as_f64);
    let pred: Option<Vec<usize>> = rec
        .get("test_predictions")
        .and_then(|v| serde_json::from_value(v.clone()).ok());
    match (
        num("/score/test_accuracy"),
        num("/score/test_macro_f1"),
        pred,
    ) {
        (Some(a), Some(f), Some(p)) => Ok(((a, f), p)),
        _ => Err(Error::bad_data(
            &results,
            "is not a fold record (no score and test predictions): restore it with `git \
             checkout`",
        )),
    }
}

/// The test part section 6.2 scores on: its split's (seed from `06.2-cv.json`).
pub(super) fn test_part(data: &Dataset) -> Result<Vec<usize>> {
    let res: serde_json::Value = paths::read_json(&paths::result(section::CV))?;
    let seed = res
        .pointer("/config/split_seed")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0);
    Ok(crate::split::random_split(data.len(), seed)?.test)
}
