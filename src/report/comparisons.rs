//! Section 6.1's comparisons between variants, one seed each (the seed table is
//! [`super::seeds`]): what augmentation costs in speed, EfficientNet-b0 and bigger networks
//! against the CNN of the same start, and the transfer effect by network.

use super::writer::delta;
use super::Writer;
use crate::sections::levers::{LeversResults, PretrainSource, VariantResults};
use crate::training::TrainParams;

/// Pairs of variants `(without, with)` that differ only in the lever `has` looks at (the
/// other levers `same` compares), for the effect of one lever.
fn lever_pairs(
    vs: &[VariantResults],
    has: impl Fn(&VariantResults) -> bool,
    same: impl Fn(&VariantResults, &VariantResults) -> bool,
) -> Vec<(&VariantResults, &VariantResults)> {
    let mut out = Vec::new();
    for a in vs.iter().filter(|v| !has(v)) {
        for b in vs.iter().filter(|v| has(v)) {
            if a.variant.net == b.variant.net && same(a, b) {
                out.push((a, b));
            }
        }
    }
    out
}

fn augmented(v: &VariantResults) -> bool {
    v.variant.train.augment.is_some()
}
fn train(v: &VariantResults) -> &TrainParams {
    &v.variant.train
}
/// What `v` starts from: `None` from scratch, else the source of the pretraining run it names.
pub(super) fn init_source(res: &LeversResults, v: &VariantResults) -> Option<PretrainSource> {
    let name = v.variant.pretrained.as_ref()?;
    Some(
        res.config
            .all_pretraining()
            .iter()
            .find(|p| &p.name == name)
            .map_or(PretrainSource::Corpus, |p| p.source),
    )
}

/// `both from scratch`, `both pretrained on the corpus` or `both pretrained on glyphs`.
fn both_started(source: Option<PretrainSource>) -> &'static str {
    match source {
        None => "both from scratch",
        Some(PretrainSource::Corpus) => "both pretrained on the corpus (same source)",
        Some(PretrainSource::Glyphs { .. }) => "both pretrained on glyphs (transfer)",
    }
}

/// Whether `a` and `b` use the same levers: initialisation (scratch, or pretraining on the
/// same source), augmentation and class weights.
fn same_levers(res: &LeversResults, a: &VariantResults, b: &VariantResults) -> bool {
    init_source(res, a) == init_source(res, b)
        && augmented(a) == augmented(b)
        && train(a).class_weight_power == train(b).class_weight_power
}

/// Augmentation's cost in training speed, between the first pair of runs that differ in it
/// alone.
pub(super) fn augmentation_cost(w: &mut Writer, res: &LeversResults) -> Option<String> {
    let vs = &res.variants;
    let p = lever_pairs(vs, augmented, |a, b| {
        init_source(res, a) == init_source(res, b)
            && train(a).class_weight_power == train(b).class_weight_power
    });
    let &(a, b) = p.first()?;
    let slow = w.num(
        100.0 * (1.0 - b.train_images_per_second / a.train_images_per_second.max(1e-9)),
        0,
    );
    let (ai, bi) = (
        w.int(a.train_images_per_second.round() as usize),
        w.int(b.train_images_per_second.round() as usize),
    );
    let (an, bn) = (w.lit(&a.variant.name), w.lit(&b.variant.name));
    Some(format!(
        "Augmentation's cost in training speed, `{bn}` against `{an}`: {bi} images/s \
         against {ai} ({slow}% slower); the runs did not share the machine alike, so \
         `make bench-nets` measures it side by side."
    ))
}

