//! The report's section 6.2 (cross-validation, grid search, votes), written from
//! `report/results/06.2-cv.json`, and Table 1's cross-validated columns.

use super::Writer;
use crate::sections::cv::{self, CvResults, ModelCv};
use crate::sections::results::Table1Row;
use crate::Result;

/// Two-sided 95% critical values of Student's t for 1 to 10 degrees of freedom.
const T95: [f64; 10] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
];

/// The results file, when section 6.2 has run.
pub(super) fn results() -> Result<Option<CvResults>> {
    super::read_optional(cv::SECTION)
}

/// A paired comparison of two models over the same folds with Nadeau and Bengio's corrected
/// resampled t-test (the variance of the mean difference inflated by `1/k + n_test/n_train`,
/// since the folds' training sets overlap): the mean difference `b - a` and whether it
/// exceeds the noise at 95%.
pub fn paired(a: &[f64], b: &[f64], heldout_share: f64) -> Option<(f64, bool)> {
    let k = a.len().min(b.len());
    if k < 2 {
        return None;
    }
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| y - x).collect();
    let mean = d.iter().sum::<f64>() / k as f64;
    let var = d.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (k - 1) as f64;
    let correction = 1.0 / k as f64 + heldout_share / (1.0 - heldout_share);
    let se = (var * correction).sqrt();
    let t = if se > 0.0 {
        mean.abs() / se
    } else {
        f64::INFINITY
    };
    Some((mean, t > T95[(k - 2).min(T95.len() - 1)]))
}

fn folds_of(m: &ModelCv, f: fn(&cv::FoldScore) -> f64) -> Vec<f64> {
    m.folds.iter().map(f).collect()
}

fn pm(w: &mut Writer, m: &crate::metrics::MeanStd) -> String {
    format!("{} ± {}", w.num(100.0 * m.mean, 1), w.num(100.0 * m.std, 1))
}

/// Table 1 with the cross-validated held-out scores (mean ± std over the folds) beside the
/// single split's, for the models section 6.2 has finished.
pub(super) fn table1(w: &mut Writer, rows: &[Table1Row], res: &CvResults) -> String {
    let k = w.int(res.config.folds);
    let mut s = format!(
        "| Model | Accuracy % | Macro F1 % | {k}-fold CV: accuracy % | {k}-fold CV: macro F1 % | Report: accuracy % | Report: macro F1 % |\n\
         |---|---|---|---|---|---|---|\n"
    );
    for r in rows {
        let name = crate::sections::results::MODELS
            .iter()
            .find(|m| m.1 == r.model)
            .map_or("", |m| m.0);
        let [ca, cf] = cv_cells(w, res, name);
        s.push_str(&format!(
            "| {} | {:.1} | {:.1} | {ca} | {cf} | {:.1} | {:.1} |\n",
            r.model, r.accuracy, r.macro_f1, r.report_accuracy, r.report_macro_f1
        ));
    }
    s
}

/// The cross-validated held-out accuracy and macro F1 (mean ± std) of the model `name`, or
/// `-` while its folds have not all finished.
pub(super) fn cv_cells(w: &mut Writer, res: &CvResults, name: &str) -> [String; 2] {
    match res
        .models
        .iter()
        .find(|c| c.model.name == name)
        .filter(|c| c.complete(res.config.folds))
    {
        Some(c) => [pm(w, &c.heldout_accuracy), pm(w, &c.heldout_macro_f1)],
        None => ["-".into(), "-".into()],
    }
}

/// Writes section 6.2, or a line saying how to compute it when its results are missing.
pub(super) fn section(w: &mut Writer) -> Result<()> {
    w.para("### 6.2 How sure are the numbers: cross-validation, grid search and votes");
    match results()? {
        Some(res) => write_section(w, &res),
        None => w.para("No results yet: `charlab cv` computes this section."),
    }
    Ok(())
}

