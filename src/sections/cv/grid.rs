//! Grid searches: logistic regression's `C` and the SVM's `C` x `gamma` scored by stratified
//! k-fold cross-validation on the pool, the CNN's dropout x learning rate scored on the
//! report's validation part. Every point of every fold is kept in its folder under
//! `data/models/06.2-cv/grid/`.

use serde::{Deserialize, Serialize};

use super::config::{CnnGrid, CvKind, CvModel, GridConfig};
use super::fold::{indices_digest, key};
use super::run_root;
use crate::data::Dataset;
use crate::metrics::MeanStd;
use crate::models::logreg::LogRegParams;
use crate::models::svm::{Gamma, SvmParams};
use crate::models::Net;
use crate::sections::baselines;
use crate::sections::levers::{self, Variant};
use crate::split::PoolFolds;
use crate::split::{self, Split};
use crate::training::TrainParams;
use crate::tuning::{CnnPoint, GridPoint, GridResults};
use crate::{paths, Error, Result};

/// scikit-learn's `gamma = "scale"` on the pool: `1 / (pixels * variance of all pixels)`.
pub(crate) fn scale_gamma(data: &Dataset, pool: &[usize]) -> f64 {
    let (mut s, mut s2, mut n) = (0.0f64, 0.0f64, 0.0f64);
    for &i in pool {
        for &p in data.image(i) {
            let v = f64::from(p);
            s += v;
            s2 += v * v;
            n += 1.0;
        }
    }
    let mean = s / n.max(1.0);
    let var = (s2 / n.max(1.0) - mean * mean).max(1e-12);
    1.0 / (data.pixels() as f64 * var)
}

/// A grid point's score in one fold (`fold.json` of its folder).
#[derive(Serialize, Deserialize)]
struct GridFold {
    key: String,
    accuracy: f64,
    macro_f1: f64,
    seconds: f64,
}

/// Cross-validates one point: `fit(split)` fits on a fold's training images and returns its
/// (accuracy, macro F1, seconds) on the held-out images.
fn point(
    name: &str,
    data: &Dataset,
    folds: &PoolFolds,
    what: &str,
    resume: bool,
    progress: &mut dyn FnMut(&str),
    mut fit: impl FnMut(&Split) -> Result<(f64, f64, f64)>,
) -> Result<(MeanStd, MeanStd, f64)> {
    let (mut acc, mut f1, mut secs) = (Vec::new(), Vec::new(), 0.0);
    for (f, fold) in folds.folds.iter().enumerate() {
        let dir = run_root()
            .join("grid")
            .join(name)
            .join(format!("fold-{}", f + 1));
        let k = key(&[what, &data.content_hash(), &indices_digest(&fold.test)]);
        let file = dir.join("fold.json");
        let saved = paths::read_json::<GridFold>(&file)
            .ok()
            .filter(|g| resume && g.key == k);
        let score = match saved {
            Some(g) => g,
            None => {
                progress(&format!(
                    "grid {name}: fold {} of {}",
                    f + 1,
                    folds.folds.len()
                ));
                let (accuracy, macro_f1, seconds) = fit(&super::fold::pixel_split(fold))?;
                let g = GridFold {
                    key: k,
                    accuracy,
                    macro_f1,
                    seconds,
                };
                std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
                paths::write_json(&file, &g)?;
                g
            }
        };
        acc.push(score.accuracy);
        f1.push(score.macro_f1);
        secs += score.seconds;
    }
    Ok((MeanStd::of(&acc), MeanStd::of(&f1), secs))
}

