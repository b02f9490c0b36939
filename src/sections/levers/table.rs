//! `report/results/06-future-work.json`: section 6's best model and the table of every variant
//! and vote, as the issue and the report show them.

use serde::{Deserialize, Serialize};

use super::{Best, LeversResults};
use crate::Result;

/// Name of the summary of section 6 (`report/results/06-future-work.json`).
pub(crate) const FUTURE_WORK: &str = "06-future-work";

/// One row of the table of every variant run (percent).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct VariantRow {
    /// Variant name.
    pub model: String,
    /// Network (`cnn`, `efficientnet-b0`, ...).
    pub net: String,
    /// Trainable parameters.
    pub parameters: i64,
    /// `scratch` or `pretrained (<run>)`.
    pub initialisation: String,
    /// Whether the training images were augmented.
    pub augmentation: bool,
    /// Class weights and logit adjustment as used.
    pub imbalance: String,
    /// Epochs trained on the training part.
    pub epochs: usize,
    /// Validation macro F1 after adjustment (what picks the best), percent.
    pub validation_macro_f1: f64,
    /// Test accuracy after adjustment, percent.
    pub test_accuracy: f64,
    /// Test macro F1 after adjustment, percent.
    pub test_macro_f1: f64,
    /// Seconds of training on the training part (pretraining not included).
    pub train_seconds: f64,
    /// Training images per second.
    pub train_images_per_second: f64,
}

/// `report/results/06-future-work.json`: the best model of section 6 and every variant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct FutureWork {
    /// The best variant (chosen on validation).
    pub best: Option<Best>,
    /// Every variant run.
    pub variants: Vec<VariantRow>,
}

/// The table of variants of `res`.
pub(crate) fn future_work(res: &LeversResults) -> FutureWork {
    let rows = res
        .variants
        .iter()
        .map(|v| {
            let t = &v.variant.train;
            let mut imbalance = Vec::new();
            if let Some(p) = t.class_weight_power {
                imbalance.push(format!("class weights (n/n_c)^{p}"));
            }
            if v.scored.tau > 0.0 {
                imbalance.push(format!("logit adjustment, tau {}", v.scored.tau));
            }
            VariantRow {
                model: v.variant.name.clone(),
                net: v.variant.net.label(),
                parameters: v.parameters,
                initialisation: match &v.variant.pretrained {
                    Some(p) => format!("pretrained ({p})"),
                    None => "scratch".into(),
                },
                augmentation: t.augment.is_some(),
                imbalance: if imbalance.is_empty() {
                    "none".into()
                } else {
                    imbalance.join(" + ")
                },
                epochs: v.history.len(),
                validation_macro_f1: 100.0 * v.scored.validation.adjusted_macro_f1,
                test_accuracy: 100.0 * v.scored.test.adjusted_accuracy,
                test_macro_f1: 100.0 * v.scored.test.adjusted_macro_f1,
                train_seconds: v.train_seconds,
                train_images_per_second: v.train_images_per_second,
            }
        })
        .collect();
    let mut rows: Vec<VariantRow> = rows;
    for en in &res.ensembles {
        let parts: Vec<&VariantRow> = rows
            .iter()
            .filter(|r| en.members.contains(&r.model))
            .collect();
        let row = VariantRow {
            model: en.name.clone(),
            net: "ensemble".into(),
            parameters: parts.iter().map(|r| r.parameters).sum(),
            initialisation: format!("{} of: {}", en.name, en.members.join(", ")),
            augmentation: parts.iter().any(|r| r.augmentation),
            imbalance: if en.scored.tau > 0.0 {
                format!("logit adjustment, tau {}", en.scored.tau)
            } else {
                "none".into()
            },
            epochs: 0,
            validation_macro_f1: 100.0 * en.scored.validation.adjusted_macro_f1,
            test_accuracy: 100.0 * en.scored.test.adjusted_accuracy,
            test_macro_f1: 100.0 * en.scored.test.adjusted_macro_f1,
            train_seconds: parts.iter().map(|r| r.train_seconds).sum(),
            train_images_per_second: 0.0,
        };
        rows.push(row);
    }
    FutureWork {
        best: res.best.clone(),
        variants: rows,
    }
}

/// The variants as a table (percent, one decimal; seconds whole).
pub fn variants_table(res: &LeversResults) -> Result<polars::prelude::DataFrame> {
    use polars::prelude::*;
    let fw = future_work(res);
    let r1 = |v: f64| (v * 10.0).round() / 10.0;
    let v = &fw.variants;
    Ok(df!(
        "variant" => v.iter().map(|r| r.model.clone()).collect::<Vec<_>>(),
        "init" => v.iter().map(|r| r.initialisation.clone()).collect::<Vec<_>>(),
        "augment" => v.iter().map(|r| r.augmentation).collect::<Vec<_>>(),
        "imbalance" => v.iter().map(|r| r.imbalance.clone()).collect::<Vec<_>>(),
        "epochs" => v.iter().map(|r| r.epochs as u32).collect::<Vec<_>>(),
        "val F1 %" => v.iter().map(|r| r1(r.validation_macro_f1)).collect::<Vec<_>>(),
        "test acc %" => v.iter().map(|r| r1(r.test_accuracy)).collect::<Vec<_>>(),
        "test F1 %" => v.iter().map(|r| r1(r.test_macro_f1)).collect::<Vec<_>>(),
        "train s" => v.iter().map(|r| r.train_seconds.round()).collect::<Vec<_>>(),
    )?)
}
