//! The report's section 6.1 (pretraining, imbalance, augmentation), written from
//! `report/results/06.1-levers.json`: what was run, the table of variants, and what each lever
//! changed, measured between variants that differ in that lever alone.

use super::comparisons::{self, init_source};
use super::Writer;
use crate::inference::Scored;
use crate::sections::levers::{self, LeversResults, PretrainSource};
use crate::sections::{cnn, results};
use crate::{paths, Result};

/// Table 1's row for section 6.1's best model (beside the original's best, EfficientNet-b0
/// pretrained), when its results exist. With section 6.2's results, the row has its
/// cross-validated cells too.
pub(super) fn table1_row(
    w: &mut Writer,
    res: Option<&LeversResults>,
    cv: Option<&crate::sections::cv::CvResults>,
) -> Option<String> {
    let res = res?;
    let best = res.best.as_ref()?;
    let name = w.lit(&best.model);
    let start = best_start(w, res);
    let mut cells = vec![w.num(best.test_accuracy, 1), w.num(best.test_macro_f1, 1)];
    if let Some(c) = cv {
        cells.extend(super::cv::cv_cells(w, c, &best.model));
    }
    cells.push(w.num(results::MODELS[3].2, 1));
    cells.push(w.num(results::MODELS[3].3, 1));
    Some(format!(
        "| Section 6.1's best ({name}; {start}) | {} |\n",
        cells.join(" | ")
    ))
}

/// How section 6.1's best model started, for the row and the sentences that set it beside the
/// original's ImageNet-pretrained model: its networks (a vote's members) pretrained on the
/// corpus ("same-source" when the corpus is the rest of the stand-in's EMNIST partition), on
/// glyphs, or trained from scratch.
pub(super) fn best_start(w: &mut Writer, res: &LeversResults) -> String {
    let Some(best) = res.best.as_ref() else {
        return String::new();
    };
    let networks: Vec<&str> = match res.ensembles.iter().find(|e| e.name == best.model) {
        Some(e) => e.members.iter().map(String::as_str).collect(),
        None => vec![best.model.as_str()],
    };
    let starts: Vec<Option<PretrainSource>> = networks
        .iter()
        .filter_map(|n| res.variants.iter().find(|v| v.variant.name == *n))
        .map(|v| init_source(res, v))
        .collect();
    let corpus = if matches!(res.corpus, crate::data::Source::Emnist { .. }) {
        "the same-source corpus"
    } else {
        "the corpus"
    };
    let count = |f: fn(&Option<PretrainSource>) -> bool| starts.iter().filter(|s| f(s)).count();
    let on_corpus = count(|s| matches!(s, Some(PretrainSource::Corpus)));
    let on_glyphs = count(|s| matches!(s, Some(PretrainSource::Glyphs { .. })));
    let scratch = count(Option::is_none);
    if starts.len() == 1 {
        return match starts[0] {
            Some(PretrainSource::Corpus) => format!("pretrained on {corpus}"),
            Some(PretrainSource::Glyphs { .. }) => "pretrained on glyphs".into(),
            None => "from scratch".into(),
        };
    }
    let mut parts = Vec::new();
    if on_corpus > 0 {
        parts.push(format!("{} pretrained on {corpus}", w.int(on_corpus)));
    }
    if on_glyphs > 0 {
        parts.push(format!("{} on glyphs", w.int(on_glyphs)));
    }
    if scratch > 0 {
        parts.push(format!("{} from scratch", w.int(scratch)));
    }
    format!("a vote of {}: {}", w.int(starts.len()), parts.join(", "))
}

/// The results file, when section 6.1 has run.
pub(super) fn results() -> Result<Option<LeversResults>> {
    super::read_optional(levers::SECTION)
}

/// Writes section 6.1, or a line saying how to compute it when its results are missing.
pub(super) fn section(w: &mut Writer, res: Option<&LeversResults>) {
    w.para("### 6.1 Pretraining, class imbalance and augmentation");
    match res {
        Some(res) => write_section(w, res),
        None => w.para("No results yet: `charlab levers` computes this section."),
    }
}

