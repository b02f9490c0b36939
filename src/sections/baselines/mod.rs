//! Section 4.1 of the report: the classical baselines on raw pixels, logistic regression and
//! an RBF SVM, fitted on train + validation merged (25,134 images on the report's data) and
//! evaluated on the 5,000 test images of the report's random split.
//!
//! The report capped both fits at 1,000 iterations. For the SVM that cap is per binary problem
//! (scikit-learn passes `max_iter` to every libsvm pair), and most pairs hit it, so the
//! section also fits the SVM without a cap (`svm-converged`), which is what the report's
//! future work asks of the baselines.
//!
//! Outputs: `report/results/04.1-baselines.json`, `figures/04-baselines-f1.{svg,png}`.

use std::path::PathBuf;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::data::{Dataset, Source};
use crate::display::text_table;
use crate::metrics::TestResults;
use crate::models::logreg::{LogReg, LogRegParams};
use crate::models::svm::{Svm, SvmParams, SvmReport, SvmSolver};
use crate::split::{self, Split};
use crate::{paths, Error, Result};

mod bench;
pub(crate) use bench::{parse_pairs, solver_timing_summary, time_svm_solvers};

/// Name of this section in file names ([`crate::paths::section`]).
pub(crate) const SECTION: &str = crate::paths::section::BASELINES;

/// Figure stem of the per-class F1 of the baselines.
pub(crate) const F1_FIGURE: &str = "04-baselines-f1";

/// Everything that defines the section's fits (saved in the results).
///
/// Defaults: [`LogRegParams::default`] (C 1, 1,000 iterations, tol 1e-4), the SVM with C 1,
/// gamma `"scale"`, tol 1e-3 and the report's cap of 1,000 iterations per pair, split seed 0.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BaselinesConfig {
    /// Logistic regression.
    pub logreg: LogRegParams,
    /// The SVM as the report ran it (capped).
    pub svm: SvmParams,
    /// Seed of the train / validation / test split.
    pub split_seed: u64,
}

impl Default for BaselinesConfig {
    fn default() -> Self {
        BaselinesConfig {
            logreg: LogRegParams::default(),
            svm: SvmParams {
                max_iter: Some(1000),
                ..SvmParams::default()
            },
            split_seed: 0,
        }
    }
}

impl BaselinesConfig {
    /// The SVM without the iteration cap (`svm-converged`).
    pub fn svm_uncapped(&self) -> SvmParams {
        SvmParams {
            max_iter: None,
            ..self.svm.clone()
        }
    }
}

/// Which models to fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Which {
    /// Logistic regression only.
    LogReg,
    /// The SVM (capped, as the report) and the SVM without a cap.
    Svm,
    /// Everything.
    All,
}

/// How a fitted model did on the test part.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelResult {
    /// `logreg`, `svm` (the report's cap) or `svm-converged`.
    pub name: String,
    /// Images the model was fitted on.
    pub n_fit: usize,
    /// Test images.
    pub n_test: usize,
    /// Fit wall time, seconds.
    pub fit_seconds: f64,
    /// Prediction wall time on the test images, seconds.
    pub predict_seconds: f64,
    /// Its test results (accuracy, macro F1, per class, confusion, predictions).
    #[serde(flatten)]
    pub test: TestResults,
    /// The fit's parameters.
    pub params: serde_json::Value,
    /// What the solver reported (iterations, convergence, support vectors...).
    pub fit_report: serde_json::Value,
}

/// `report/results/04.1-baselines.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BaselinesResults {
    /// Section name.
    pub section: String,
    /// Where the data came from.
    pub source: Source,
    /// [`Dataset::content_hash`].
    pub data_hash: String,
    /// The configuration.
    pub config: BaselinesConfig,
    /// Train, validation, test sizes of the split (the first two are merged for fitting).
    pub split_sizes: (usize, usize, usize),
    /// One entry per fitted model.
    pub models: Vec<ModelResult>,
    /// Threads used.
    pub threads: usize,
}

impl BaselinesResults {
    /// The result of the model called `name`, if fitted.
    pub(crate) fn model(&self, name: &str) -> Option<&ModelResult> {
        self.models.iter().find(|m| m.name == name)
    }
}