/// The original's finding asked again: EfficientNet-b0 against the CNN fine-tuned with the
/// same levers from the same start, one seed each, with their epoch budgets.
pub(super) fn efficientnet_against_cnn(w: &mut Writer, res: &LeversResults) -> Option<String> {
    let vs = &res.variants;
    // The original's finding: EfficientNet beats the CNN once both are pretrained.
    let mut pairs = Vec::new();
    let (mut wins, mut fewer_epochs) = (true, false);
    for b in vs
        .iter()
        .filter(|v| v.variant.net.label().starts_with("efficientnet"))
    {
        let Some(a) = vs
            .iter()
            .find(|a| a.variant.net.label() == "cnn" && same_levers(res, a, b))
        else {
            continue;
        };
        let (an, bn) = (w.lit(&a.variant.name), w.lit(&b.variant.name));
        let da_v = 100.0 * (b.scored.test.adjusted_accuracy - a.scored.test.adjusted_accuracy);
        let df_v = 100.0 * (b.scored.test.adjusted_macro_f1 - a.scored.test.adjusted_macro_f1);
        wins &= da_v > 0.0 && df_v > 0.0;
        fewer_epochs |= b.history.len() < a.history.len();
        let (da, df) = (delta(w, da_v), delta(w, df_v));
        let (eb, ea) = (w.int(b.history.len()), w.int(a.history.len()));
        pairs.push(format!(
            "`{bn}` against `{an}`, {}: {da} points of accuracy, {df} of macro F1 ({eb} epochs \
             against {ea})",
            both_started(init_source(res, b))
        ));
    }
    if pairs.is_empty() {
        return None;
    }
    let verdict = match (wins, fewer_epochs) {
        (true, _) => "EfficientNet-b0 beats the CNN in each, as in the original",
        (false, true) => {
            "EfficientNet-b0 does not beat the CNN in every pair, but it trained fewer \
             epochs than the CNN: an under-trained comparison, not a verdict on the network"
        }
        (false, false) => {
            "EfficientNet-b0 does not beat the CNN in every pair, with as many epochs \
             (the original's gain came with ImageNet weights, which are not available here)"
        }
    };
    Some(format!(
        "EfficientNet-b0 against the CNN fine-tuned with the same levers, one seed each: {}; \
         {verdict}.",
        pairs.join("; ")
    ))
}

/// The original's question, asked with transfer: does pretraining on images unlike the test
/// data (glyphs) help, and EfficientNet-b0 more than the CNN? Each configured effect of glyph
/// pretraining against training from scratch, by network, on raw test scores over its seeds
/// (nothing when none ran).
pub(super) fn transfer_by_network(w: &mut Writer, res: &LeversResults) -> Option<String> {
    let variant = |name: &str| res.variants.iter().find(|v| v.variant.name == name);
    let mut parts = Vec::new();
    let mut by_net: Vec<(String, f64, f64, usize)> = Vec::new();
    for e in &res.effects {
        let (Some(with), Some(without)) = (variant(&e.pair.with), variant(&e.pair.without)) else {
            continue;
        };
        let transfer = matches!(init_source(res, with), Some(PretrainSource::Glyphs { .. }))
            && init_source(res, without).is_none();
        if !transfer || e.seeds.is_empty() {
            continue;
        }
        let net = with.variant.net.label();
        let label = match net.as_str() {
            "cnn" => "the CNN".to_string(),
            "efficientnet-b0" => "EfficientNet-b0".to_string(),
            other => w.lit(other),
        };
        let (acc, f1) = (&e.test.accuracy, &e.test.macro_f1);
        let cell = |w: &mut Writer, d: &crate::metrics::Paired| {
            if d.differences.len() < 2 {
                delta(w, d.mean)
            } else {
                format!("{} ± {}", delta(w, d.mean), w.num(d.std, 1))
            }
        };
        let (a, f) = (cell(w, acc), cell(w, f1));
        let n = w.int(e.seeds.len());
        let seeds = if e.seeds.len() == 1 { "seed" } else { "seeds" };
        parts.push(format!(
            "{label} {a} points of accuracy and {f} of macro F1 ({n} {seeds})"
        ));
        by_net.push((with.variant.net.label(), f1.mean, f1.std, e.seeds.len()));
    }
    if parts.is_empty() {
        return None;
    }
    let cnn = by_net.iter().find(|b| b.0 == "cnn");
    let eff = by_net.iter().find(|b| b.0.starts_with("efficientnet"));
    let answer = match (cnn, eff) {
        (Some(c), Some(e)) => {
            let more = if e.1 > c.1 { "more" } else { "less" };
            let d = w.num((e.1 - c.1).abs(), 1);
            let noise = if e.3 < 2 || c.3 < 2 {
                let n = e.3.min(c.3);
                format!(
                    "; with {} {} of EfficientNet-b0 against the CNN's seed spread of ± {} \
                     points, that is not a difference the runs can establish",
                    w.int(n),
                    if n == 1 { "seed" } else { "seeds" },
                    w.num(c.2, 1)
                )
            } else {
                String::new()
            };
            format!(
                " Here glyph pretraining helps EfficientNet-b0 {more} than the CNN, by {d} \
                 points of macro F1{noise}."
            )
        }
        _ => String::new(),
    };
    Some(format!(
        "Transfer, pretrained on glyphs minus trained from scratch (both augmented, raw test \
         scores): {}.{answer}",
        parts.join("; ")
    ))
}