/// Section 6.1's text from `res` (after its heading).
pub fn write_section(w: &mut Writer, res: &LeversResults) {
    let corpus = w.lit(&res.corpus.describe());
    let specs = res.config.all_pretraining();
    let any_glyphs = specs.iter().any(|p| !p.source.is_corpus());
    let or_glyphs = if any_glyphs {
        " (a larger corpus of handwriting, or generated glyphs)"
    } else {
        " (a larger corpus of handwriting)"
    };
    let (orig_acc, orig_f1) = (
        w.num(results::MODELS[3].2, 1),
        w.num(results::MODELS[3].3, 1),
    );
    w.para(&format!(
        "The original's best model, EfficientNet-b0, started from ImageNet weights (timm's) \
         and reached {orig_acc}% accuracy and {orig_f1}% macro F1, most of its lead coming \
         from the rare classes. ImageNet weights cannot be downloaded here (`--init` loads \
         them for a user who has them), so this section first trains a network on other \
         images{or_glyphs}, and then fine-tunes it on the training part. The corpus is \
         {corpus}. Every choice is made on the validation part: the \
         checkpoint (lowest validation loss), the logit adjustment and the best variant \
         (highest validation macro F1); the test part is only scored."
    ));
    if any_glyphs {
        let same_source = if matches!(res.corpus, crate::data::Source::Emnist { .. }) {
            " This corpus is the rest of the EMNIST partition the data was drawn from, so the \
             same writers: pretraining on it is more data of the same kind, not transfer."
        } else {
            ""
        };
        w.para(&format!(
            "Two sources of pretraining are compared.{same_source} Transfer, what ImageNet \
             weights gave the original, is tested with images unlike the test data: glyphs \
             drawn by the embedded generator (strokes, no handwriting), as many as the corpus \
             has images; the `glyphs` runs are pretrained on them and fine-tuned exactly as \
             the corpus-pretrained ones."
        ));
    }
    // The repeats' pretraining runs are counted in the seed analysis.
    let own =
        |p: &&levers::PretrainResults| res.config.pretraining.iter().any(|s| s.name == p.name);
    for p in res.pretraining.iter().filter(own) {
        let glyphs = specs
            .iter()
            .any(|s| s.name == p.name && !s.source.is_corpus());
        let (n, d) = (w.int(p.corpus_images), w.int(p.dropped_duplicates));
        let name = w.lit(&p.name);
        let (e, best) = (w.int(p.history.len()), w.int(p.best_epoch));
        let took = if p.seconds < 120.0 {
            format!("{} s", w.num(p.seconds, 0))
        } else {
            format!("{} minutes", w.num(p.seconds / 60.0, 0))
        };
        let epochs = if p.history.len() == 1 {
            "epoch"
        } else {
            "epochs"
        };
        let acc = p
            .history
            .get(p.best_epoch.saturating_sub(1))
            .map(|r| w.num(100.0 * r.val_accuracy, 1))
            .unwrap_or_default();
        let images = if glyphs {
            format!("{n} generated glyphs")
        } else {
            format!(
                "{n} corpus images ({d} dropped as byte-identical to a validation or test image)"
            )
        };
        w.para(&format!(
            "Pretraining `{name}`: {images}, {e} {epochs} in {took}, best at epoch {best} with \
             {acc}% validation accuracy."
        ));
    }
    if !res.pretraining.is_empty() {
        w.para(
            "The corpus's class mix is not this data set's, so a pretrained network is \
             fine-tuned on the training part afterwards, and its logits can be adjusted for \
             the prior.",
        );
    }
    let tau = w.lit("tau");
    w.para(&format!(
        "Imbalance is handled twice: by class weights in the cross-entropy (class c weighs \
         (n / n_c)^p, mean one) and after training by logit adjustment, subtracting {tau} \
         times the log of the training prior from the logits, with {tau} chosen on validation \
         macro F1 (0 leaves the predictions as they are). Augmentation draws a small \
         rotation, scale, shear, shift and elastic distortion for each training image, never \
         a flip, re-binarised; the batches are prepared on a second thread."
    ));
    let mut table = String::from(
        "| variant | initialisation | augmentation | imbalance | epochs | val F1 % | test acc % | test F1 % | train min |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in levers::future_work(res).variants {
        let name = w.lit(&r.model);
        let init = w.lit(&r.initialisation);
        let imb = w.lit(&r.imbalance);
        let cells = [
            if r.epochs == 0 {
                "-".to_string()
            } else {
                w.int(r.epochs)
            },
            w.num(r.validation_macro_f1, 1),
            w.num(r.test_accuracy, 1),
            w.num(r.test_macro_f1, 1),
            w.num(r.train_seconds / 60.0, 1),
        ];
        let aug = if r.augmentation { "yes" } else { "no" };
        table.push_str(&format!(
            "| `{name}` | {init} | {aug} | {imb} | {} |\n",
            cells.join(" | ")
        ));
    }
    let t62 = w.lit("Table 6.1");
    w.para(&format!(
        "{t62}: every variant, scored after logit adjustment (test accuracy and macro F1)."
    ));
    w.para(table.trim_end());
    let mut effects = Vec::new();
    if res.config.repeats.is_some() && !res.repeats.is_empty() {
        let (t, tb) = (w.lit("Table 6.1"), w.lit("Table 6.1b"));
        effects.push(format!(
            "{t} is one run per variant (training seed 0): a difference between two of its rows \
             is one draw of the training noise. Each lever's effect over the seeds, with that \
             noise, is in {tb} below."
        ));
    }
    effects.extend(comparisons::augmentation_cost(w, res));
    effects.extend(comparisons::efficientnet_against_cnn(w, res));
    effects.extend(comparisons::transfer_by_network(w, res));
    effects.extend(comparisons::size_effect(w, res));
    if !effects.is_empty() {
        for e in &effects {
            w.line(&format!("- {e}"));
        }
        w.line("");
    }
    super::seeds::seed_analysis(w, res);
    if let Some((best, scored, members)) = best_scores(res) {
        best_paragraphs(w, res, best, scored, members, (&orig_acc, &orig_f1));
    }
    let caption = augmentation_caption(w, res);
    w.figure(levers::figures::AUGMENT_FIGURE, &caption);
}