/// The results-file entry of a pixel model called `name`, fitted on train + validation of
/// `split` with `params` in `timing.0` seconds, whose predictions `preds` of the test part took
/// `timing.1` seconds; `fit_report` is the fit's report. Scores with [`crate::metrics::TestResults`].
pub fn model_result(
    name: &str,
    data: &Dataset,
    split: &Split,
    preds: &[usize],
    timing: (f64, f64),
    params: &impl Serialize,
    fit_report: &impl Serialize,
) -> Result<ModelResult> {
    let (params, fit_report) = (json(params)?, json(fit_report)?);
    let test = TestResults::of(&data.labels_at(&split.test), preds, data.n_classes())?;
    Ok(ModelResult {
        name: name.into(),
        n_fit: split.train.len() + split.validation.len(),
        n_test: split.test.len(),
        fit_seconds: timing.0,
        predict_seconds: timing.1,
        test,
        params,
        fit_report,
    })
}

fn json<T: Serialize>(v: &T) -> Result<serde_json::Value> {
    serde_json::to_value(v).map_err(|source| Error::Json {
        path: paths::result(SECTION),
        source,
    })
}

/// Fits a model on train + validation of `split` and predicts its test part, timing the fit
/// and the prediction but not the extraction of their `features`: returns the model, its test
/// predictions and the (fit, predict) seconds.
fn fit_and_predict<X, M>(
    data: &Dataset,
    split: &Split,
    features: impl Fn(&[usize]) -> X,
    fit: impl FnOnce(&X, &[usize]) -> Result<M>,
    predict: impl FnOnce(&M, &X) -> Result<Vec<usize>>,
) -> Result<(M, Vec<usize>, (f64, f64))> {
    let fit_idx = split.train_and_validation();
    let x = features(&fit_idx);
    let y = data.labels_at(&fit_idx);
    let t = Instant::now();
    let model = fit(&x, &y)?;
    let fit_s = t.elapsed().as_secs_f64();
    let x_test = features(&split.test);
    let t = Instant::now();
    let preds = predict(&model, &x_test)?;
    let pred_s = t.elapsed().as_secs_f64();
    Ok((model, preds, (fit_s, pred_s)))
}

/// Where linfa-svm keeps the pairs it has solved for `params` on train + validation of
/// `split` of `data` (a folder named by the data, the fit images and the parameters).
fn linfa_pair_cache(data: &Dataset, split: &Split, params: &SvmParams) -> PathBuf {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for &i in &split.train_and_validation() {
        h.update((i as u64).to_le_bytes());
    }
    let fit_hash: String = h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let key = format!(
        "{}-fit{fit_hash}-c{}-tol{}-{:?}",
        &data.content_hash()[..16],
        params.c,
        params.tol,
        params.gamma
    );
    paths::data_dir().join("cache").join("linfa-svm").join(key)
}

/// Fits logistic regression on train + validation of `split` and evaluates it on test.
pub(crate) fn fit_logreg(
    data: &Dataset,
    split: &Split,
    params: &LogRegParams,
) -> Result<(LogReg, ModelResult)> {
    params.check()?;
    let (model, preds, timing) = fit_and_predict(
        data,
        split,
        |idx| data.features(idx),
        |x, y| params.fit_with_progress(x.view(), y),
        |model, x| model.predict(x.view()),
    )?;
    let res = model_result("logreg", data, split, &preds, timing, params, &model.report)?;
    Ok((model, res))
}

/// Fits the SVM on train + validation of `split` and evaluates it on test, as `name`.
pub(crate) fn fit_svm(
    data: &Dataset,
    split: &Split,
    params: &SvmParams,
    name: &str,
) -> Result<(Svm, ModelResult)> {
    params.check()?;
    let mut params = params.clone();
    if params.solver == SvmSolver::Linfa && params.pair_cache.is_none() {
        // Hours on the full data: keep every finished pair, so a rerun resumes.
        params.pair_cache = Some(linfa_pair_cache(data, split, &params));
    }
    let (model, preds, timing) = fit_and_predict(
        data,
        split,
        |idx| data.pixel_rows(idx),
        |x, y| params.fit_with_progress(x, data.pixels(), y, name),
        |model, x| model.predict(x),
    )?;
    let report: SvmReport = model.report();
    let res = model_result(name, data, split, &preds, timing, &params, &report)?;
    Ok((model, res))
}

