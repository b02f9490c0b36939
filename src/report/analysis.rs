//! The report's analysis in words, each sentence computed from the results files: the
//! look-alike classes per model, the learning curves, the CNN tuning, whether "the best
//! model" is ahead beyond the noise, and the conclusions.

use super::Writer;
use crate::metrics::ClassMetrics;
use crate::sections::cnn_tuning::TuningResults;
use crate::sections::cv::CvResults;
use crate::sections::dataset::DatasetResults;
use crate::sections::levers::LeversResults;
use crate::sections::results::{ResultsSummary, Table1Row};
use crate::training::EpochRecord;

/// The original report's confused pairs, rarer class first in the stand-in.
pub(super) const LOOK_ALIKES: [(char, char); 4] = [('0', 'O'), ('5', 'S'), ('I', '1'), ('Z', '2')];

/// The groups of characters that share shapes because the stand-in merges upper and lower
/// case: 'L' (with 'l'), '1' and 'I'; '0' and 'O'.
pub(super) const CASE_GROUPS: [&[char]; 2] = [&['L', '1', 'I'], &['0', 'O']];

/// Section 7's paragraph on the case-merge groups ([`CASE_GROUPS`]): per model, how many of
/// its test errors are confusions inside a group. `None` when the classes are not the report's.
pub(super) fn case_groups(
    w: &mut Writer,
    ds: &DatasetResults,
    views: &[ModelView],
) -> Option<String> {
    let groups: Vec<Vec<usize>> = CASE_GROUPS
        .iter()
        .map(|g| {
            g.iter()
                .map(|&c| class_of(ds, c))
                .collect::<Option<Vec<_>>>()
        })
        .collect::<Option<Vec<_>>>()?;
    let k = ds.table.len();
    let mut parts = Vec::new();
    for v in views {
        if v.confusion.len() != k * k {
            continue;
        }
        let at = |t: usize, p: usize| v.confusion[t * k + p];
        let errors: u64 = (0..k)
            .flat_map(|t| (0..k).map(move |p| (t, p)))
            .filter(|(t, p)| t != p)
            .map(|(t, p)| at(t, p))
            .sum();
        let inside: u64 = groups
            .iter()
            .flat_map(|g| g.iter().flat_map(move |&t| g.iter().map(move |&p| (t, p))))
            .filter(|(t, p)| t != p)
            .map(|(t, p)| at(t, p))
            .sum();
        if errors == 0 {
            continue;
        }
        let (i, e) = (w.int(inside as usize), w.int(errors as usize));
        let pct = w.num(100.0 * inside as f64 / errors as f64, 0);
        parts.push(format!("{i} of {e} for {} ({pct}%)", v.name));
    }
    if parts.is_empty() {
        return None;
    }
    Some(format!(
        "The stand-in's letters merge upper and lower case, so 'L' (with 'l'), '1' and 'I' share \
         shapes, and so do '0' and 'O'. Confusions inside these two groups are, of the test \
         errors: {}. 'L' and '1' are not among the original report's most confused pairs, so \
         this handicap of the data, besides the missing ImageNet weights, separates these \
         numbers from the original's.",
        parts.join("; ")
    ))
}

/// What the analysis needs of one Table 1 model: its name, test confusion counts (row-major,
/// truth by prediction) and per-class metrics.
pub(super) struct ModelView<'a> {
    pub name: &'a str,
    pub confusion: &'a [u64],
    pub per_class: &'a [ClassMetrics],
}

fn class_of(ds: &DatasetResults, c: char) -> Option<usize> {
    ds.table.iter().position(|r| r.character == c)
}