/// Logistic regression over `grid.logreg_c` (the other parameters as Table 1's).
pub(crate) fn logreg(
    data: &Dataset,
    folds: &PoolFolds,
    grid: &GridConfig,
    resume: bool,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<GridPoint>> {
    let mut out = Vec::new();
    for &c in &grid.logreg_c {
        let params = LogRegParams {
            c,
            ..LogRegParams::default()
        };
        let what = format!("logreg {params:?}");
        let (accuracy, macro_f1, seconds) = point(
            &format!("logreg-c{c}"),
            data,
            folds,
            &what,
            resume,
            progress,
            |s| {
                let (_, r) = baselines::fit_logreg(data, s, &params)?;
                Ok((r.accuracy, r.macro_f1, r.fit_seconds))
            },
        )?;
        out.push(GridPoint {
            c,
            gamma_factor: None,
            gamma: None,
            accuracy,
            macro_f1,
            seconds,
        });
    }
    Ok(out)
}

/// The SVM over `grid.svm_c` x `grid.svm_gamma_factor` (Table 1's iteration cap).
pub(crate) fn svm(
    data: &Dataset,
    folds: &PoolFolds,
    grid: &GridConfig,
    resume: bool,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<GridPoint>> {
    let scale = scale_gamma(data, &folds.pool);
    let mut out = Vec::new();
    for &c in &grid.svm_c {
        for &g in &grid.svm_gamma_factor {
            let params = svm_params(c, g * scale);
            let what = format!("svm {params:?}");
            let name = format!("svm-c{c}-g{g}");
            let (accuracy, macro_f1, seconds) =
                point(&name, data, folds, &what, resume, progress, |s| {
                    let (_, r) = baselines::fit_svm(data, s, &params, "svm")?;
                    Ok((r.accuracy, r.macro_f1, r.fit_seconds))
                })?;
            out.push(GridPoint {
                c,
                gamma_factor: Some(g),
                gamma: Some(g * scale),
                accuracy,
                macro_f1,
                seconds,
            });
        }
    }
    Ok(out)
}

fn svm_params(c: f64, gamma: f64) -> SvmParams {
    SvmParams {
        c,
        gamma: Gamma::Value(gamma),
        max_iter: Some(1000),
        ..SvmParams::default()
    }
}

/// The grids' chosen logistic regression and SVM, as models to cross-validate beside the
/// configured ones (`logreg-tuned`, `svm-tuned`), when the grids ran.
pub(crate) fn tuned_models(models: &[CvModel], grid: &GridResults) -> Vec<CvModel> {
    let mut out = Vec::new();
    if let Some(p) = grid.best_logreg() {
        out.push(CvModel {
            name: "logreg-tuned".into(),
            label: format!("Logistic regression, C = {}", p.c),
            kind: CvKind::Logreg {
                params: LogRegParams {
                    c: p.c,
                    ..LogRegParams::default()
                },
            },
        });
    }
    // Table 1's SVM is `gamma = scale`: the grid's factor 1 at its `C` is that model.
    let table1_svm = |p: &GridPoint| {
        p.gamma_factor == Some(1.0)
            && models.iter().any(|m| {
                matches!(&m.kind, CvKind::Svm { params } if params.gamma == Gamma::Scale && params.c == p.c)
            })
    };
    if let Some(p) = grid.best_svm().filter(|p| !table1_svm(p)) {
        out.push(CvModel {
            name: "svm-tuned".into(),
            label: format!(
                "RBF SVM, C = {}, gamma = {} x scale",
                p.c,
                p.gamma_factor.unwrap_or(1.0)
            ),
            kind: CvKind::Svm {
                params: svm_params(p.c, p.gamma.unwrap_or(1.0)),
            },
        });
    }
    // A chosen setting that is a configured model's already is not run twice.
    out.retain(|t| {
        !models
            .iter()
            .any(|m| m.name == t.name || same_fit(&m.kind, &t.kind))
    });
    out
}

/// Whether two pixel models fit the same way.
fn same_fit(a: &CvKind, b: &CvKind) -> bool {
    match (a, b) {
        (CvKind::Logreg { params: x }, CvKind::Logreg { params: y }) => x == y,
        (CvKind::Svm { params: x }, CvKind::Svm { params: y }) => x == y,
        _ => false,
    }
}

/// The CNN grid: each (dropout, rate) trained on the report's training part, scored on its
/// validation part (the test part is not touched).
pub(crate) fn cnn(
    data: &Dataset,
    split_seed: u64,
    g: &CnnGrid,
    resume: bool,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<CnnPoint>> {
    let split = split::random_split(data.len(), split_seed)?;
    // Scored on validation only: the "test" part given to the runner is the validation part.
    let scoring = Split {
        train: split.train.clone(),
        validation: split.validation.clone(),
        test: split.validation.clone(),
    };
    let mut out = Vec::new();
    for &(cd, hd) in &g.dropouts {
        for &lr in &g.rates {
            let mut p = g.net.clone();
            p.conv_dropout = cd;
            p.hidden_dropout = hd;
            p.n_classes = data.n_classes() as i64;
            let name = format!("cnn-d{cd}-{hd}-lr{lr}");
            let variant = Variant {
                name: name.clone(),
                net: Net::Cnn(p),
                pretrained: None,
                train: TrainParams {
                    learning_rate: lr,
                    ..g.train.clone()
                },
            };
            let dir = run_root().join("grid").join(&name);
            let what = serde_json::to_string(&variant).map_err(|source| Error::Json {
                path: dir.join("point.json"),
                source,
            })?;
            let k = key(&[
                &what,
                &data.content_hash(),
                &indices_digest(&split.validation),
            ]);
            let file = dir.join("point.json");
            if resume {
                if let Ok((saved, p)) = paths::read_json::<(String, CnnPoint)>(&file) {
                    if saved == k {
                        out.push(p);
                        continue;
                    }
                }
            }
            progress(&format!("grid {name}"));
            let (vr, _, _) =
                levers::run_variant(data, &variant, &scoring, None, &[0.0], &dir, resume)?;
            let best = vr
                .history
                .get(vr.best_epoch.saturating_sub(1))
                .ok_or_else(|| Error::bad_data(&dir, "no epoch in the run's history"))?;
            let p = CnnPoint {
                conv_dropout: cd,
                hidden_dropout: hd,
                learning_rate: lr,
                best_epoch: vr.best_epoch,
                val_loss: best.val_loss,
                val_accuracy: vr.scored.validation.accuracy,
                val_macro_f1: vr.scored.validation.macro_f1,
                seconds: vr.train_seconds,
            };
            paths::write_json(&file, &(k, p.clone()))?;
            out.push(p);
        }
    }
    Ok(out)
}
