//! Section 6.2, how sure the numbers are: stratified k-fold cross-validation of Table 1's
//! models and of section 6.1's best model, grid searches scored by cross-validation (logistic
//! regression's `C`, the SVM's `C` x `gamma`) or validation (the CNN's dropout and learning
//! rate), and ensembles by vote over the fold models.
//!
//! The folds split the *pool*, the report's training and validation parts (25,134 images of
//! the stand-in); the test part (5,000) is never used to fit or to choose anything. In each
//! fold a model is fitted on the other folds (a network keeps a stratified tenth of them as
//! its inner validation part, for the checkpoint and the logit adjustment's `tau`), scored on
//! the held-out fold, and scored on the test part too, so the fold models can vote there.
//!
//! A class with fewer images than folds (class 30, one image) is held out in one fold only:
//! there the models never saw it and its F1 is 0 in that fold's macro F1; in the other folds
//! it is trained on but never scored ([`TinyClass`]).
//!
//! Every fold and every grid point is a folder under `data/models/06.2-cv/` with its scores
//! (`fold.json`, keyed by the model, the fold and the data): a finished one is never
//! recomputed, and `report/results/06.2-cv.json` is rewritten after each.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

mod config;
mod figures;
mod fold;
mod grid;
mod table;
mod vote;

pub use config::CvConfig;

pub use config::CvModel;

pub use config::GridConfig;

pub use config::CvKind;

use crate::metrics::MeanStd;
use crate::tuning::GridResults;
pub use config::CnnGrid;
pub use figures::cv_figure;
pub use figures::svm_grid_figure;
pub(crate) use figures::CV_FIGURE;
pub(crate) use figures::SVM_GRID_FIGURE;
pub use fold::FoldScore;
pub use table::cnn_grid_table;
pub use table::cv_table;
pub use table::ensembles_table;
pub use table::grid_table;
pub(crate) use table::summary;
pub(crate) use vote::ensembles;
pub use vote::EnsembleResult;

use crate::data::{Dataset, Source};
use crate::split::{PoolFolds, TinyClass};
use crate::{paths, Result};

/// Name of this section in file names.
pub const SECTION: &str = "06.2-cv";

/// The section's run folders: `data/models/06.2-cv/`.
pub(crate) fn run_root() -> PathBuf {
    paths::run_dir(SECTION, crate::Profile::Full)
}

/// One model's cross-validation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelCv {
    /// The model as configured (tuned models carry the grid's chosen values).
    pub model: CvModel,
    /// Finished folds, in fold order.
    pub folds: Vec<FoldScore>,
    /// Mean and standard deviation over the finished folds of held-out accuracy (fraction).
    pub heldout_accuracy: MeanStd,
    /// ... of held-out macro F1.
    pub heldout_macro_f1: MeanStd,
    /// ... of test accuracy (each fold model on the whole test part).
    pub test_accuracy: MeanStd,
    /// ... of test macro F1.
    pub test_macro_f1: MeanStd,
}

impl ModelCv {
    fn new(model: CvModel, folds: Vec<FoldScore>) -> ModelCv {
        let of = |f: fn(&FoldScore) -> f64| MeanStd::of(&folds.iter().map(f).collect::<Vec<_>>());
        ModelCv {
            heldout_accuracy: of(|f| f.heldout_accuracy),
            heldout_macro_f1: of(|f| f.heldout_macro_f1),
            test_accuracy: of(|f| f.test_accuracy),
            test_macro_f1: of(|f| f.test_macro_f1),
            model,
            folds,
        }
    }

    /// Whether every fold has finished.
    pub(crate) fn complete(&self, folds: usize) -> bool {
        self.folds.len() == folds
    }
}

/// `report/results/06.2-cv.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CvResults {
    /// [`SECTION`].
    pub section: String,
    /// The data.
    pub source: Source,
    /// Its content hash.
    pub data_hash: String,
    /// Its class characters (by class index).
    pub class_chars: Vec<char>,
    /// The configuration run.
    pub config: CvConfig,
    /// Images in the pool (the split's training and validation parts).
    pub pool_images: usize,
    /// Held-out images of each fold.
    pub fold_sizes: Vec<usize>,
    /// Test images (never fitted on, never chosen on).
    pub test_images: usize,
    /// Classes with fewer pool images than folds.
    pub tiny_classes: Vec<TinyClass>,
    /// The grid searches so far.
    pub grid: GridResults,
    /// Cross-validated models so far (a model still running has fewer folds).
    pub models: Vec<ModelCv>,
    /// Votes over finished models' fold models.
    pub ensembles: Vec<EnsembleResult>,
}