/// One paragraph per look-alike pair: images of each class, how often the best model reads
/// the rarer as the more frequent, and the rarer class's F1 under every model.
pub(super) fn look_alikes(
    w: &mut Writer,
    ds: &DatasetResults,
    models: &[ModelView],
    best: &str,
) -> Vec<String> {
    let k = ds.table.len();
    let mut out = Vec::new();
    let Some(bm) = models.iter().find(|m| m.name == best) else {
        return out;
    };
    for (a, b) in LOOK_ALIKES {
        let (Some(ia), Some(ib)) = (class_of(ds, a), class_of(ds, b)) else {
            continue;
        };
        let (na, nb) = (ds.table[ia].count, ds.table[ib].count);
        let (rare, common, nr, nc) = if na <= nb {
            (ia, ib, na, nb)
        } else {
            (ib, ia, nb, na)
        };
        let support = bm.per_class.get(rare).map_or(0, |m| m.support);
        let misread = bm.confusion.get(rare * k + common).copied().unwrap_or(0);
        if support == 0 {
            continue;
        }
        let (rc, cc) = (
            w.char_lit(ds.table[rare].character),
            w.char_lit(ds.table[common].character),
        );
        let (nr, nc) = (w.int(nr), w.int(nc));
        let share = w.num(100.0 * misread as f64 / support as f64, 0);
        let (m, s) = (w.int(misread as usize), w.int(support as usize));
        let f1s: Vec<String> = models
            .iter()
            .map(|mv| {
                let f = mv.per_class.get(rare).map_or(0.0, |c| c.f1);
                format!("{} {}", mv.name, w.num(100.0 * f, 0))
            })
            .collect();
        out.push(format!(
            "{rc} has {nr} images against {nc} for {cc}: {best} reads {share}% of the test \
             {rc}s as {cc} ({m} of {s}); the F1 of {rc} is {} (percent).",
            f1s.join(", ")
        ));
    }
    out
}

/// The classes whose F1 is under `below` (a fraction) for the model `m`, as `'c' (F1 %)`.
pub(super) fn weak_classes(
    w: &mut Writer,
    ds: &DatasetResults,
    m: &ModelView,
    below: f64,
) -> Vec<String> {
    m.per_class
        .iter()
        .enumerate()
        .filter(|(_, c)| c.support > 0 && c.f1 < below)
        .map(|(i, c)| {
            let ch = ds.table.get(i).map_or('?', |r| r.character);
            let name = w.char_lit(ch);
            format!("{name} ({})", w.num(100.0 * c.f1, 0))
        })
        .collect()
}

/// The learning-curve reading of one network: where validation loss bottoms out and where it
/// ends, against the training loss.
pub(super) fn curve(w: &mut Writer, name: &str, history: &[EpochRecord], best: usize) -> String {
    let (Some(b), Some(last)) = (history.get(best.saturating_sub(1)), history.last()) else {
        return String::new();
    };
    let first = &history[0];
    let (be, le) = (w.int(b.epoch), w.int(last.epoch));
    let (bv, lv) = (w.num(b.val_loss, 3), w.num(last.val_loss, 3));
    let (ft, bt, lt) = (
        w.num(first.train_loss, 3),
        w.num(b.train_loss, 3),
        w.num(last.train_loss, 3),
    );
    if last.val_loss > b.val_loss * 1.05 {
        format!(
            "{name}: validation cross-entropy is lowest at epoch {be} ({bv}) and rises to {lv} \
             by epoch {le}, while the training loss keeps falling ({ft} at epoch 1, {bt} at \
             epoch {be}, {lt} at the end): the network over-fits after epoch {be}, which is \
             why the checkpoint with the lowest validation loss is evaluated, not the last."
        )
    } else {
        format!(
            "{name}: validation cross-entropy is lowest at epoch {be} ({bv}) and {lv} at epoch \
             {le}; the training loss falls from {ft} to {lt}, with little sign of over-fitting \
             within these epochs."
        )
    }
}

/// The CNN tuning (section 4.2's `charlab tune cnn`): the learning-rate sweep and the ranking
/// of architectures on validation loss.
pub(super) fn tuning(w: &mut Writer, t: &TuningResults) -> String {
    let rate = w.lit(&format!("{}", t.picked_rate));
    let n_rates = w.int(t.sweep.len());
    let mut ranked: Vec<_> = t.search.iter().collect();
    ranked.sort_by(|a, b| a.best_val_loss.total_cmp(&b.best_val_loss));
    let Some(top) = ranked.first() else {
        return String::new();
    };
    let shape = |m: &crate::models::cnn::CnnParams| -> String {
        let f: Vec<String> = m.blocks.iter().map(|b| b.filters.to_string()).collect();
        let k = m.blocks.first().map_or(0, |b| b.kernel);
        format!(
            "{} blocks of {k}x{k} ({} filters)",
            m.blocks.len(),
            f.join("-")
        )
    };
    let n = w.int(t.search.len());
    let epochs = w.int(t.config.search.epochs);
    let top_shape = w.lit(&shape(&top.model));
    let (tp, tl, ta) = (
        w.int(top.parameters as usize),
        w.num(top.best_val_loss, 3),
        w.num(100.0 * top.best_val_accuracy, 1),
    );
    let worst = ranked.last().map_or(0.0, |r| r.best_val_loss);
    let wl = w.num(worst, 3);
    format!(
        "The CNN's settings were checked with `charlab tune cnn`: a learning-rate sweep over \
         {n_rates} rates picked {rate}, the rate Table 1 uses, and {n} architectures trained \
         {epochs} epochs each ranked by validation loss put {top_shape} first ({tp} \
         parameters, loss {tl}, {ta}% validation accuracy; the worst {wl}). Table 1 keeps the \
         architecture guessed from the original's description (conv, max-pool and ReLU blocks, \
         dropout, a fully connected layer: it gives no layer sizes); section 6.1 builds on the \
         search's four 5x5 blocks."
    )
}