/// Section 6.2's text from `res` (after its heading).
pub fn write_section(w: &mut Writer, res: &CvResults) {
    let k = res.config.folds;
    let (kk, pool, test) = (w.int(k), w.int(res.pool_images), w.int(res.test_images));
    let inner = w.num(100.0 * res.config.inner_validation, 0);
    let level = w.lit("95%");
    w.para(&format!(
        "Every model is cross-validated over {kk} stratified folds of the {pool} training and \
         validation images; the {test} test images are never used to fit or to choose. In each \
         fold a model is fitted on the other folds (a network keeps {inner}% of them, \
         stratified, to pick its checkpoint and logit adjustment) and scored on the held-out \
         fold; each fold model is scored on the test part too, which is what the votes below \
         use. A difference between two models is called real when Nadeau and Bengio's \
         corrected paired t-test over the same folds (it allows for the overlap of the folds' \
         training sets) puts it beyond the noise at {level}."
    ));
    for t in &res.tiny_classes {
        let (c, n) = (w.int(t.class), w.int(t.images));
        let ch = w.char_lit(t.character);
        let folds: Vec<String> = t.held_out_in.iter().map(|f| w.int(f + 1)).collect();
        let test_note = if t.test_images == 0 {
            " It has no test image either."
        } else {
            ""
        };
        w.para(&format!(
            "Class {c} ({ch}, {n} image) cannot be spread over the folds: it is held out in fold \
             {} only, where no model has seen it and its F1 of 0 counts in that fold's macro \
             F1; in the other folds it is trained on but never scored.{test_note}",
            folds.join(", "),
        ));
    }
    // Table 6.2.
    // Held-out macro F1 over the classes each fold could learn, when every model has it.
    let learnable = !res.models.is_empty()
        && res
            .models
            .iter()
            .all(|m| m.heldout_macro_f1_learnable.is_some());
    let mut table = if learnable {
        String::from(
            "| model | folds | held-out accuracy % | held-out macro F1 % | held-out macro F1 %, learnable classes | test accuracy % (fold models) | test macro F1 % | fit s per fold |\n|---|---|---|---|---|---|---|---|\n",
        )
    } else {
        String::from(
            "| model | folds | held-out accuracy % | held-out macro F1 % | test accuracy % (fold models) | test macro F1 % | fit s per fold |\n|---|---|---|---|---|---|---|\n",
        )
    };
    for m in &res.models {
        let label = w.lit(&m.model.label);
        let folds = w.int(m.folds.len());
        let mut cells = vec![pm(w, &m.heldout_accuracy), pm(w, &m.heldout_macro_f1)];
        if let Some(l) = m.heldout_macro_f1_learnable.as_ref().filter(|_| learnable) {
            cells.push(pm(w, l));
        }
        cells.extend([
            pm(w, &m.test_accuracy),
            pm(w, &m.test_macro_f1),
            w.num(
                m.folds.iter().map(|f| f.seconds).sum::<f64>() / m.folds.len().max(1) as f64,
                0,
            ),
        ]);
        table.push_str(&format!("| {label} | {folds} | {} |\n", cells.join(" | ")));
    }
    let t = w.lit("Table 6.2");
    let running = if res.models.iter().any(|m| !m.complete(k)) {
        format!(" A row with fewer than {kk} folds is still running.")
    } else {
        String::new()
    };
    let learnable_note = if learnable {
        " The learnable classes of a fold are those its fit part has images of: a class whose \
         every pool image is held out (a class with a single image, in the fold that holds \
         it) cannot be learned, and its certain F1 of 0 lowers that fold's macro F1 and widens every \
         spread; the test split's macro F1 leaves it out too, because test has no image of it."
    } else {
        ""
    };
    w.para(&format!(
        "{t}: mean ± standard deviation over the folds.{running}{learnable_note}"
    ));
    w.para(table.trim_end());
    // Which differences exceed the noise: neighbours by held-out accuracy.
    let share = 1.0 / k as f64;
    let mut done: Vec<&ModelCv> = res.models.iter().filter(|m| m.complete(k)).collect();
    done.sort_by(|a, b| b.heldout_accuracy.mean.total_cmp(&a.heldout_accuracy.mean));
    let mut lines = Vec::new();
    for pair in done.windows(2) {
        let (hi, lo) = (pair[0], pair[1]);
        let (hn, ln) = (w.lit(&hi.model.label), w.lit(&lo.model.label));
        let acc = paired(
            &folds_of(lo, |f| f.heldout_accuracy),
            &folds_of(hi, |f| f.heldout_accuracy),
            share,
        );
        let f1 = paired(
            &folds_of(lo, |f| f.heldout_macro_f1),
            &folds_of(hi, |f| f.heldout_macro_f1),
            share,
        );
        if let (Some((da, ra)), Some((df, rf))) = (acc, f1) {
            let verdict = |real: bool| {
                if real {
                    "beyond the noise"
                } else {
                    "within the noise"
                }
            };
            let (das, dfs) = (w.num(100.0 * da, 1), w.num(100.0 * df.abs(), 1));
            // No sign on a difference that rounds to zero ("-0.0").
            let sign = if dfs == "0.0" {
                ""
            } else if df < 0.0 {
                "-"
            } else {
                "+"
            };
            lines.push(format!(
                "- {hn} over {ln}: +{das} points of accuracy ({}), {sign}{dfs} of macro F1 ({}).",
                verdict(ra),
                verdict(rf)
            ));
        }
    }
    if !lines.is_empty() {
        w.para("Neighbours in held-out accuracy, compared fold by fold:");
        for l in lines {
            w.line(&l);
        }
        w.line("");
    }
    w.figure(
        cv::CV_FIGURE,
        "Held-out accuracy and macro F1 of every fold; bars: mean ± standard deviation.",
    );
    grid(w, res);
    votes(w, res);
}

