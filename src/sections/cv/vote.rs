//! Ensembles by vote over the fold models, on the test part: for each cross-validated model,
//! the hard majority vote (the report's proposal) of its fold models and, for a network, the
//! soft vote (mean probability); across models, the majority of the three best models by
//! held-out macro F1 and the soft vote of every network fold model. Each is set beside its
//! best member, the member with the highest held-out macro F1 (chosen without the test part).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use tch::Tensor;

use super::config::CvKind;
use super::fold::{fold_dir, read_test_logits, FoldRecord};
use super::records;
use super::ModelCv;
use crate::data::Dataset;
use crate::inference::{majority_of_labels, soft_vote, EnsembleSpec};
use crate::metrics::ConfusionMatrix;
use crate::split::PoolFolds;
use crate::{paths, Error, Result};

/// One ensemble on the test part, beside its best member.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnsembleResult {
    /// Name, e.g. `cnn: majority of 5 folds`.
    pub name: String,
    /// `majority` or `soft`.
    pub rule: String,
    /// Members (`model/fold-N`, or model names for a vote across models).
    pub members: Vec<String>,
    /// Test accuracy (fraction).
    pub test_accuracy: f64,
    /// Test macro F1 (fraction).
    pub test_macro_f1: f64,
    /// Per-class test F1 (by class index).
    pub per_class_f1: Vec<f64>,
    /// The member with the highest held-out macro F1.
    pub best_member: String,
    /// Its test accuracy.
    pub best_member_test_accuracy: f64,
    /// Its test macro F1.
    pub best_member_test_macro_f1: f64,
    /// Its per-class test F1.
    pub best_member_per_class_f1: Vec<f64>,
    /// The ensemble folder `charlab predict --model` loads (`ensemble.json`), for the soft
    /// votes of a network's fold models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_dir: Option<String>,
}

fn scores(data: &Dataset, test: &[usize], pred: &[usize]) -> Result<(f64, f64, Vec<f64>)> {
    let truth: Vec<usize> = test.iter().map(|&i| data.labels()[i]).collect();
    let cm = ConfusionMatrix::new(&truth, pred, data.n_classes())?;
    Ok((
        cm.accuracy(),
        cm.macro_f1(),
        cm.per_class().iter().map(|c| c.f1).collect(),
    ))
}

fn argmax(t: &Tensor) -> Result<Vec<usize>> {
    Ok(Vec::<i64>::try_from(&t.argmax(-1, false))?
        .into_iter()
        .map(|v| v.max(0) as usize)
        .collect())
}

/// Members' test predictions, best (held-out macro F1) first.
struct Members {
    names: Vec<String>,
    preds: Vec<Vec<usize>>,
}

fn result(
    data: &Dataset,
    test: &[usize],
    name: String,
    rule: &str,
    members: &Members,
    pred: &[usize],
) -> Result<EnsembleResult> {
    let (a, f, pc) = scores(data, test, pred)?;
    let (ba, bf, bpc) = scores(data, test, &members.preds[0])?;
    Ok(EnsembleResult {
        name,
        rule: rule.into(),
        members: members.names.clone(),
        test_accuracy: a,
        test_macro_f1: f,
        per_class_f1: pc,
        best_member: members.names[0].clone(),
        best_member_test_accuracy: ba,
        best_member_test_macro_f1: bf,
        best_member_per_class_f1: bpc,
        run_dir: None,
    })
}

/// Writes `<model>/fold-vote/ensemble.json`: the soft vote of the fold models in `order`, each
/// with the logit adjustment its fold chose (as the vote on the test part was scored), which
/// [`crate::inference::Predictor`] loads. Returns the folder.
fn write_fold_vote(model: &str, order: &[usize]) -> Result<String> {
    let dir = super::run_root().join(model).join("fold-vote");
    let spec = EnsembleSpec {
        members: order
            .iter()
            .map(|&f| PathBuf::from("..").join(format!("fold-{}", f + 1)))
            .collect(),
        rule: "soft".into(),
        adjustment: None,
        adjusted_members: true,
    };
    paths::write_json(&dir.join(paths::run_files::ENSEMBLE), &spec)?;
    Ok(paths::relative(&dir))
}

/// The soft vote `name`'s test predictions over fold models with these keys and test logits:
/// computed and recorded ([`records`]) when every member's logits are here, else the recorded
/// ones over the same members; an error naming the record when neither.
fn soft_or_recorded(name: &str, keys: &[String], logits: &[Option<Tensor>]) -> Result<Vec<usize>> {
    let members = paths::sha256_bytes(keys.join(" ").as_bytes());
    let all: Option<Vec<&Tensor>> = logits.iter().map(Option::as_ref).collect();
    match all {
        Some(refs) => {
            let pred = argmax(&soft_vote(&refs)?)?;
            records::write_soft_vote(name, &members, &pred)?;
            Ok(pred)
        }
        None => records::soft_vote(name, &members)?.ok_or_else(|| {
            Error::bad_data(
                records::dir().join(name).join("soft-vote.json"),
                format!(
                    "the soft vote {name} needs its fold models' test logits \
                     (test-logits.safetensors), which are not all here, and is not recorded \
                     for these folds: fit them again on one machine (remove their records \
                     under {} and run `charlab cv --resume`)",
                    paths::relative(&records::dir())
                ),
            )
        }),
    }
}

