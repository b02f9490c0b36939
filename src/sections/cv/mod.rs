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
mod records;
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
use crate::jobs::{self, Pass, Unit};
use crate::split::{PoolFolds, TinyClass};
use crate::{paths, Error, Result};

/// Name of this section in file names ([`crate::paths::section`]).
pub(crate) const SECTION: &str = crate::paths::section::CV;

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
    /// ... of held-out macro F1 over the classes each fold could learn
    /// ([`FoldScore::heldout_macro_f1_learnable`]), when every fold has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heldout_macro_f1_learnable: Option<MeanStd>,
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
            heldout_macro_f1_learnable: folds
                .iter()
                .map(|f| f.heldout_macro_f1_learnable)
                .collect::<Option<Vec<f64>>>()
                .map(|v| MeanStd::of(&v)),
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
    /// [`crate::paths::section::CV`].
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
    /// Whether the networks were scored with their convolution weights channels-last
    /// ([`crate::channels_last`]; the layout changes float rounding, so re-scoring uses the
    /// same). Not written when false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub channels_last: bool,
}

/// The scores of `model`'s fold `f` (from its folder, else its record in
/// `report/results/06.2-cv/`), and the path of that record.
pub(crate) fn fold_test_record(model: &str, f: usize) -> Result<(PathBuf, Option<FoldScore>)> {
    let file = fold::fold_dir(model, f).join("fold.json");
    let rec: Option<fold::FoldRecord> = records::read(&file)?;
    Ok((records::record_of(&file), rec.map(|r| r.score)))
}

/// The recorded test predictions of the soft vote of `model`'s fold models, and the record's
/// path.
pub(crate) fn fold_vote_record(model: &str) -> Result<(PathBuf, Option<Vec<usize>>)> {
    records::soft_vote_predictions(model)
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
    progress: impl FnMut(&str),
) -> Result<CvResults> {
    let (res, _) = walk(data, config, Pass::All { resume }, progress)?;
    Ok(res)
}

/// The section's units for a scheduler ([`crate::jobs`]): each grid point, then each model's
/// folds; the tuned models' folds depend on their grid (a tuned model that turns out to be a
/// configured one does nothing), a pretrained model's on section 6.1's pretraining run.
pub(crate) fn plan(data: &Dataset, config: &CvConfig) -> Result<Vec<Unit>> {
    config.check()?;
    let folds = PoolFolds::new(data, config.split_seed, config.folds, config.fold_seed)?;
    let grid_folds = PoolFolds::new(data, config.split_seed, config.grid.folds, config.fold_seed)?;
    let unit = |id: String, what: String, key: Option<String>, depends_on: Vec<String>| Unit {
        index: 0,
        run_dir: paths::relative(&run_root().join(&id)),
        id,
        what,
        key,
        depends_on,
        stage: 0,
    };
    let mut units = Vec::new();
    let pixel = grid::pixel_units(data, &grid_folds, &config.grid);
    let grid_of = |prefix: &str| -> Vec<String> {
        pixel
            .iter()
            .filter(|(id, _, _)| id.starts_with(prefix))
            .map(|(id, _, _)| id.clone())
            .collect()
    };
    let (logreg_grid, svm_grid) = (grid_of("grid/logreg-"), grid_of("grid/svm-"));
    for (id, what, k) in &pixel {
        let what = format!("{what}, {}-fold cross-validated", config.grid.folds);
        units.push(unit(id.clone(), what, Some(k.clone()), Vec::new()));
    }
    if let Some(g) = &config.grid.cnn {
        for (id, what, k) in grid::cnn_units(data, config.split_seed, g)? {
            units.push(unit(id, what, Some(k), Vec::new()));
        }
    }
    let mut models: Vec<(CvModel, Vec<String>)> = Vec::new();
    for m in &config.models {
        let deps = match &m.kind {
            CvKind::Net {
                pretrained: Some(name),
                ..
            } => vec![format!(
                "{}:pretrain-{name}",
                crate::sections::levers::SECTION
            )],
            _ => Vec::new(),
        };
        models.push((m.clone(), deps));
    }
    let at = models
        .iter()
        .rposition(|(m, _)| !matches!(m.kind, CvKind::Net { .. }))
        .map_or(0, |i| i + 1);
    let tuned = [
        ("logreg-tuned", "logistic regression", logreg_grid),
        ("svm-tuned", "SVM", svm_grid),
    ];
    let mut tuned_units = Vec::new();
    for (name, label, deps) in tuned {
        if deps.is_empty() {
            continue;
        }
        for f in 0..config.folds {
            let what = format!(
                "the {label} its grid chooses, fold {} of {} (nothing when that is a configured model)",
                f + 1,
                config.folds
            );
            tuned_units.push(unit(fold::fold_id(name, f), what, None, deps.clone()));
        }
    }
    let fold_units = |ms: &[(CvModel, Vec<String>)], units: &mut Vec<Unit>| -> Result<()> {
        for (m, deps) in ms {
            for (f, fold) in folds.folds.iter().enumerate() {
                let k = fold::fold_key(data, m, config, fold, &folds.test)?;
                let what = format!("{}, fold {} of {}", m.label, f + 1, config.folds);
                units.push(unit(fold::fold_id(&m.name, f), what, Some(k), deps.clone()));
            }
        }
        Ok(())
    };
    fold_units(&models[..at], &mut units)?;
    units.extend(tuned_units);
    fold_units(&models[at..], &mut units)?;
    jobs::number(units)
}

