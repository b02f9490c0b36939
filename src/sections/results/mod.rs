//! Section 5 of the report, Results: Table 1 (test accuracy and macro F1 of every model, beside
//! the report's), the row-normalised confusion matrix of the best model, its most confused
//! pairs with test images, and the per-class F1 of every model. Everything is read from the
//! results files of section 4 (whichever exist), which must all come from the same data.
//!
//! The best model is chosen on validation accuracy among the models that have a validation
//! part (the networks; the baselines are fitted on training and validation together), and its
//! top losses (the test images it is most confidently wrong about) are drawn when its trained
//! network is on this machine (its run folder, or the committed `weights/`).
//!
//! Outputs: `report/results/05-results.json`, `figures/05-confusion-matrix.{svg,png}`,
//! `figures/05-confused-pairs.{svg,png}`, `figures/05-per-class-f1.{svg,png}`,
//! `figures/05-top-losses.{svg,png}`.

use serde::{Deserialize, Serialize};

use crate::data::{Dataset, Source};
use crate::inference::{top_losses, TopLoss};
use crate::metrics::{confused_pairs, mcnemar, ConfusedClasses, ConfusedPair};
use crate::metrics::{ConfusionMatrix, McNemar, TestResults};
use crate::plot::{self, ConfusionHeatmap, Gallery, PerClassBars};
use crate::sections::{baselines, cnn, efficientnet};
use crate::{paths, Error, Result};

mod pairs;

pub use pairs::ConfusedPairs;
pub use pairs::MisreadRow;

/// Name of this section in file names ([`crate::paths::section`]).
pub(crate) const SECTION: &str = crate::paths::section::RESULTS;
/// Figure stem of the confusion matrix.
pub(crate) const CONFUSION_FIGURE: &str = "05-confusion-matrix";
/// Figure stem of the confused pairs.
pub(crate) const PAIRS_FIGURE: &str = "05-confused-pairs";
/// Figure stem of the per-class F1 of every model.
pub(crate) const F1_FIGURE: &str = "05-per-class-f1";
/// Figure stem of the best model's top losses.
pub(crate) const TOP_LOSSES_FIGURE: &str = "05-top-losses";
/// Images in the top losses.
pub(crate) const TOP_LOSSES: usize = 16;

/// The models of Table 1: key, name in the table, the report's accuracy and macro F1 (%).
pub(crate) const MODELS: [(&str, &str, f64, f64); 4] = [
    ("logreg", "Logistic regression", 78.4, 67.9),
    ("svm", "RBF SVM", 87.8, 74.4),
    ("cnn", "CNN", 92.0, 79.0),
    ("efficientnet", "EfficientNet-b0", 95.0, 88.0),
];

/// Epochs the original report trained both networks for.
pub(crate) const ORIGINAL_EPOCHS: usize = 25;

/// What section 5 needs of one model's test results.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelOutcome {
    /// Key in `MODELS`.
    pub key: String,
    /// Name in Table 1.
    pub name: String,
    /// The results file it comes from, relative to the project root.
    pub results_file: String,
    /// Hash of the data it was computed on.
    pub data_hash: String,
    /// Seed of the split whose test part it was evaluated on.
    pub split_seed: u64,
    /// Its test results.
    pub test: TestResults,
    /// Validation accuracy of the evaluated checkpoint (the networks; `None` for the baselines,
    /// fitted on the training and validation parts together as in the original).
    #[serde(default)]
    pub validation_accuracy: Option<f64>,
}

/// Reads the outcome of every model of `MODELS` whose results file exists; also returns the
/// names of the missing ones.
pub fn collect() -> Result<(Vec<ModelOutcome>, Vec<String>)> {
    let mut found = Vec::new();
    let mut missing = Vec::new();
    let rel = |s: &str| paths::relative(&paths::result(s));
    let base = paths::result(baselines::SECTION);
    let base: Option<baselines::BaselinesResults> = if base.exists() {
        Some(paths::read_json(&base)?)
    } else {
        None
    };
    for (key, name, _, _) in MODELS {
        let outcome = match key {
            "logreg" | "svm" => base.as_ref().and_then(|b| {
                b.model(key).map(|m| ModelOutcome {
                    key: key.into(),
                    name: name.into(),
                    results_file: rel(baselines::SECTION),
                    data_hash: b.data_hash.clone(),
                    split_seed: b.config.split_seed,
                    test: m.test.clone(),
                    validation_accuracy: None,
                })
            }),
            "cnn" => neural_outcome::<cnn::CnnConfig>(key, name, cnn::SECTION, |c| c.split_seed)?,
            _ => neural_outcome::<efficientnet::EfficientNetConfig>(
                key,
                name,
                efficientnet::SECTION,
                |c| c.split_seed,
            )?,
        };
        match outcome {
            Some(o) => found.push(o),
            None => missing.push(name.to_string()),
        }
    }
    Ok((found, missing))
}