/// The augmentation figure's caption, with the settings of the first augmented run of the
/// configuration (the one the figure draws with).
fn augmentation_caption(w: &mut Writer, res: &LeversResults) -> String {
    let first = res.config.first_augmentation();
    let head = format!(
        "Augmentation: one training image of each look-alike character (left) and {} random \
         draws of it",
        w.int(levers::figures::AUGMENT_DRAWS)
    );
    match first {
        Some(a) => format!(
            "{head} (rotation up to {} degrees, scale {}, shear {}, shift up to {} pixels, \
             elastic distortion {} pixels on a {}x{} grid; never a flip).",
            w.num(a.rotation_deg, 0),
            w.num(1.0 - a.scale, 2) + " to " + &w.num(1.0 + a.scale, 2),
            w.num(a.shear, 2),
            w.num(a.shift_px, 0),
            w.num(a.elastic_px, 1),
            w.int(a.elastic_grid.max(0) as usize),
            w.int(a.elastic_grid.max(0) as usize),
        ),
        None => format!("{head}."),
    }
}

/// The best model's scores, and its members when it is a vote.
fn best_scores(res: &LeversResults) -> Option<(&levers::Best, &Scored, Option<&[String]>)> {
    let best = res.best.as_ref()?;
    if let Some(v) = res.variants.iter().find(|v| v.variant.name == best.model) {
        return Some((best, &v.scored, None));
    }
    res.ensembles
        .iter()
        .find(|e| e.name == best.model)
        .map(|e| (best, &e.scored, Some(e.members.as_slice())))
}