/// Runs the unit `id` of [`plan`] alone (resuming it when started, nothing when finished),
/// writing only its own folder: no results file, no vote, no figure.
pub(crate) fn run_unit(
    data: &Dataset,
    config: &CvConfig,
    id: &str,
    progress: impl FnMut(&str),
) -> Result<()> {
    let (_, missing) = walk(data, config, Pass::Unit(id), progress)?;
    let tuned = id.starts_with("logreg-tuned/") || id.starts_with("svm-tuned/");
    let grid: Vec<&str> = missing
        .iter()
        .filter(|m| m.starts_with("grid/"))
        .map(String::as_str)
        .collect();
    if tuned && !grid.is_empty() {
        return Err(Error::param(
            "unit",
            format!(
                "{id} fits the setting its grid chooses, and {} grid unit(s) have not finished \
                 ({}): run them first (a scheduler starts this stage after the grid's)",
                grid.len(),
                grid.join(", ")
            ),
        ));
    }
    if missing.iter().any(|m| m == id) {
        return Err(Error::param("unit", format!("{id} did not finish")));
    }
    let fold_file = run_root().join(id).join("fold.json");
    if tuned && !records::exists(&fold_file) {
        crate::progress::line(format_args!(
            "[6.2] {id}: the grid chose a configured model's setting, so there is nothing to fit"
        ));
    }
    Ok(())
}

/// Reads the finished units into the results, votes, tables and figures: [`run`], resumed,
/// once every unit has finished (so nothing is fitted and the results are the single-machine
/// run's); refuses, naming them, when units have not finished, and then writes nothing.
pub(crate) fn collect(
    data: &Dataset,
    config: &CvConfig,
    progress: impl FnMut(&str),
) -> Result<CvResults> {
    let (_, missing) = walk(data, config, Pass::Collect, |_| {})?;
    if !missing.is_empty() {
        return Err(jobs::missing_error(
            &run_root(),
            &missing,
            "charlab cv run --unit N",
            "charlab cv collect",
        ));
    }
    run(data, config, true, progress)
}