fn neural_outcome<C: serde::de::DeserializeOwned>(
    key: &str,
    name: &str,
    section: &str,
    seed: impl Fn(&C) -> u64,
) -> Result<Option<ModelOutcome>> {
    let path = paths::result(section);
    if !path.exists() {
        return Ok(None);
    }
    let r: crate::sections::neural::NeuralResults<C> = paths::read_json(&path)?;
    Ok(Some(ModelOutcome {
        key: key.into(),
        name: name.into(),
        results_file: paths::relative(&path),
        data_hash: r.data_hash,
        split_seed: seed(&r.config),
        validation_accuracy: r
            .history
            .get(r.best_epoch.wrapping_sub(1))
            .map(|h| h.val_accuracy),
        test: TestResults {
            accuracy: r.test_accuracy,
            macro_f1: r.test_macro_f1,
            per_class: r.per_class,
            confusion: r.confusion,
            predictions: r.test_predictions,
        },
    }))
}

/// One row of Table 1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Table1Row {
    /// Model name.
    pub model: String,
    /// Test accuracy, %.
    pub accuracy: f64,
    /// Test macro F1, %.
    pub macro_f1: f64,
    /// The report's accuracy, %.
    pub report_accuracy: f64,
    /// The report's macro F1, %.
    pub report_macro_f1: f64,
}

/// `report/results/05-results.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResultsSummary {
    /// Section name.
    pub section: String,
    /// Where the data came from.
    pub source: Source,
    /// Hash of the data (every model's results come from it).
    pub data_hash: String,
    /// Table 1, in `MODELS` order (models without results left out).
    pub table1: Vec<Table1Row>,
    /// Models without a results file.
    pub missing: Vec<String>,
    /// The model with the highest validation accuracy among those with a validation part (the
    /// networks); the highest test accuracy when none has one ([`Self::best_chosen_on`]).
    pub best_model: String,
    /// `validation` or `test`: what [`Self::best_model`] was chosen on.
    #[serde(default)]
    pub best_chosen_on: String,
    /// The best model's most frequent confusions, one direction each (`L` read as `1` and `1`
    /// read as `L` are two entries), most frequent first.
    pub most_confused: Vec<ConfusedPair>,
    /// The best model's most confused pairs of classes, each pair once with both directions
    /// summed, most images first (empty in files written before it was recorded).
    #[serde(default)]
    pub confused_pairs: Vec<ConfusedClasses>,
    /// Classes without a test image in any model's test set: their F1 is undefined, not 0
    /// (empty in files written before it was recorded).
    #[serde(default)]
    pub absent_classes: Vec<usize>,
    /// Per-class test F1 of every model: (model, F1 per class).
    pub per_class_f1: Vec<(String, Vec<f64>)>,
    /// Results files read.
    pub inputs: Vec<String>,
    /// McNemar's test of Table 1's top two models by test accuracy on the same test images:
    /// (the first, the second, the test), when both recorded their test predictions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paired_test: Option<(String, String, McNemar)>,
    /// The best model's most confidently wrong test images (`TOP_LOSSES` at most; empty when
    /// its trained network is not on this machine).
    #[serde(default)]
    pub top_losses: Vec<TopLoss>,
    /// The folder of the network the top losses come from (its test labels checked equal to
    /// the results file's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_losses_from: Option<String>,
}

/// Table 1 as a DataFrame: model, accuracy %, macro F1 %, and the report's two numbers.
pub fn table1(rows: &[Table1Row]) -> Result<polars::prelude::DataFrame> {
    use polars::prelude::*;
    Ok(df!(
        "model" => rows.iter().map(|r| r.model.clone()).collect::<Vec<_>>(),
        "accuracy_%" => rows.iter().map(|r| r.accuracy).collect::<Vec<_>>(),
        "macro_f1_%" => rows.iter().map(|r| r.macro_f1).collect::<Vec<_>>(),
        "report_accuracy_%" => rows.iter().map(|r| r.report_accuracy).collect::<Vec<_>>(),
        "report_macro_f1_%" => rows.iter().map(|r| r.report_macro_f1).collect::<Vec<_>>(),
    )?)
}

/// Table 1 as Markdown (numbers to one decimal, as in the report).
pub(crate) fn table1_markdown(rows: &[Table1Row]) -> String {
    let mut s = String::from(
        "| Model | Accuracy % | Macro F1 % | Report: accuracy % | Report: macro F1 % |\n\
         |---|---|---|---|---|\n",
    );
    for r in rows {
        s.push_str(&format!(
            "| {} | {:.1} | {:.1} | {:.1} | {:.1} |\n",
            r.model, r.accuracy, r.macro_f1, r.report_accuracy, r.report_macro_f1
        ));
    }
    s
}

