//! Grid searches: logistic regression's `C` and the SVM's `C` x `gamma` scored by stratified
//! k-fold cross-validation on the pool, the CNN's dropout x learning rate scored on the
//! report's validation part. Every point of every fold is kept in its folder under
//! `data/models/06.2-cv/grid/`.

use serde::{Deserialize, Serialize};

use super::config::{CnnGrid, CvKind, CvModel, GridConfig};
use super::fold::{indices_digest, key};
use super::run_root;
use crate::data::Dataset;
use crate::jobs::Pass;
use crate::metrics::MeanStd;
use crate::models::logreg::LogRegParams;
use crate::models::svm::{Gamma, SvmParams};
use crate::models::Net;
use crate::sections::baselines::{self, ModelResult};
use crate::sections::levers::{self, Variant};
use crate::split::PoolFolds;
use crate::split::{self, Split};
use crate::training::TrainParams;
use crate::tuning::{CnnPoint, GridPoint, GridResults};
use crate::{Error, Result};

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

/// The keys of a grid point's folds: what it fits, the data and the held-out fold.
fn point_keys(what: &str, data: &Dataset, folds: &PoolFolds) -> Vec<String> {
    folds
        .folds
        .iter()
        .map(|fold| key(&[what, &data.content_hash(), &indices_digest(&fold.test)]))
        .collect()
}

/// The logistic regression and SVM grids' scan: the data and folds their points are
/// cross-validated on, what this pass computes, the units it leaves unfinished (`missing`) and
/// who is told what starts (`progress`).
pub(crate) struct PixelGrids<'a> {
    pub(crate) data: &'a Dataset,
    pub(crate) folds: &'a PoolFolds,
    pub(crate) pass: Pass<'a>,
    pub(crate) missing: &'a mut Vec<String>,
    pub(crate) progress: &'a mut dyn FnMut(&str),
}

impl PixelGrids<'_> {
    /// Cross-validates one point (the unit `grid/<name>`) at `(C, gamma factor, gamma)`:
    /// `fit(split)` fits on a fold's training images and scores the held-out images. `None`
    /// (the unit added to `missing`) when a fold has not finished and `pass` does not compute
    /// it.
    fn point(
        &mut self,
        name: &str,
        what: &str,
        (c, gamma_factor, gamma): (f64, Option<f64>, Option<f64>),
        mut fit: impl FnMut(&Split) -> Result<ModelResult>,
    ) -> Result<Option<GridPoint>> {
        let (data, folds, pass) = (self.data, self.folds, self.pass);
        let id = format!("grid/{name}");
        let (mut acc, mut f1, mut secs) = (Vec::new(), Vec::new(), 0.0);
        let keys = point_keys(what, data, folds);
        for (f, (fold, k)) in folds.folds.iter().zip(keys).enumerate() {
            let dir = run_root().join(&id).join(format!("fold-{}", f + 1));
            let file = dir.join("fold.json");
            let saved =
                super::records::read::<GridFold>(&file)?.filter(|g| pass.resume() && g.key == k);
            let score = match saved {
                Some(g) => g,
                None if !pass.computes(&id) => {
                    self.missing.push(id);
                    return Ok(None);
                }
                None => {
                    (self.progress)(&format!(
                        "grid {name}: fold {} of {}",
                        f + 1,
                        folds.folds.len()
                    ));
                    let r = fit(&super::fold::pixel_split(fold))?;
                    let g = GridFold {
                        key: k,
                        accuracy: r.test.accuracy,
                        macro_f1: r.test.macro_f1,
                        seconds: r.fit_seconds,
                    };
                    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
                    super::records::write(&file, &g)?;
                    g
                }
            };
            acc.push(score.accuracy);
            f1.push(score.macro_f1);
            secs += score.seconds;
        }
        Ok(Some(GridPoint {
            c,
            gamma_factor,
            gamma,
            accuracy: MeanStd::of(&acc),
            macro_f1: MeanStd::of(&f1),
            seconds: secs,
        }))
    }

    /// Logistic regression over `grid.logreg_c` (the other parameters as Table 1's); the
    /// points `pass` leaves unfinished are left out (and added to `missing`).
    pub(crate) fn logreg(&mut self, grid: &GridConfig) -> Result<Vec<GridPoint>> {
        let data = self.data;
        let mut out = Vec::new();
        for (name, c, params, what) in logreg_points(grid) {
            out.extend(self.point(&name, &what, (c, None, None), |s| {
                Ok(baselines::fit_logreg(data, s, &params)?.1)
            })?);
        }
        Ok(out)
    }

    /// The SVM over `grid.svm_c` x `grid.svm_gamma_factor` (Table 1's iteration cap); the
    /// points `pass` leaves unfinished are left out (and added to `missing`).
    pub(crate) fn svm(&mut self, grid: &GridConfig) -> Result<Vec<GridPoint>> {
        let data = self.data;
        let mut out = Vec::new();
        for (name, c, g, params, what) in svm_points(data, self.folds, grid) {
            let gamma = match params.gamma {
                Gamma::Value(v) => Some(v),
                Gamma::Scale => None,
            };
            out.extend(self.point(&name, &what, (c, Some(g), gamma), |s| {
                Ok(baselines::fit_svm(data, s, &params, "svm")?.1)
            })?);
        }
        Ok(out)
    }
}