/// The best model on validation: its scores, the look-alike pairs and where its errors are.
fn best_paragraphs(
    w: &mut Writer,
    res: &LeversResults,
    best: &levers::Best,
    scored: &Scored,
    members: Option<&[String]>,
    (orig_acc, orig_f1): (&str, &str),
) {
    let mut name = format!("`{}`", w.lit(&best.model));
    if let Some(m) = members {
        let m: Vec<String> = m.iter().map(|m| format!("`{}`", w.lit(m))).collect();
        name.push_str(&format!(" (a vote of {})", m.join(" and ")));
    }
    let (acc, f1) = (w.num(best.test_accuracy, 1), w.num(best.test_macro_f1, 1));
    let (raw_acc, raw_f1) = (
        w.num(100.0 * scored.test.accuracy, 1),
        w.num(100.0 * scored.test.macro_f1, 1),
    );
    let t = w.num(scored.tau, 2);
    let tau = w.lit("tau");
    let cnn_path = paths::result(cnn::SECTION);
    let cnn_line = match paths::read_json::<cnn::NeuralResults>(&cnn_path) {
        Ok(c) => format!(
            " Section 4.2's CNN, trained on the training part alone, had {}% and {}%.",
            w.num(100.0 * c.test_accuracy, 1),
            w.num(100.0 * c.test_macro_f1, 1)
        ),
        Err(_) => String::new(),
    };
    w.para(&format!(
        "The best model on validation is {name}: {acc}% test accuracy and {f1}% macro F1 \
         ({raw_acc}% and {raw_f1}% before logit adjustment, {tau} = {t}), against the \
         original's {orig_acc}% and {orig_f1}%.{cnn_line}"
    ));
    let pairs: Vec<String> = scored
        .pairs
        .iter()
        .map(|pc| {
            let (a, b) = (
                w.lit(&format!("'{}'", pc.pair.0)),
                w.lit(&format!("'{}'", pc.pair.1)),
            );
            let (r0, r1) = (w.int(pc.raw.0 as usize), w.int(pc.raw.1 as usize));
            let (a0, a1) = (w.int(pc.adjusted.0 as usize), w.int(pc.adjusted.1 as usize));
            format!("{a} read as {b} {r0} -> {a0} times, {b} as {a} {r1} -> {a1}")
        })
        .collect();
    let why = if scored.tau > 0.0 {
        "The adjustment moves predictions toward the rarer class of each pair; what stays \
         confused are glyphs that no prior can separate."
    } else {
        "Validation chose no adjustment for this model, so both counts are the same."
    };
    w.para(&format!(
        "The look-alike pairs on test, before -> after logit adjustment: {}. {why}",
        pairs.join("; ")
    ));
    confusions_paragraph(w, res, scored);
}

/// Where the best model's remaining test errors are: its most frequent confusions and their
/// share of all its errors (nothing when the results predate the confusions or the characters).
fn confusions_paragraph(w: &mut Writer, res: &LeversResults, scored: &Scored) {
    let top = &scored.top_confusions;
    let n = scored.test_predictions.len();
    if top.is_empty() || res.class_chars.is_empty() || n == 0 {
        return;
    }
    let errors = (n as f64 * (1.0 - scored.test.adjusted_accuracy)).round() as usize;
    let char_of = |c: usize| res.class_chars.get(c).copied().unwrap_or('?');
    let in_top: u64 = top.iter().map(|c| c.count).sum();
    let cells: Vec<String> = top
        .iter()
        .map(|c| {
            let (t, p) = (
                w.lit(&format!("'{}'", char_of(c.truth))),
                w.lit(&format!("'{}'", char_of(c.predicted))),
            );
            format!("{t} as {p} {}", w.int(c.count as usize))
        })
        .collect();
    let (errs, k, m) = (w.int(errors), w.int(top.len()), w.int(in_top as usize));
    let share = w.num(100.0 * in_top as f64 / errors.max(1) as f64, 0);
    let same_shape: u64 = top
        .iter()
        .filter(|c| {
            let (a, b) = (char_of(c.truth), char_of(c.predicted));
            SAME_SHAPE.iter().any(|g| g.contains(a) && g.contains(b))
        })
        .map(|c| c.count)
        .sum();
    let (same, same_share) = (
        w.int(same_shape as usize),
        w.num(100.0 * same_shape as f64 / errors.max(1) as f64, 0),
    );
    w.para(&format!(
        "Where the best model's {errs} test errors are: its {k} most frequent confusions \
         make {m} of them ({share}%): {}. Among them, confusions inside 'L' / '1' / 'I' and \
         '0' / 'O' make {same} ({same_share}% of all errors): this data set merges each \
         letter's upper and lower case into one class, so a handwritten lower-case 'l' is \
         labelled 'L' and has the shape of a '1', and '0' and 'O' are one shape.",
        cells.join(", ")
    ));
}

/// Groups of classes whose handwritten glyphs share one shape once letter cases are merged.
const SAME_SHAPE: [&str; 2] = ["L1I", "0O"];