/// The CNN grid of `config` (empty when it has none).
fn cnn_grid(
    data: &Dataset,
    config: &CvConfig,
    pass: Pass,
    missing: &mut Vec<String>,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<crate::tuning::CnnPoint>> {
    match &config.grid.cnn {
        Some(g) => grid::cnn(data, config.split_seed, g, pass, missing, progress),
        None => Ok(Vec::new()),
    }
}

impl CvConfig {
    /// Every grid search of the configuration: logistic regression's `C` and the SVM's `C` x
    /// `gamma`, each point cross-validated on the pool's folds, and the CNN's dropout x
    /// learning rate, scored on the report's validation part. A finished point is read from
    /// its folder under the section's run folder; `progress` is told what starts.
    pub fn grid_search(
        &self,
        data: &Dataset,
        mut progress: impl FnMut(&str),
    ) -> Result<GridResults> {
        self.check()?;
        let pass = Pass::All { resume: true };
        let mut missing = Vec::new();
        let grid_folds = PoolFolds::new(data, self.split_seed, self.grid.folds, self.fold_seed)?;
        let mut pixel = grid::PixelGrids {
            data,
            folds: &grid_folds,
            pass,
            missing: &mut missing,
            progress: &mut progress,
        };
        let logreg = pixel.logreg(&self.grid)?;
        let svm = pixel.svm(&self.grid)?;
        let cnn = cnn_grid(data, self, pass, &mut missing, &mut progress)?;
        Ok(GridResults { logreg, svm, cnn })
    }

    /// The models to cross-validate given the grids' results `grid`: the configured ones,
    /// with the grids' chosen logistic regression and SVM (`logreg-tuned`, `svm-tuned`) after
    /// the pixel models when a grid has every point and chose another setting than a
    /// configured model's.
    pub fn models_with(&self, grid: &GridResults) -> Vec<CvModel> {
        let complete = GridResults {
            logreg: if grid.logreg.len() == self.grid.logreg_c.len() {
                grid.logreg.clone()
            } else {
                Vec::new()
            },
            svm: if grid.svm.len() == self.grid.svm_c.len() * self.grid.svm_gamma_factor.len() {
                grid.svm.clone()
            } else {
                Vec::new()
            },
            cnn: Vec::new(),
        };
        let mut models = self.models.clone();
        let at = models
            .iter()
            .rposition(|m| !matches!(m.kind, CvKind::Net { .. }))
            .map_or(0, |i| i + 1);
        models.splice(at..at, grid::tuned_models(&self.models, &complete));
        models
    }

    /// `model` in fold `f` of `folds`: fitted on the other folds (a network keeps a stratified
    /// share of them, [`CvConfig::inner_validation`], for its checkpoint and its logit
    /// adjustment), scored on the held-out fold and on the test part. A finished fold's scores
    /// are read from its folder (`fold.json`).
    pub fn fold(
        &self,
        data: &Dataset,
        folds: &PoolFolds,
        model: &CvModel,
        f: usize,
    ) -> Result<FoldScore> {
        let fold = folds.folds.get(f).ok_or_else(|| {
            Error::param(
                "fold",
                format!("fold {} of {} does not exist", f + 1, folds.folds.len()),
            )
        })?;
        let mut missing = Vec::new();
        let pass = Pass::All { resume: true };
        fold::run_fold(data, model, self, f, fold, &folds.test, pass, &mut missing)?.ok_or_else(
            || Error::param("fold", format!("{} fold {} did not run", model.name, f + 1)),
        )
    }
}

/// The section's results from the grids' results `grid` and each model's fold scores (in
/// fold order): each model's mean and spread over its folds, the votes of each network's
/// fold models and across models ([`EnsembleResult`]), the figures; writes
/// `report/results/06.2-cv.json`.
pub fn record(
    data: &Dataset,
    config: &CvConfig,
    grid: GridResults,
    models: Vec<(CvModel, Vec<FoldScore>)>,
) -> Result<CvResults> {
    let folds = PoolFolds::new(data, config.split_seed, config.folds, config.fold_seed)?;
    let mut res = empty_results(data, config, &folds);
    res.grid = grid;
    res.models = models
        .into_iter()
        .filter(|(_, scores)| !scores.is_empty())
        .map(|(m, scores)| ModelCv::new(m, scores))
        .collect();
    res.ensembles = ensembles(data, &folds, &res.models, config.folds)?;
    figures::cv_figure(&res)?;
    if !res.grid.svm.is_empty() {
        figures::svm_grid_figure(&res.grid)?;
    }
    paths::write_json(&paths::result(SECTION), &res)?;
    Ok(res)
}

/// The results of `config` on `data` before anything has run.
fn empty_results(data: &Dataset, config: &CvConfig, folds: &PoolFolds) -> CvResults {
    CvResults {
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
        channels_last: crate::channels_last(),
    }
}

/// One pass over the section (see [`Pass`]): the results of what is finished or computed, and
/// the units left unfinished.
fn walk(
    data: &Dataset,
    config: &CvConfig,
    pass: Pass,
    mut progress: impl FnMut(&str),
) -> Result<(CvResults, Vec<String>)> {
    config.check()?;
    let mut missing = Vec::new();
    let folds = PoolFolds::new(data, config.split_seed, config.folds, config.fold_seed)?;
    let mut res = empty_results(data, config, &folds);
    let save = |res: &CvResults| {
        if pass.writes_results() {
            paths::write_json(&paths::result(SECTION), res)
        } else {
            Ok(())
        }
    };
    let grid_folds = PoolFolds::new(data, config.split_seed, config.grid.folds, config.fold_seed)?;
    let mut pixel_grids = grid::PixelGrids {
        data,
        folds: &grid_folds,
        pass,
        missing: &mut missing,
        progress: &mut progress,
    };
    res.grid.logreg = pixel_grids.logreg(&config.grid)?;
    save(&res)?;
    res.grid.svm = pixel_grids.svm(&config.grid)?;
    save(&res)?;
    // A grid with unfinished points chooses nothing yet.
    let models = config.models_with(&res.grid);
    let mut cnn_grid_done = config.grid.cnn.is_none();
    for model in &models {
        if !cnn_grid_done && matches!(model.kind, CvKind::Net { .. }) {
            res.grid.cnn = cnn_grid(data, config, pass, &mut missing, &mut progress)?;
            save(&res)?;
            cnn_grid_done = true;
        }
        let mut scores = Vec::new();
        for (f, fold) in folds.folds.iter().enumerate() {
            if pass.computes(&fold::fold_id(&model.name, f)) {
                progress(&format!(
                    "{}: fold {} of {}",
                    model.name,
                    f + 1,
                    folds.folds.len()
                ));
            }
            let score = fold::run_fold(
                data,
                model,
                config,
                f,
                fold,
                &folds.test,
                pass,
                &mut missing,
            )?;
            let Some(score) = score else { continue };
            scores.push(score);
            let cv = ModelCv::new(model.clone(), scores.clone());
            match res.models.iter_mut().find(|m| m.model.name == model.name) {
                Some(m) => *m = cv,
                None => res.models.push(cv),
            }
            save(&res)?;
        }
        if pass.writes_results() {
            res.ensembles = ensembles(data, &folds, &res.models, config.folds)?;
            save(&res)?;
        }
    }
    if !cnn_grid_done {
        res.grid.cnn = cnn_grid(data, config, pass, &mut missing, &mut progress)?;
    }
    if pass.writes_results() {
        figures::cv_figure(&res)?;
        if !res.grid.svm.is_empty() {
            figures::svm_grid_figure(&res.grid)?;
        }
        save(&res)?;
    }
    Ok((res, missing))
}