/// Runs section 4.1 for `which` models and writes the results file. Models not fitted this
/// time are kept from an existing results file made from the same data and configuration.
pub(crate) fn run(
    data: &Dataset,
    config: &BaselinesConfig,
    which: Which,
) -> Result<BaselinesResults> {
    let split = split::random_split(data.len(), config.split_seed)?;
    let mut models = Vec::new();
    if which != Which::Svm {
        models.push(fit_logreg(data, &split, &config.logreg)?.1);
    }
    if which != Which::LogReg {
        models.push(fit_svm(data, &split, &config.svm, "svm")?.1);
        // linfa-svm has no iteration cap: its fit is already the converged one.
        if config.svm.solver == SvmSolver::Popcount {
            models.push(fit_svm(data, &split, &config.svm_uncapped(), "svm-converged")?.1);
        }
    }
    let mut res = collect(data, config, models)?;
    let path = paths::result(SECTION);
    if which != Which::All && path.exists() {
        if let Ok(old) = paths::read_json::<BaselinesResults>(&path) {
            if old.data_hash == res.data_hash && old.config == *config {
                for m in old.models {
                    if res.model(&m.name).is_none() {
                        res.models.push(m);
                    }
                }
            }
        }
    }
    let order = |n: &str| {
        ["logreg", "svm", "svm-converged"]
            .iter()
            .position(|&x| x == n)
    };
    res.models.sort_by_key(|m| order(&m.name));
    save(&res, data.class_chars())?;
    Ok(res)
}

/// The section's results from models fitted on `data` with `config` (see `fit_logreg`,
/// `fit_svm`).
pub fn collect(
    data: &Dataset,
    config: &BaselinesConfig,
    models: Vec<ModelResult>,
) -> Result<BaselinesResults> {
    let split = split::random_split(data.len(), config.split_seed)?;
    Ok(BaselinesResults {
        section: SECTION.into(),
        source: data.source().clone(),
        data_hash: data.content_hash(),
        config: config.clone(),
        split_sizes: split.sizes(),
        models,
        threads: rayon::current_num_threads(),
    })
}

/// Writes `report/results/04.1-baselines.json` and the per-class F1 figure (see
/// `f1_figure`), which it returns.
pub fn save(res: &BaselinesResults, chars: &[char]) -> Result<crate::plot::Png> {
    paths::write_json(&paths::result(SECTION), res)?;
    f1_figure(res, chars)
}

/// The name of a fitted model in figures and tables: `Logistic regression`, `RBF SVM` (with
/// its iteration cap when the fit was capped) or `RBF SVM, converged`; an unknown name as it is.
pub(crate) fn display_name(m: &ModelResult) -> String {
    match m.name.as_str() {
        "logreg" => "Logistic regression".into(),
        "svm-converged" => "RBF SVM, converged".into(),
        "svm" => {
            // linfa-svm has no iteration cap (its fit is the converged one) whatever max_iter says.
            let popcount = m.params.get("solver").and_then(|v| v.as_str()) == Some("Popcount");
            match m.params.get("max_iter").and_then(|v| v.as_u64()) {
                Some(cap) if popcount => format!("RBF SVM, capped at {cap} iterations"),
                _ => "RBF SVM".into(),
            }
        }
        other => other.into(),
    }
}

/// Classes that have no test image in any of `res`'s models (F1 undefined, drawn as absent).
pub(crate) fn absent_classes(res: &BaselinesResults) -> Vec<usize> {
    let n = res
        .models
        .iter()
        .map(|m| m.test.per_class.len())
        .max()
        .unwrap_or(0);
    (0..n)
        .filter(|&c| {
            res.models
                .iter()
                .all(|m| m.test.per_class.get(c).is_none_or(|k| k.support == 0))
        })
        .collect()
}