/// Bigger networks beside the CNN: each variant of another network than the CNN and
/// EfficientNet-b0 against the CNN variant trained with
/// the same levers (initialisation, augmentation, class weights), with parameters, accuracy,
/// macro F1 and training speed (nothing when no such pair ran).
pub(super) fn size_effect(w: &mut Writer, res: &LeversResults) -> Option<String> {
    let vs = &res.variants;
    let mut parts = Vec::new();
    let mut fewer_epochs = false;
    let (mut none_wins, mut all_slower) = (true, true);
    let mut min_slowdown = f64::INFINITY;
    // EfficientNet-b0 has its own comparison (the original's finding) above.
    let bigger = |v: &&VariantResults| {
        let l = v.variant.net.label();
        l != "cnn" && !l.starts_with("efficientnet")
    };
    for b in vs.iter().filter(bigger) {
        let Some(a) = vs
            .iter()
            .find(|a| a.variant.net.label() == "cnn" && same_levers(res, a, b))
        else {
            continue;
        };
        fewer_epochs |= b.history.len() < a.history.len();
        let (an, bn) = (w.lit(&a.variant.name), w.lit(&b.variant.name));
        let label = w.lit(&b.variant.net.label());
        let (bp, ap) = (
            w.num(b.parameters as f64 / 1e6, 1),
            w.num(a.parameters as f64 / 1e6, 2),
        );
        let da_v = 100.0 * (b.scored.test.adjusted_accuracy - a.scored.test.adjusted_accuracy);
        let df_v = 100.0 * (b.scored.test.adjusted_macro_f1 - a.scored.test.adjusted_macro_f1);
        none_wins &= da_v <= 0.0 || df_v <= 0.0;
        all_slower &= b.train_images_per_second < a.train_images_per_second;
        min_slowdown =
            min_slowdown.min(a.train_images_per_second / b.train_images_per_second.max(1e-9));
        let (da, df) = (delta(w, da_v), delta(w, df_v));
        let (bi, ai) = (
            w.int(b.train_images_per_second.round() as usize),
            w.int(a.train_images_per_second.round() as usize),
        );
        parts.push(format!(
            "`{bn}` ({label}, {bp} M parameters against {ap} M) against `{an}`: {da} points of \
             accuracy, {df} of macro F1, training at {bi} images/s against {ai}"
        ));
    }
    if parts.is_empty() {
        return None;
    }
    let under = if fewer_epochs {
        " (each with fewer epochs than the CNN beside it: under-trained comparisons, one seed \
         each)"
    } else {
        " (one seed each)"
    };
    let verdict = match (none_wins, all_slower) {
        (true, true) => format!(
            " No bigger network beats the CNN trained with the same levers on both measures \
             here{under}, and each trains at least {} times slower in these runs.",
            w.num(min_slowdown, 1)
        ),
        (true, false) => format!(
            " No bigger network beats the CNN trained with the same levers on both measures \
             here{under}."
        ),
        _ => String::new(),
    };
    let t = w.lit("Table 6.1");
    Some(format!(
        "Bigger networks, each beside the CNN trained with the same levers (epochs in {t}; \
         the runs did not share the machine alike, `make bench-nets` measures speed side \
         by side): {}.{verdict}",
        parts.join("; ")
    ))
}