/// Builds the summary of `outcomes` (all computed on `data`).
pub fn summarize(
    data: &Dataset,
    outcomes: &[ModelOutcome],
    missing: Vec<String>,
    n_pairs: usize,
) -> Result<ResultsSummary> {
    let hash = data.content_hash();
    if let Some(o) = outcomes.iter().find(|o| o.data_hash != hash) {
        return Err(Error::results(
            &o.results_file,
            format!(
                "comes from other data (hash {}) than {} (hash {}); rerun its section on this \
                 data first",
                o.data_hash.get(..16).unwrap_or(&o.data_hash),
                data.source(),
                hash.get(..16).unwrap_or(&hash)
            ),
            "charlab reproduce",
        ));
    }
    let on_validation = outcomes
        .iter()
        .filter_map(|o| o.validation_accuracy.map(|v| (v, o)))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, o)| o);
    let best_chosen_on = if on_validation.is_some() {
        "validation"
    } else {
        "test"
    };
    let best = on_validation
        .or_else(|| {
            outcomes.iter().max_by(|a, b| {
                a.test
                    .accuracy
                    .total_cmp(&b.test.accuracy)
                    .then(a.test.macro_f1.total_cmp(&b.test.macro_f1))
            })
        })
        .ok_or_else(|| {
            Error::results(
                paths::relative(&paths::result(baselines::SECTION)),
                "no model results yet (section 4.1, 4.2 or 4.3)",
                "charlab baselines` or `charlab train cnn",
            )
        })?;
    let chars = data.class_chars();
    let cm = ConfusionMatrix::from_counts(chars.len(), best.test.confusion.clone())?;
    let most_confused = cm
        .most_confused(n_pairs)
        .into_iter()
        .map(|c| ConfusedPair {
            truth: (c.truth, chars[c.truth]),
            predicted: (c.predicted, chars[c.predicted]),
            count: c.count,
            rate: c.rate,
        })
        .collect();
    let table1 = outcomes
        .iter()
        .filter_map(|o| {
            MODELS.iter().find(|m| m.0 == o.key).map(|m| Table1Row {
                model: o.name.clone(),
                accuracy: 100.0 * o.test.accuracy,
                macro_f1: 100.0 * o.test.macro_f1,
                report_accuracy: m.2,
                report_macro_f1: m.3,
            })
        })
        .collect();
    let mut inputs: Vec<String> = outcomes.iter().map(|o| o.results_file.clone()).collect();
    inputs.dedup();
    let paired_test = paired_test(data, outcomes)?;
    let absent_classes = (0..chars.len())
        .filter(|&c| {
            outcomes
                .iter()
                .all(|o| o.test.per_class.get(c).is_none_or(|m| m.support == 0))
        })
        .collect();
    Ok(ResultsSummary {
        section: SECTION.into(),
        source: data.source().clone(),
        data_hash: hash,
        table1,
        missing,
        best_model: best.name.clone(),
        best_chosen_on: best_chosen_on.into(),
        most_confused,
        confused_pairs: confused_pairs(&cm, chars, n_pairs),
        absent_classes,
        per_class_f1: outcomes
            .iter()
            .map(|o| {
                (
                    o.name.clone(),
                    o.test.per_class.iter().map(|m| m.f1).collect(),
                )
            })
            .collect(),
        inputs,
        paired_test,
        top_losses: Vec::new(),
        top_losses_from: None,
    })
}

/// McNemar's test of the two Table 1 models with the highest test accuracy (first the higher),
/// when both recorded test predictions on the same split.
fn paired_test(
    data: &Dataset,
    outcomes: &[ModelOutcome],
) -> Result<Option<(String, String, McNemar)>> {
    let mut ranked: Vec<&ModelOutcome> = outcomes
        .iter()
        .filter(|o| MODELS.iter().any(|m| m.0 == o.key))
        .collect();
    ranked.sort_by(|a, b| b.test.accuracy.total_cmp(&a.test.accuracy));
    let (Some(a), Some(b)) = (ranked.first(), ranked.get(1)) else {
        return Ok(None);
    };
    if a.test.predictions.is_empty()
        || b.test.predictions.is_empty()
        || a.split_seed != b.split_seed
    {
        return Ok(None);
    }
    let split = crate::split::random_split(data.len(), a.split_seed)?;
    let truth = data.labels_at(&split.test);
    let test = mcnemar(&truth, &a.test.predictions, &b.test.predictions)?;
    Ok(Some((a.name.clone(), b.name.clone(), test)))
}

/// The outcome of `summary`'s best model.
pub(crate) fn best<'a>(
    outcomes: &'a [ModelOutcome],
    summary: &ResultsSummary,
) -> Result<&'a ModelOutcome> {
    outcomes
        .iter()
        .find(|o| o.name == summary.best_model)
        .ok_or_else(|| {
            Error::param(
                "results",
                format!("no outcome of {} among the results", summary.best_model),
            )
        })
}

