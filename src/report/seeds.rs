//! Section 6.1's repeats over training seeds: each lever's effect with its noise (Table 6.1b)
//! and each repeated variant's spread (Table 6.1c).

use super::writer::delta;
use super::Writer;
use crate::metrics::Paired;
use crate::sections::levers::{Effect, LeversResults};

/// A p-value as the report writes it: `< 0.001`, else three decimals (recorded).
fn p_value(w: &mut Writer, p: f64) -> String {
    if p < 0.001 {
        format!("< {}", w.num(0.001, 3))
    } else {
        w.num(p, 3)
    }
}

/// `mean ± std` of a paired difference in points, signed, recorded.
fn paired_cell(w: &mut Writer, d: &Paired) -> String {
    let mean = delta(w, d.mean);
    if d.differences.len() < 2 {
        return mean;
    }
    let std = w.num(d.std, 1);
    let p = d
        .t_test_p
        .map(|p| format!(" (p {})", p_value(w, p)))
        .unwrap_or_default();
    format!("{mean} ± {std}{p}")
}

/// `mean ± std` of a score in percent over seeds, recorded.
fn spread_cell(w: &mut Writer, m: &crate::metrics::MeanStd) -> String {
    format!("{} ± {}", w.num(m.mean, 1), w.num(m.std, 1))
}

/// The measures on which `e` is beyond the seed noise (paired t-test p < 0.05).
fn beyond_noise(e: &Effect) -> Vec<&'static str> {
    e.test
        .named()
        .into_iter()
        .filter(|(_, d)| d.t_test_p.is_some_and(|p| p < 0.05))
        .map(|(name, _)| name)
        .collect()
}

/// The repeats over training seeds: each lever's effect with its noise (Table 6.1b) and each
/// repeated variant's spread, raw beside adjusted (Table 6.1c); nothing when none ran.
pub(super) fn seed_analysis(w: &mut Writer, res: &LeversResults) {
    let Some(repeats) = res
        .config
        .repeats
        .as_ref()
        .filter(|_| !res.repeats.is_empty())
    else {
        return;
    };
    let seeds: Vec<String> = repeats.seeds.iter().map(|s| w.int(*s as usize)).collect();
    let (t62, t63) = (w.lit("Table 6.1b"), w.lit("Table 6.1c"));
    let runs = w.int(res.repeats.len());
    let (cv, n) = (w.lit("6.2"), w.int(repeats.seeds.len() + 1));
    let alpha = w.num(0.05, 2);
    w.para(&format!(
        "One run per variant cannot separate a lever's effect from the noise of training. The \
         variants of {t63} were therefore run again at training seeds {} ({runs} more runs, each \
         pretraining repeated at the same seed); the split stays the report's, so this is the \
         noise of initialisation, shuffling and augmentation, not of the split (section {cv} \
         varies the split). {t62} gives each lever's effect as the mean ± standard deviation of \
         the seed-by-seed differences, in points, with the two-sided p-value of a paired t-test \
         over the seeds, on raw and on logit-adjusted scores; McNemar's exact test compares the \
         two models' raw test predictions seed by seed. With {n} seeds a t-test is below {alpha} \
         only for an effect that is large and steady.",
        seeds.join(" and ")
    ));
    let mut table = String::from(
        "| lever | with - without | seeds | raw acc | raw F1 | adjusted acc | adjusted F1 | McNemar p (raw, per seed) |\n|---|---|---|---|---|---|---|---|\n",
    );
    for e in &res.effects {
        let (lever, with, without) = (
            w.lit(&e.pair.lever),
            w.lit(&e.pair.with),
            w.lit(&e.pair.without),
        );
        let n = w.int(e.seeds.len());
        let cells = e.test.named().map(|(_, d)| paired_cell(w, d));
        let mc: Vec<String> = e.mcnemar_raw_p.iter().map(|&p| p_value(w, p)).collect();
        table.push_str(&format!(
            "| {lever} | `{with}` - `{without}` | {n} | {} | {} |\n",
            cells.join(" | "),
            mc.join(", ")
        ));
    }
    w.para(&format!(
        "{t62}: each lever's effect on the test part, `with` minus `without`, in points (mean ± \
         std over the seeds, paired t-test p in brackets; a single seed has no spread)."
    ));
    w.para(table.trim_end());
    let mut verdicts = Vec::new();
    for e in res.effects.iter().filter(|e| e.seeds.len() >= 2) {
        let lever = w.lit(&e.pair.lever);
        let on = beyond_noise(e);
        verdicts.push(if on.is_empty() {
            format!("{lever}: inside the seed noise on every measure")
        } else {
            format!(
                "{lever}: beyond the seed noise (p < {}) on {}",
                w.num(0.05, 2),
                on.join(", ")
            )
        });
    }
    if !verdicts.is_empty() {
        w.para(&format!("Over the seeds: {}.", verdicts.join("; ")));
    }
    let mut table = String::from(
        "| variant | seeds | raw acc % | raw F1 % | adjusted acc % | adjusted F1 % | adjustment: acc | adjustment: F1 |\n|---|---|---|---|---|---|---|---|\n",
    );
    for sp in &res.spreads {
        let name = w.lit(&sp.variant);
        let n = w.int(sp.seeds.len());
        let mut cells: Vec<String> = sp.test.named().map(|(_, m)| spread_cell(w, m)).into();
        cells.push(paired_cell(w, &sp.adjustment_accuracy));
        cells.push(paired_cell(w, &sp.adjustment_macro_f1));
        table.push_str(&format!("| `{name}` | {n} | {} |\n", cells.join(" | ")));
    }
    let tau = w.lit("tau");
    w.para(&format!(
        "{t63}: the repeated variants over the seeds, test scores before and after the logit \
         adjustment (its {tau} chosen on validation macro F1), and what the adjustment changed \
         (adjusted minus raw, points, paired t-test p in brackets)."
    ));
    w.para(table.trim_end());
}