/// The results file when it holds `data` and `config` (a notebook then shows it without
/// running hours of folds again), else [`run`], resumed. A results file whose models have not
/// all finished is shown as it is: `charlab cv --resume` continues it.
pub fn load_or_run(
    data: &Dataset,
    config: &CvConfig,
    progress: impl FnMut(&str),
) -> Result<CvResults> {
    if let Ok(r) = paths::read_json::<CvResults>(&paths::result(SECTION)) {
        if r.data_hash == data.content_hash() && &r.config == config {
            return Ok(r);
        }
    }
    run(data, config, true, progress)
}

/// Runs the section (resuming finished folds and grid points when `resume`): the logistic
/// regression and SVM grids, then every model's folds (the grids' chosen settings as
/// `logreg-tuned` and `svm-tuned` after the SVM), the CNN grid before the first network,
/// rewriting the results file after each fold; `progress` is told what starts.
pub fn run(
    data: &Dataset,
    config: &CvConfig,
    resume: bool,
    mut progress: impl FnMut(&str),
) -> Result<CvResults> {
    config.check()?;
    let folds = PoolFolds::new(data, config.split_seed, config.folds, config.fold_seed)?;
    let mut res = CvResults {
        section: SECTION.into(),
        source: data.source().clone(),
        data_hash: data.content_hash(),
        class_chars: data.class_chars().to_vec(),
        config: config.clone(),
        pool_images: folds.pool.len(),
        fold_sizes: folds.folds.iter().map(|f| f.test.len()).collect(),
        test_images: folds.test.len(),
        tiny_classes: folds.tiny_classes(data),
        grid: GridResults::default(),
        models: Vec::new(),
        ensembles: Vec::new(),
    };
    let save = |res: &CvResults| paths::write_json(&paths::result(SECTION), res);
    let grid_folds = PoolFolds::new(data, config.split_seed, config.grid.folds, config.fold_seed)?;
    res.grid.logreg = grid::logreg(data, &grid_folds, &config.grid, resume, &mut progress)?;
    save(&res)?;
    res.grid.svm = grid::svm(data, &grid_folds, &config.grid, resume, &mut progress)?;
    save(&res)?;
    let mut models = config.models.clone();
    let tuned = grid::tuned_models(&config.models, &res.grid);
    let at = models
        .iter()
        .rposition(|m| !matches!(m.kind, CvKind::Net { .. }))
        .map_or(0, |i| i + 1);
    models.splice(at..at, tuned);
    let mut cnn_grid_done = config.grid.cnn.is_none();
    for model in &models {
        if !cnn_grid_done && matches!(model.kind, CvKind::Net { .. }) {
            if let Some(g) = &config.grid.cnn {
                res.grid.cnn = grid::cnn(data, config.split_seed, g, resume, &mut progress)?;
                save(&res)?;
            }
            cnn_grid_done = true;
        }
        let mut scores = Vec::new();
        for (f, fold) in folds.folds.iter().enumerate() {
            progress(&format!(
                "{}: fold {} of {}",
                model.name,
                f + 1,
                folds.folds.len()
            ));
            scores.push(fold::run_fold(
                data,
                model,
                config,
                f,
                fold,
                &folds.test,
                resume,
            )?);
            let cv = ModelCv::new(model.clone(), scores.clone());
            match res.models.iter_mut().find(|m| m.model.name == model.name) {
                Some(m) => *m = cv,
                None => res.models.push(cv),
            }
            save(&res)?;
        }
        res.ensembles = ensembles(data, &folds, &res.models, config.folds)?;
        save(&res)?;
    }
    if !cnn_grid_done {
        if let Some(g) = &config.grid.cnn {
            res.grid.cnn = grid::cnn(data, config.split_seed, g, resume, &mut progress)?;
        }
    }
    figures::cv_figure(&res)?;
    if !res.grid.svm.is_empty() {
        figures::svm_grid_figure(&res.grid)?;
    }
    save(&res)?;
    Ok(res)
}