/// The logistic regression grid's points: (name, `C`, parameters, what the key records).
fn logreg_points(grid: &GridConfig) -> Vec<(String, f64, LogRegParams, String)> {
    grid.logreg_c
        .iter()
        .map(|&c| {
            let params = LogRegParams {
                c,
                ..LogRegParams::default()
            };
            let what = format!("logreg {params:?}");
            (format!("logreg-c{c}"), c, params, what)
        })
        .collect()
}

/// The SVM grid's points: (name, `C`, `gamma` factor, parameters, what the key records).
fn svm_points(
    data: &Dataset,
    folds: &PoolFolds,
    grid: &GridConfig,
) -> Vec<(String, f64, f64, SvmParams, String)> {
    let scale = scale_gamma(data, &folds.pool);
    let mut out = Vec::new();
    for &c in &grid.svm_c {
        for &g in &grid.svm_gamma_factor {
            let params = svm_params(c, g * scale);
            let what = format!("svm {params:?}");
            out.push((format!("svm-c{c}-g{g}"), c, g, params, what));
        }
    }
    out
}

/// The units of the logistic regression and SVM grids: (id, what, key of its folds).
pub(crate) fn pixel_units(
    data: &Dataset,
    folds: &PoolFolds,
    grid: &GridConfig,
) -> Vec<(String, String, String)> {
    let digest = |what: &str| {
        let keys = point_keys(what, data, folds);
        key(&keys.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let mut out: Vec<(String, String, String)> = logreg_points(grid)
        .into_iter()
        .map(|(name, c, _, what)| {
            let about = format!("logistic regression, C = {c}");
            (format!("grid/{name}"), about, digest(&what))
        })
        .collect();
    for (name, c, g, _, what) in svm_points(data, folds, grid) {
        let about = format!("RBF SVM, C = {c}, gamma = {g} x scale");
        out.push((format!("grid/{name}"), about, digest(&what)));
    }
    out
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

/// The CNN grid's points: (name, conv dropout, hidden dropout, rate, the variant).
fn cnn_points(data: &Dataset, g: &CnnGrid) -> Vec<(String, f64, f64, f64, Variant)> {
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
            out.push((name, cd, hd, lr, variant));
        }
    }
    out
}

/// A CNN grid point's key: the variant, the data and the validation part.
fn cnn_key(
    variant: &Variant,
    data: &Dataset,
    split: &Split,
    dir: &std::path::Path,
) -> Result<String> {
    let what = serde_json::to_string(variant).map_err(|source| Error::Json {
        path: dir.join("point.json"),
        source,
    })?;
    Ok(key(&[
        &what,
        &data.content_hash(),
        &indices_digest(&split.validation),
    ]))
}

/// The units of the CNN grid: (id, what, key).
pub(crate) fn cnn_units(
    data: &Dataset,
    split_seed: u64,
    g: &CnnGrid,
) -> Result<Vec<(String, String, String)>> {
    let split = split::random_split(data.len(), split_seed)?;
    cnn_points(data, g)
        .into_iter()
        .map(|(name, cd, hd, lr, variant)| {
            let id = format!("grid/{name}");
            let k = cnn_key(&variant, data, &split, &run_root().join(&id))?;
            let what = format!(
                "{} {} epochs, dropout {cd} / {hd}, learning rate {lr}, scored on validation",
                variant.net.label(),
                variant.train.epochs
            );
            Ok((id, what, k))
        })
        .collect()
}

/// The CNN grid: each (dropout, rate) trained on the report's training part, scored on its
/// validation part (the test part is not touched); the points `pass` leaves unfinished are
/// left out (and added to `missing`).
pub(crate) fn cnn(
    data: &Dataset,
    split_seed: u64,
    g: &CnnGrid,
    pass: Pass,
    missing: &mut Vec<String>,
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
    for (name, cd, hd, lr, variant) in cnn_points(data, g) {
        let id = format!("grid/{name}");
        let dir = run_root().join(&id);
        let k = cnn_key(&variant, data, &split, &dir)?;
        let file = dir.join("point.json");
        if pass.resume() {
            if let Some((saved, p)) = super::records::read::<(String, CnnPoint)>(&file)? {
                if saved == k {
                    out.push(p);
                    continue;
                }
            }
        }
        if !pass.computes(&id) {
            missing.push(id);
            continue;
        }
        progress(&format!("grid {name}"));
        let (vr, _, _) =
            levers::run_variant(data, &variant, &scoring, None, &[0.0], &dir, pass.resume())?;
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
        super::records::write(&file, &(k, p.clone()))?;
        out.push(p);
    }
    Ok(out)
}