fn grid(w: &mut Writer, res: &CvResults) {
    let g = &res.grid;
    if g.logreg.is_empty() && g.svm.is_empty() && g.cnn.is_empty() {
        return;
    }
    let gf = w.int(res.config.grid.folds);
    let mut parts = Vec::new();
    if let Some(b) = g.best_logreg() {
        let c = w.lit(&format!("{}", b.c));
        let f1 = pm(w, &b.macro_f1);
        let cs: Vec<String> = g
            .logreg
            .iter()
            .map(|p| w.lit(&format!("{}", p.c)))
            .collect();
        let edge = if g.logreg.first() == Some(b) || g.logreg.last() == Some(b) {
            ", at the edge of the grid, so a value beyond it may do better still"
        } else {
            ""
        };
        parts.push(format!(
            "logistic regression's C over {} chose C = {c} (macro F1 {f1}%{edge})",
            cs.join(", ")
        ));
    }
    if let Some(b) = g.best_svm() {
        let c = w.lit(&format!("{}", b.c));
        let gm = w.lit(&format!("{}", b.gamma_factor.unwrap_or(1.0)));
        let f1 = pm(w, &b.macro_f1);
        let acc = pm(w, &b.accuracy);
        let n = w.int(g.svm.len());
        parts.push(format!(
            "the SVM's {n} (C, gamma) pairs chose C = {c} and gamma = {gm} times \
             scikit-learn's \"scale\" (accuracy {acc}%, macro F1 {f1}%)"
        ));
    }
    if !parts.is_empty() {
        w.para(&format!(
            "Grid search, each point scored by {gf}-fold cross-validation on the same pool: {}. \
             The chosen settings are cross-validated above as their own rows (unless they are \
             Table 1's already).",
            parts.join("; ")
        ));
    }
    if !g.svm.is_empty() {
        w.figure(
            cv::SVM_GRID_FIGURE,
            "The SVM grid: mean held-out macro F1 (and accuracy) per C and gamma.",
        );
    }
    if let Some(b) = g.best_cnn() {
        let n = w.int(g.cnn.len());
        let epochs = res.config.grid.cnn.as_ref().map_or(0, |c| c.train.epochs);
        let e = w.int(epochs);
        let (cd, hd, lr) = (
            w.lit(&format!("{}", b.conv_dropout)),
            w.lit(&format!("{}", b.hidden_dropout)),
            w.lit(&format!("{}", b.learning_rate)),
        );
        let f1 = w.num(100.0 * b.val_macro_f1, 1);
        let spread_lo = g
            .cnn
            .iter()
            .map(|p| p.val_macro_f1)
            .fold(f64::INFINITY, f64::min);
        let lo = w.num(100.0 * spread_lo, 1);
        w.para(&format!(
            "The 4-block CNN's dropout and learning rate ({n} points, {e} epochs each on the \
             training part, scored on validation) chose dropout {cd} after the convolutions and \
             {hd} before the classifier with learning rate {lr}: {f1}% validation macro F1, the \
             worst point {lo}%. Short runs favour fast learners, so this ranks settings for \
             the first epochs only."
        ));
    }
}

