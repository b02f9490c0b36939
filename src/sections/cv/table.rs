//! Section 6.2's tables (for the notebook and the CLI), in percent rounded to one decimal.

use polars::prelude::*;

use super::{CvResults, MeanStd};
use crate::display::text_table;
use crate::Result;

fn pct(x: f64) -> f64 {
    (1000.0 * x).round() / 10.0
}

/// `mean +/- std` in percent.
pub(crate) fn pm(m: &MeanStd) -> String {
    format!("{:.1} ± {:.1}", 100.0 * m.mean, 100.0 * m.std)
}

/// One row per model: folds done, held-out and test accuracy and macro F1 (mean ± std).
pub fn cv_table(res: &CvResults) -> Result<DataFrame> {
    let m = &res.models;
    Ok(df!(
        "model" => m.iter().map(|m| m.model.label.clone()).collect::<Vec<_>>(),
        "folds" => m.iter().map(|m| m.folds.len() as u32).collect::<Vec<_>>(),
        "held-out accuracy (%)" => m.iter().map(|m| pm(&m.heldout_accuracy)).collect::<Vec<_>>(),
        "held-out macro F1 (%)" => m.iter().map(|m| pm(&m.heldout_macro_f1)).collect::<Vec<_>>(),
        "test accuracy (%)" => m.iter().map(|m| pm(&m.test_accuracy)).collect::<Vec<_>>(),
        "test macro F1 (%)" => m.iter().map(|m| pm(&m.test_macro_f1)).collect::<Vec<_>>(),
        "fit s per fold" => m.iter()
                .map(|m| {
                    (m.folds.iter().map(|f| f.seconds).sum::<f64>() / m.folds.len().max(1) as f64)
                        .round()
                })
                .collect::<Vec<_>>(),
    )?)
}

/// The logistic regression and SVM grid points.
pub fn grid_table(res: &CvResults) -> Result<DataFrame> {
    let p: Vec<_> = res.grid.logreg.iter().chain(&res.grid.svm).collect();
    let model = |g: &crate::tuning::GridPoint| {
        if g.gamma.is_some() {
            "RBF SVM"
        } else {
            "Logistic regression"
        }
    };
    Ok(df!(
        "model" => p.iter().map(|g| model(g)).collect::<Vec<_>>(),
        "C" => p.iter().map(|g| g.c).collect::<Vec<_>>(),
        "gamma (x scale)" => p.iter().map(|g| g.gamma_factor).collect::<Vec<_>>(),
        "accuracy (%)" => p.iter().map(|g| pm(&g.accuracy)).collect::<Vec<_>>(),
        "macro F1 (%)" => p.iter().map(|g| pm(&g.macro_f1)).collect::<Vec<_>>(),
        "fit s (all folds)" => p.iter().map(|g| g.seconds.round()).collect::<Vec<_>>(),
    )?)
}

/// The CNN grid points.
pub fn cnn_grid_table(res: &CvResults) -> Result<DataFrame> {
    let p = &res.grid.cnn;
    Ok(df!(
        "dropout (conv / hidden)" => p.iter()
                .map(|c| format!("{} / {}", c.conv_dropout, c.hidden_dropout))
                .collect::<Vec<_>>(),
        "learning rate" => p.iter().map(|c| c.learning_rate).collect::<Vec<_>>(),
        "best epoch" => p.iter().map(|c| c.best_epoch as u32).collect::<Vec<_>>(),
        "val loss" => p.iter()
                .map(|c| (c.val_loss * 1000.0).round() / 1000.0)
                .collect::<Vec<_>>(),
        "val accuracy (%)" => p.iter().map(|c| pct(c.val_accuracy)).collect::<Vec<_>>(),
        "val macro F1 (%)" => p.iter().map(|c| pct(c.val_macro_f1)).collect::<Vec<_>>(),
    )?)
}

/// The ensembles beside their best members, on test.
pub fn ensembles_table(res: &CvResults) -> Result<DataFrame> {
    let e = &res.ensembles;
    Ok(df!(
        "ensemble" => e.iter().map(|e| e.name.clone()).collect::<Vec<_>>(),
        "test accuracy (%)" => e.iter().map(|e| pct(e.test_accuracy)).collect::<Vec<_>>(),
        "test macro F1 (%)" => e.iter().map(|e| pct(e.test_macro_f1)).collect::<Vec<_>>(),
        "best member" => e.iter().map(|e| e.best_member.clone()).collect::<Vec<_>>(),
        "its accuracy (%)" => e.iter()
                .map(|e| pct(e.best_member_test_accuracy))
                .collect::<Vec<_>>(),
        "its macro F1 (%)" => e.iter()
                .map(|e| pct(e.best_member_test_macro_f1))
                .collect::<Vec<_>>(),
    )?)
}

/// What the CLI prints after a run.
pub(crate) fn summary(res: &CvResults) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "{} folds of {} pool images (held-out sizes {:?}); test {} images untouched\n",
        res.fold_sizes.len(),
        res.pool_images,
        res.fold_sizes,
        res.test_images
    ));
    for t in &res.tiny_classes {
        s.push_str(&format!(
            "class {} ('{}'): {} pool image(s), held out in fold(s) {:?} only; {} test image(s)\n",
            t.class,
            t.character,
            t.images,
            t.held_out_in.iter().map(|f| f + 1).collect::<Vec<_>>(),
            t.test_images
        ));
    }
    if let Some(p) = res.grid.best_logreg() {
        s.push_str(&format!(
            "grid: logistic regression C = {} (macro F1 {})\n",
            p.c,
            pm(&p.macro_f1)
        ));
    }
    if let Some(p) = res.grid.best_svm() {
        s.push_str(&format!(
            "grid: SVM C = {}, gamma = {} x scale (macro F1 {})\n",
            p.c,
            p.gamma_factor.unwrap_or(1.0),
            pm(&p.macro_f1)
        ));
    }
    if let Some(p) = res.grid.best_cnn() {
        s.push_str(&format!(
            "grid: CNN dropout {} / {}, learning rate {} (validation macro F1 {:.1}%)\n",
            p.conv_dropout,
            p.hidden_dropout,
            p.learning_rate,
            100.0 * p.val_macro_f1
        ));
    }
    let header = "model                          folds  held-out acc   held-out F1    test acc       test F1";
    s.push_str(&text_table(header, &res.models, |m| {
        format!(
            "{:<30} {:>5}  {:<13} {:<13} {:<13} {:<13}",
            m.model.label,
            m.folds.len(),
            pm(&m.heldout_accuracy),
            pm(&m.heldout_macro_f1),
            pm(&m.test_accuracy),
            pm(&m.test_macro_f1)
        )
    }));
    for e in &res.ensembles {
        s.push_str(&format!(
            "{:<50} test {:.1}% / F1 {:.1}%  (best member {}: {:.1}% / {:.1}%)\n",
            e.name,
            100.0 * e.test_accuracy,
            100.0 * e.test_macro_f1,
            e.best_member,
            100.0 * e.best_member_test_accuracy,
            100.0 * e.best_member_test_macro_f1
        ));
    }
    s
}