/// Whether Table 1's top two models by accuracy differ beyond the noise: McNemar's paired test
/// on the test images when section 5 recorded it (else a 95% binomial interval of each
/// accuracy), and the cross-validated comparison when section 6.2 has both.
pub(super) fn noise(
    w: &mut Writer,
    rows: &[Table1Row],
    n_test: usize,
    paired: Option<&(String, String, crate::metrics::McNemar)>,
    cv: Option<&CvResults>,
) -> Option<String> {
    let mut r: Vec<&Table1Row> = rows.iter().collect();
    r.sort_by(|a, b| b.accuracy.total_cmp(&a.accuracy));
    let (a, b) = (r.first()?, r.get(1)?);
    let n = n_test.max(1) as f64;
    let half = |p: f64| 1.96 * ((p / 100.0) * (1.0 - p / 100.0) / n).sqrt() * 100.0;
    let diff = a.accuracy - b.accuracy;
    let images = (diff / 100.0 * n).round() as usize;
    let (d, im, ha) = (w.num(diff, 1), w.int(images), w.num(half(a.accuracy), 1));
    let nt = w.int(n_test);
    let f1_note = if a.macro_f1 < b.macro_f1 {
        format!(
            " and it is behind in macro F1 ({} against {})",
            w.num(a.macro_f1, 1),
            w.num(b.macro_f1, 1)
        )
    } else {
        String::new()
    };
    let mut s = format!(
        "{} is ahead of {} by {d} points of accuracy ({im} of {nt} test images){f1_note}.",
        a.model, b.model
    );
    match paired.filter(|p| p.0 == a.model && p.1 == b.model) {
        Some((_, _, t)) => {
            let (only_a, only_b) = (w.int(t.only_first as usize), w.int(t.only_second as usize));
            let p = if t.p_value < 0.001 {
                format!("< {}", w.num(0.001, 3))
            } else {
                format!("= {}", w.num(t.p_value, 3))
            };
            s.push_str(&format!(
                " On the same test images, {only_a} are read right by {} only and {only_b} by {} \
                 only; McNemar's exact test on these gives p {p}, so the difference is {} on this \
                 split (at the 5% level).",
                a.model,
                b.model,
                if t.p_value < 0.05 {
                    "beyond the noise"
                } else {
                    "within the noise"
                }
            ));
        }
        None => {
            let within =
                diff < 1.96 * (half(a.accuracy).powi(2) + half(b.accuracy).powi(2)).sqrt() / 1.96;
            s.push_str(&format!(
                " A 95% binomial interval on {nt} images is about ±{ha} points for each \
                 accuracy, so the difference is {} on this split.",
                if within {
                    "within the noise"
                } else {
                    "larger than the noise"
                }
            ));
        }
    }
    if let Some(c) = cv {
        let name = |row: &Table1Row| {
            crate::sections::results::MODELS
                .iter()
                .find(|m| m.1 == row.model)
                .map(|m| m.0)
        };
        let find = |row: &Table1Row| {
            name(row).and_then(|n| {
                c.models
                    .iter()
                    .find(|m| m.model.name == n && m.complete(c.config.folds))
            })
        };
        if let (Some(ma), Some(mb)) = (find(a), find(b)) {
            let fa: Vec<f64> = ma.folds.iter().map(|f| f.heldout_accuracy).collect();
            let fb: Vec<f64> = mb.folds.iter().map(|f| f.heldout_accuracy).collect();
            if let Some((d, real)) = super::cv::paired(&fb, &fa, 1.0 / c.config.folds as f64) {
                let k = w.int(c.config.folds);
                let dd = w.num(100.0 * d.abs(), 1);
                let (lead, trail) = if d >= 0.0 { (a, b) } else { (b, a) };
                s.push_str(&format!(
                    " Over {k} cross-validation folds (section 6.2) {} is ahead of {} by {dd} \
                     points of held-out accuracy, {}.",
                    lead.model,
                    trail.model,
                    if real {
                        "beyond the noise"
                    } else {
                        "within the noise"
                    }
                ));
            }
        }
    }
    Some(s)
}