/// Fold order of `m`, best held-out macro F1 first.
fn ranked_folds(m: &ModelCv) -> Vec<usize> {
    let mut order: Vec<usize> = (0..m.folds.len()).collect();
    order.sort_by(|&a, &b| {
        m.folds[b]
            .heldout_macro_f1
            .total_cmp(&m.folds[a].heldout_macro_f1)
    });
    order
}

/// Every ensemble over the models whose `folds` folds have all finished.
pub(crate) fn ensembles(
    data: &Dataset,
    folds: &PoolFolds,
    models: &[ModelCv],
    n_folds: usize,
) -> Result<Vec<EnsembleResult>> {
    let k = data.n_classes();
    let test = &folds.test;
    let mut out = Vec::new();
    // (model, its fold-majority prediction, mean held-out macro F1)
    let mut per_model: Vec<(String, Vec<usize>, f64)> = Vec::new();
    // (held-out macro F1, key, test logits when this machine has them) of each network fold
    let mut net_logits: Vec<(f64, String, Option<Tensor>)> = Vec::new();
    for m in models.iter().filter(|m| m.complete(n_folds)) {
        let name = &m.model.name;
        let order = ranked_folds(m);
        let mut members = Members {
            names: Vec::new(),
            preds: Vec::new(),
        };
        let mut keys = Vec::new();
        for &f in &order {
            let file = fold_dir(name, f).join("fold.json");
            let rec: FoldRecord = records::read(&file)?
                .ok_or_else(|| Error::bad_data(&file, "missing: fit this fold again"))?;
            members.names.push(format!("{name}/fold-{}", f + 1));
            members.preds.push(rec.test_predictions);
            keys.push(rec.key);
        }
        let refs: Vec<&[usize]> = members.preds.iter().map(Vec::as_slice).collect();
        let maj = majority_of_labels(&refs, k);
        out.push(result(
            data,
            test,
            format!("{}: majority of {n_folds} folds", m.model.label),
            "majority",
            &members,
            &maj,
        )?);
        if matches!(m.model.kind, CvKind::Net { .. }) {
            let logits: Vec<Option<Tensor>> = order
                .iter()
                .map(|&f| read_test_logits(name, f).ok())
                .collect();
            let soft = soft_or_recorded(name, &keys, &logits)?;
            let mut r = result(
                data,
                test,
                format!("{}: soft vote of {n_folds} folds", m.model.label),
                "soft",
                &members,
                &soft,
            )?;
            r.run_dir = Some(write_fold_vote(name, &order)?);
            out.push(r);
            for ((&f, l), key) in order.iter().zip(logits).zip(keys) {
                net_logits.push((m.folds[f].heldout_macro_f1, key, l));
            }
        }
        per_model.push((name.clone(), maj, m.heldout_macro_f1.mean));
    }
    per_model.sort_by(|a, b| b.2.total_cmp(&a.2));
    if per_model.len() >= 3 {
        let top = &per_model[..3];
        let members = Members {
            names: top.iter().map(|p| p.0.clone()).collect(),
            preds: top.iter().map(|p| p.1.clone()).collect(),
        };
        let refs: Vec<&[usize]> = members.preds.iter().map(Vec::as_slice).collect();
        out.push(result(
            data,
            test,
            "top 3 models: majority of their fold majorities".into(),
            "majority",
            &members,
            &majority_of_labels(&refs, k),
        )?);
    }
    let ranked_nets: Vec<&(String, Vec<usize>, f64)> = per_model
        .iter()
        .filter(|p| {
            models
                .iter()
                .any(|m| m.model.name == p.0 && matches!(m.model.kind, CvKind::Net { .. }))
        })
        .collect();
    if ranked_nets.len() >= 2 {
        net_logits.sort_by(|a, b| b.0.total_cmp(&a.0));
        let (keys, logits): (Vec<String>, Vec<Option<Tensor>>) =
            net_logits.into_iter().map(|(_, k, l)| (k, l)).unzip();
        let soft = soft_or_recorded("all-networks", &keys, &logits)?;
        let members = Members {
            names: ranked_nets.iter().map(|p| p.0.clone()).collect(),
            preds: vec![ranked_nets[0].1.clone()],
        };
        out.push(result(
            data,
            test,
            format!(
                "all {} networks x {n_folds} folds: soft vote",
                ranked_nets.len()
            ),
            "soft",
            &members,
            &soft,
        )?);
    }
    Ok(out)
}