fn votes(w: &mut Writer, res: &CvResults) {
    if res.ensembles.is_empty() {
        return;
    }
    let mut table = String::from(
        "| ensemble | test accuracy % | test macro F1 % | best member (held-out) | its accuracy % | its macro F1 % |\n|---|---|---|---|---|---|\n",
    );
    for e in &res.ensembles {
        let name = w.lit(&e.name);
        let member = w.lit(&e.best_member);
        let cells = [
            w.num(100.0 * e.test_accuracy, 1),
            w.num(100.0 * e.test_macro_f1, 1),
        ];
        let mc = [
            w.num(100.0 * e.best_member_test_accuracy, 1),
            w.num(100.0 * e.best_member_test_macro_f1, 1),
        ];
        table.push_str(&format!(
            "| {name} | {} | `{member}` | {} |\n",
            cells.join(" | "),
            mc.join(" | ")
        ));
    }
    let t = w.lit("Table 6.3");
    w.para(&format!(
        "{t}: votes on the test part, beside the member with the highest held-out macro F1 \
         (chosen without the test part). A majority vote counts each member's label once \
         (ties go to the better member); a soft vote averages the members' probabilities."
    ));
    w.para(table.trim_end());
    let folders: Vec<String> = res
        .ensembles
        .iter()
        .filter_map(|e| e.run_dir.as_deref())
        .map(|d| format!("`{}`", w.lit(d)))
        .collect();
    if !folders.is_empty() {
        w.para(&format!(
            "Each network's soft vote of its folds is saved as a model folder that `charlab \
             predict --model` loads: {}.",
            folders.join(", ")
        ));
    }
    let Some(best) = res
        .ensembles
        .iter()
        .max_by(|a, b| a.test_macro_f1.total_cmp(&b.test_macro_f1))
    else {
        return;
    };
    let mut gains: Vec<(usize, f64)> = best
        .per_class_f1
        .iter()
        .zip(&best.best_member_per_class_f1)
        .map(|(e, m)| e - m)
        .enumerate()
        .collect();
    gains.sort_by(|a, b| b.1.total_cmp(&a.1));
    let chars = &res.class_chars;
    let top: Vec<String> = gains
        .iter()
        .take(3)
        .filter(|g| g.1 > 0.0)
        .map(|&(c, d)| {
            let ch = w.char_lit(chars.get(c).copied().unwrap_or('?'));
            format!(
                "{ch} {}{}",
                if d < 0.0 { "-" } else { "+" },
                w.num(100.0 * d.abs(), 1)
            )
        })
        .collect();
    let name = w.lit(&best.name);
    let (da, df) = (
        100.0 * (best.test_accuracy - best.best_member_test_accuracy),
        100.0 * (best.test_macro_f1 - best.best_member_test_macro_f1),
    );
    let (das, dfs) = (w.num(da.abs(), 1), w.num(df.abs(), 1));
    let sa = if da < 0.0 { "-" } else { "+" };
    let sf = if df < 0.0 { "-" } else { "+" };
    let per_class = if top.is_empty() {
        String::new()
    } else {
        format!(
            " The classes it helps most (F1 points over that member): {}.",
            top.join(", ")
        )
    };
    w.para(&format!(
        "The vote with the highest test macro F1, {name}, adds {sa}{das} points of accuracy \
         and {sf}{dfs} of macro F1 over its best member.{per_class}"
    ));
}