/// Section 8: what the experiments show, in a few generated sentences. `twins_confused`: the
/// per-class analysis found a look-alike pair where the rarer class is mostly read as the other.
pub(super) fn conclusions(
    w: &mut Writer,
    res: &ResultsSummary,
    levers: Option<&LeversResults>,
    cv: Option<&CvResults>,
    twins_confused: bool,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut here: Vec<&Table1Row> = res.table1.iter().collect();
    here.sort_by(|a, b| a.accuracy.total_cmp(&b.accuracy));
    let mut orig = here.clone();
    orig.sort_by(|a, b| a.report_accuracy.total_cmp(&b.report_accuracy));
    let order: Vec<String> = here.iter().map(|r| r.model.clone()).collect();
    if !order.is_empty() {
        let same = here.iter().zip(&orig).all(|(a, b)| a.model == b.model);
        let below = here.iter().all(|r| r.accuracy < r.report_accuracy);
        out.push(format!(
            "Table 1's models by accuracy, from the weakest: {}; {}{}.",
            order.join(", "),
            if same {
                "the original's order"
            } else {
                "not the original's order"
            },
            if below {
                ", with every model below its counterpart in the original (other data)"
            } else {
                ""
            }
        ));
    }
    if let Some(best) = levers.and_then(|l| l.best.as_ref()) {
        let top_f1 = res
            .table1
            .iter()
            .map(|r| r.macro_f1)
            .fold(f64::NEG_INFINITY, f64::max);
        let top_acc = res
            .table1
            .iter()
            .map(|r| r.accuracy)
            .fold(f64::NEG_INFINITY, f64::max);
        let name = w.lit(&best.model);
        let start = levers
            .map(|l| super::levers::best_start(w, l))
            .unwrap_or_default();
        let (a, f) = (w.num(best.test_accuracy, 1), w.num(best.test_macro_f1, 1));
        let (ga, gf) = (
            w.num(best.test_accuracy - top_acc, 1),
            w.num(best.test_macro_f1 - top_f1, 1),
        );
        out.push(format!(
            "Section 6.1's best model, `{name}` ({start}; chosen on validation), reaches {a}% accuracy and {f}% macro F1: {ga} points of accuracy and \
             {gf} of macro F1 above Table 1's best."
        ));
    }
    if twins_confused {
        out.push(
            "What limits every model is the look-alike pairs of section 5: the rarer class of \
             a pair is mostly read as its more frequent twin, as the original observed."
                .to_string(),
        );
    }
    if let Some(c) = cv {
        let done: Vec<_> = c
            .models
            .iter()
            .filter(|m| m.complete(c.config.folds))
            .collect();
        if !done.is_empty() {
            let lo = done
                .iter()
                .map(|m| m.heldout_accuracy.std)
                .fold(f64::INFINITY, f64::min);
            let hi = done
                .iter()
                .map(|m| m.heldout_accuracy.std)
                .fold(f64::NEG_INFINITY, f64::max);
            let (n, k) = (w.int(done.len()), w.int(c.config.folds));
            let (l, h) = (w.num(100.0 * lo, 1), w.num(100.0 * hi, 1));
            let all_done = done.len() == c.models.len()
                && c.config
                    .models
                    .iter()
                    .all(|m| c.models.iter().any(|x| x.model.name == m.name));
            let so_far = if all_done { "" } else { " so far" };
            out.push(format!(
                "Over {k} cross-validation folds ({n} models{so_far}, section 6.2), held-out \
                 accuracy varies with a standard deviation of {l} to {h} points: a \
                 single-split difference smaller than that is no evidence by itself."
            ));
        }
    }
    out
}