/// The per-class F1 chart of `res` (see [`f1_figure`]), classes named by `chars`.
pub(crate) fn f1_bars(res: &BaselinesResults, chars: &[char]) -> crate::plot::PerClassBars {
    crate::plot::PerClassBars {
        title: format!(
            "Per-class F1 of the baselines on the test set ({} test images)",
            res.split_sizes.2
        ),
        classes: chars.to_vec(),
        series: res
            .models
            .iter()
            .map(|m| {
                (
                    format!(
                        "{} (macro F1 {:.1}%)",
                        display_name(m),
                        100.0 * m.test.macro_f1
                    ),
                    m.test.per_class.iter().map(|c| c.f1).collect(),
                )
            })
            .collect(),
        y_desc: crate::plot::F1_AXIS.into(),
        absent: absent_classes(res),
    }
}

/// Per-class test F1 of every fitted model as grouped bars, saved as
/// `figures/04-baselines-f1.{svg,png}` (and returned for display); `chars` are the classes of
/// the data `res` comes from.
pub(crate) fn f1_figure(res: &BaselinesResults, chars: &[char]) -> Result<crate::plot::Png> {
    crate::plot::save(&f1_bars(res, chars), &paths::figure(F1_FIGURE))
}

/// [`f1_figure`] from the results alone (`charlab figures baselines`), without the data: the
/// classes are the report's ([`crate::data::REPORT_CLASSES`], the classes of every source in
/// the report's format). Results with another number of classes are an error that says to
/// redraw the figure with the data (`charlab baselines` does).
pub(crate) fn f1_figure_from(res: &BaselinesResults) -> Result<crate::plot::Png> {
    let classes = &crate::data::REPORT_CLASSES;
    if let Some(m) = res
        .models
        .iter()
        .find(|m| m.test.per_class.len() != classes.len())
    {
        return Err(Error::results(
            paths::relative(&paths::result(SECTION)),
            format!(
                "holds {} classes for {}, not the report's {}; redraw the figure with the data",
                m.test.per_class.len(),
                m.name,
                classes.len()
            ),
            "charlab baselines --data ...",
        ));
    }
    f1_figure(res, classes)
}

/// The Table 1 rows of the baselines: model, accuracy %, macro F1 %, fit and predict seconds.
pub fn table(res: &BaselinesResults) -> Result<polars::prelude::DataFrame> {
    use polars::prelude::*;
    let m = &res.models;
    Ok(df!(
        "model" => m.iter().map(|r| r.name.clone()).collect::<Vec<_>>(),
        "accuracy_%" => m.iter().map(|r| 100.0 * r.test.accuracy).collect::<Vec<_>>(),
        "macro_f1_%" => m.iter().map(|r| 100.0 * r.test.macro_f1).collect::<Vec<_>>(),
        "fit_s" => m.iter().map(|r| r.fit_seconds).collect::<Vec<_>>(),
        "predict_s" => m.iter().map(|r| r.predict_seconds).collect::<Vec<_>>(),
    )?)
}

/// The text `charlab baselines` prints: one line per fitted model (accuracy, macro F1, fit and
/// predict seconds, the fit's report) and the results file written.
pub(crate) fn summary(res: &BaselinesResults) -> String {
    let header = "model            accuracy  macro F1     fit s  predict s  fit report";
    let mut s = text_table(header, &res.models, |m| {
        format!(
            "{:<16} {:>7.2}%  {:>7.2}%  {:>8.1}  {:>9.2}  {}",
            m.name,
            100.0 * m.test.accuracy,
            100.0 * m.test.macro_f1,
            m.fit_seconds,
            m.predict_seconds,
            m.fit_report
        )
    });
    s.push_str(&format!("wrote report/results/{SECTION}.json\n"));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn baseline_legends_show_display_names() {
        let model = |name: &str, max_iter: Option<u64>| ModelResult {
            name: name.into(),
            n_fit: 1,
            n_test: 1,
            fit_seconds: 0.0,
            predict_seconds: 0.0,
            test: TestResults::default(),
            params: serde_json::json!({"solver": "Popcount", "max_iter": max_iter}),
            fit_report: serde_json::Value::Null,
        };
        assert_eq!(
            display_name(&model("logreg", Some(1000))),
            "Logistic regression"
        );
        assert_eq!(
            display_name(&model("svm", Some(1000))),
            "RBF SVM, capped at 1000 iterations"
        );
        assert_eq!(display_name(&model("svm", None)), "RBF SVM");
        assert_eq!(
            display_name(&model("svm-converged", None)),
            "RBF SVM, converged"
        );
    }
}