/// Per-class F1 of every model in `summary`, as grouped bars (legend: model and macro F1;
/// classes without test images marked as such).
pub fn per_class_f1_bars(summary: &ResultsSummary, classes: &[char]) -> PerClassBars {
    PerClassBars {
        title: "Per-class F1 on the test set".into(),
        classes: classes.to_vec(),
        series: summary
            .per_class_f1
            .iter()
            .map(|(name, f1)| {
                let macro_f1 = summary.table1.iter().find(|r| &r.model == name);
                let name = match macro_f1 {
                    Some(r) => format!("{name} (macro F1 {:.1}%)", r.macro_f1),
                    None => name.clone(),
                };
                (name, f1.clone())
            })
            .collect(),
        y_desc: plot::F1_AXIS.into(),
        absent: summary.absent_classes.clone(),
    }
}

/// Runs section 5 on `data`: reads the section 4 results, draws the three figures and writes
/// `report/results/05-results.json`.
pub(crate) fn run(data: &Dataset) -> Result<ResultsSummary> {
    let (outcomes, missing) = collect()?;
    let mut summary = summarize(data, &outcomes, missing, 4)?;
    let best = best(&outcomes, &summary)?;
    if let Some((from, top)) = best_top_losses(data, best)? {
        let split = crate::split::random_split(data.len(), best.split_seed)?;
        plot::save(
            &Gallery::top_losses(&best.name, data, &split.test, &top)?,
            &paths::figure(TOP_LOSSES_FIGURE),
        )?;
        summary.top_losses = top;
        summary.top_losses_from = Some(from);
    }
    let chars = data.class_chars();
    let cm = ConfusionMatrix::from_counts(chars.len(), best.test.confusion.clone())?;
    plot::save(
        &ConfusionHeatmap::new(&best.name, &cm, chars),
        &paths::figure(CONFUSION_FIGURE),
    )?;
    plot::save(
        &ConfusedPairs::of(data, &summary, best, 5)?,
        &paths::figure(PAIRS_FIGURE),
    )?;
    plot::save(
        &per_class_f1_bars(&summary, chars),
        &paths::figure(F1_FIGURE),
    )?;
    paths::write_json(&paths::result(SECTION), &summary)?;
    Ok(summary)
}

/// The best network's top losses on the test part ([`top_losses`]), from the first of its run
/// folder (the full schedule's, then the quick one's) and its committed weights
/// (`weights/<section>/`) that labels the test part exactly as its results file says; `None`
/// when the best model is not a network or none of them is on this machine.
fn best_top_losses(data: &Dataset, best: &ModelOutcome) -> Result<Option<(String, Vec<TopLoss>)>> {
    let section = match best.key.as_str() {
        "cnn" => cnn::SECTION,
        "efficientnet" => efficientnet::SECTION,
        _ => return Ok(None),
    };
    let split = crate::split::random_split(data.len(), best.split_seed)?;
    let truth = data.labels_at(&split.test);
    let candidates = [
        paths::run_dir(section, crate::Profile::Full),
        paths::run_dir(section, crate::Profile::Quick),
        paths::weights_dir().join(section),
    ];
    for dir in candidates {
        if !dir.join(paths::run_files::BEST_WEIGHTS).exists() {
            continue;
        }
        // The layout the results were scored in is not recorded here: try both.
        for channels_last in [false, true] {
            let logits = crate::training::Trained::load_as(&dir, channels_last)
                .and_then(|t| t.logits(data, &split.test));
            let Ok(logits) = logits else { break };
            if crate::training::arg_max(&logits)? == best.test.predictions {
                let top = top_losses(&logits, &truth, TOP_LOSSES)?;
                return Ok(Some((paths::relative(&dir), top)));
            }
        }
    }
    Ok(None)
}

/// The text `charlab results` prints: Table 1, the models without results, the best model's
/// most confused pairs, and the files written.
pub(crate) fn summary(res: &ResultsSummary) -> String {
    let mut s = format!("{}\n", table1_markdown(&res.table1));
    if !res.missing.is_empty() {
        s.push_str(&format!("no results yet for: {}\n", res.missing.join(", ")));
    }
    s.push_str(&format!(
        "best model: {}; most confused pairs:\n",
        res.best_model
    ));
    for p in &res.most_confused {
        s.push_str(&format!(
            "  true {} -> predicted {}: {} images ({:.1}%)\n",
            p.truth.1,
            p.predicted.1,
            p.count,
            100.0 * p.rate
        ));
    }
    s.push_str(&format!(
        "wrote report/results/{SECTION}.json, figures/{CONFUSION_FIGURE}, {PAIRS_FIGURE}, \
         {F1_FIGURE}\n"
    ));
    s
}
