//! Section 5 of the report: Table 1, the noise it sits in, and what the best model confuses.

use super::analysis::{self, ModelView};
use super::{cv, levers, Writer};
use crate::sections::cv::CvResults;
use crate::sections::dataset::DatasetResults;
use crate::sections::levers::LeversResults;
use crate::sections::preprocessing::PreprocessingResults;
use crate::sections::{baselines, cnn, efficientnet, results};

/// Each Table 1 model's test confusion matrix and per-class scores, in [`results::MODELS`]
/// order (a baseline without results left out).
pub(super) fn views<'a>(
    base: &'a baselines::BaselinesResults,
    cnn_r: &'a cnn::NeuralResults,
    eff: &'a efficientnet::NeuralResults,
) -> Vec<ModelView<'a>> {
    let mut views: Vec<ModelView<'a>> = Vec::new();
    for (key, name, _, _) in results::MODELS {
        match key {
            "cnn" => views.push(ModelView {
                name,
                confusion: &cnn_r.confusion,
                per_class: &cnn_r.per_class,
            }),
            "efficientnet" => views.push(ModelView {
                name,
                confusion: &eff.confusion,
                per_class: &eff.per_class,
            }),
            k => {
                if let Some(m) = base.model(k) {
                    views.push(ModelView {
                        name,
                        confusion: &m.test.confusion,
                        per_class: &m.test.per_class,
                    });
                }
            }
        }
    }
    views
}

/// Writes section 5; returns whether the best model confuses look-alike twins.
pub(super) fn write(
    w: &mut Writer,
    ds: &DatasetResults,
    pre: &PreprocessingResults,
    res: &results::ResultsSummary,
    cv_res: Option<&CvResults>,
    levers_res: Option<&LeversResults>,
    views: &[ModelView],
) -> bool {
    w.para("## 5 Results");
    let best = res.best_model.clone();
    let table = w.lit("Table 1");
    let row6 = levers::table1_row(w, levers_res, cv_res);
    let last = if row6.is_some() {
        " The last row is section 6.1's best model (chosen on validation), beside the \
         original's best, its ImageNet-pretrained EfficientNet-b0."
    } else {
        ""
    };
    let chosen = if res.best_chosen_on == "validation" {
        let top_on_test = res
            .table1
            .iter()
            .max_by(|a, b| a.accuracy.total_cmp(&b.accuracy))
            .is_some_and(|r| r.model == best);
        format!(
            "Chosen on validation accuracy (the networks' evaluated checkpoints; the baselines \
             are fitted on the training and validation parts together, as in the original, so \
             they have no validation score), the best of the four models here is {best}{}",
            if top_on_test {
                ", which also has the highest test accuracy."
            } else {
                "; another has the higher test accuracy, and the choice stays the one made \
                 on validation."
            }
        )
    } else {
        format!(
            "The best of the four models here, with no validation score to choose on, is the \
             one with the highest test accuracy, {best}."
        )
    };
    w.para(&format!(
        "{table}: test accuracy and macro-averaged F1, beside the original report's. \
         {chosen}{last}"
    ));
    for r in &res.table1 {
        w.numbers.push(format!("{:.1}", r.accuracy));
        w.numbers.push(format!("{:.1}", r.macro_f1));
        w.numbers.push(format!("{:.1}", r.report_accuracy));
        w.numbers.push(format!("{:.1}", r.report_macro_f1));
    }
    let mut table1 = match cv_res {
        Some(c) => cv::table1(w, &res.table1, c),
        None => results::table1_markdown(&res.table1),
    };
    if let Some(row) = row6 {
        table1.push_str(&row);
    }
    w.para(table1.trim_end());
    let n_test = pre.random.sizes.2;
    if let Some(t) = analysis::noise(w, &res.table1, n_test, res.paired_test.as_ref(), cv_res) {
        w.para(&t);
    }
    w.figure(
        "05-confusion-matrix",
        &format!("Row-normalised confusion matrix of {best} on the test set."),
    );
    let pairs: Vec<String> = res
        .confused_pairs
        .iter()
        .map(|p| {
            // Class characters are names, even the digits.
            let (a, b) = (w.char_lit(p.classes[0].1), w.char_lit(p.classes[1].1));
            let count = w.int(p.count as usize);
            let dirs: Vec<String> = p
                .directions
                .iter()
                .map(|d| {
                    let (t, pr) = (w.char_lit(d.truth.1), w.char_lit(d.predicted.1));
                    let (c, r) = (w.int(d.count as usize), w.num(100.0 * d.rate, 1));
                    format!("{t} as {pr} {c}, {r}% of {t}")
                })
                .collect();
            format!("{a} and {b}, {count} test images ({})", dirs.join("; "))
        })
        .collect();
    if !pairs.is_empty() {
        // Class names, not numbers: the original report's confused pairs.
        let original = w.lit("I and 1, O and 0, Z and 2, S and 5");
        w.para(&format!(
            "The pairs it confuses most, both directions counted: {}. These are characters \
             that look alike in handwriting; the original report's most confused pairs were \
             {original}.",
            pairs.join("; ")
        ));
    }
    w.figure(
        "05-confused-pairs",
        &format!(
            "The most confused pairs: test images {best} misread, beside images of the class \
             it read them as."
        ),
    );
    if !res.top_losses.is_empty() {
        let n = w.int(res.top_losses.len());
        let sure = res
            .top_losses
            .iter()
            .filter(|t| t.p_predicted >= 0.9)
            .count();
        let sure_n = w.int(sure);
        let ninety = w.lit("0.9");
        w.para(&format!(
            "The {n} test images {best} is most confidently wrong about (highest cross-entropy \
             loss; fastai's top losses): in {sure_n} of them it gives the wrong class a \
             probability of {ninety} or more. They are worth reading one by one before trusting \
             the remaining error rate: an image that looks like the class it was read as \
             points to a wrong label in the data, one that looks like neither to an image no \
             model can read."
        ));
        w.figure(
            "05-top-losses",
            &format!(
                "Top losses of {best}: each test image with its true class, the class it was \
                 read as, and the probabilities of both."
            ),
        );
    }
    w.figure("05-per-class-f1", "Per-class F1 of every model.");
    let twins = analysis::look_alikes(w, ds, views, &best);
    let twins_confused = !twins.is_empty();
    if twins_confused {
        w.para(
            "Per class, the frequency prior decides between look-alikes: the models read the \
             rarer character of a pair as its more frequent twin, as the original report \
             observed.",
        );
        for t in &twins {
            w.line(&format!("- {t}"));
        }
        w.line("");
    }
    if let Some(bv) = views.iter().find(|v| v.name == best) {
        let weak = analysis::weak_classes(w, ds, bv, 0.3);
        if !weak.is_empty() {
            let pct = w.num(30.0, 0);
            w.para(&format!(
                "Classes under {pct}% F1 for {best}: {} (F1 %).",
                weak.join(", ")
            ));
        }
    }
    twins_confused
}
