//! Each lever's effect with its noise: the configured comparisons ([`LeverPair`]) seed by
//! seed, on raw and on adjusted scores, with a paired t-test over the seeds and McNemar's test
//! on each seed's test predictions; and each repeated variant's spread over the seeds.

use serde::{Deserialize, Serialize};

use super::config::{seeded, LeverPair};
use super::LeversResults;
use crate::inference::{Scored, Scores};
use crate::metrics::{mcnemar, MeanStd, Paired};
use crate::Result;

/// Test accuracy and macro F1 (percent) of one model over seeds, and what the logit adjustment
/// changed (adjusted minus raw, points).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// The variant.
    pub variant: String,
    /// The seeds it ran with (0: the variant itself).
    pub seeds: Vec<u64>,
    /// Test scores over the seeds, percent.
    #[serde(flatten)]
    pub test: Scores<MeanStd>,
    /// Adjusted minus raw test accuracy, points, seed by seed.
    pub adjustment_accuracy: Paired,
    /// Adjusted minus raw test macro F1, points, seed by seed.
    pub adjustment_macro_f1: Paired,
}

/// One lever's effect: `with` minus `without`, seed by seed (points).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Effect {
    /// The comparison as configured.
    #[serde(flatten)]
    pub pair: LeverPair,
    /// The seeds both sides ran with.
    pub seeds: Vec<u64>,
    /// The differences of the test scores, raw and adjusted.
    #[serde(flatten)]
    pub test: Scores<Paired>,
    /// McNemar's exact p-value on each seed's raw test predictions.
    pub mcnemar_raw_p: Vec<f64>,
    /// The same on the adjusted predictions.
    pub mcnemar_adjusted_p: Vec<f64>,
}

/// The scores of variant `name` at `seed` (0: the variant; else its repeat), when it ran.
fn scored_at<'a>(res: &'a LeversResults, name: &str, seed: u64) -> Option<&'a Scored> {
    let own = res
        .variants
        .iter()
        .find(|v| v.variant.name == name && v.variant.train.seed == seed)
        .map(|v| &v.scored);
    own.or_else(|| {
        let run = seeded(name, seed);
        res.repeats
            .iter()
            .find(|r| r.variant.name == run && r.variant.train.seed == seed)
            .map(|r| &r.scored)
    })
}

/// The seeds at which `name` has run: its own, then its repeats'.
fn seeds_of(res: &LeversResults, name: &str) -> Vec<u64> {
    let own = res
        .variants
        .iter()
        .filter(|v| v.variant.name == name)
        .map(|v| v.variant.train.seed);
    let repeats = res
        .repeats
        .iter()
        .filter(|r| r.variant.name == seeded(name, r.variant.train.seed))
        .map(|r| r.variant.train.seed);
    own.chain(repeats).collect()
}

/// The spread of every variant that has run at two seeds or more.
pub(crate) fn spreads(res: &LeversResults) -> Vec<Spread> {
    let mut out = Vec::new();
    for v in &res.variants {
        let seeds = seeds_of(res, &v.variant.name);
        if seeds.len() < 2 {
            continue;
        }
        let sc: Vec<&Scored> = seeds
            .iter()
            .filter_map(|&s| scored_at(res, &v.variant.name, s))
            .collect();
        let percent: Vec<Scores> = sc
            .iter()
            .map(|s| s.test.points_over(&Scores::default()))
            .collect();
        let gap = |f: fn(&Scores) -> f64| Paired::of(&percent.iter().map(f).collect::<Vec<_>>());
        out.push(Spread {
            variant: v.variant.name.clone(),
            seeds,
            test: Scores::across(&percent, MeanStd::of),
            adjustment_accuracy: gap(|s| s.adjusted_accuracy - s.accuracy),
            adjustment_macro_f1: gap(|s| s.adjusted_macro_f1 - s.macro_f1),
        });
    }
    out
}

/// The configured effects whose both sides have run at a common seed; `truth` is the test
/// part's labels (for McNemar's test).
pub(crate) fn effects(res: &LeversResults, truth: &[usize]) -> Result<Vec<Effect>> {
    let mut out = Vec::new();
    for pair in &res.config.effects {
        let mut seeds = Vec::new();
        let mut sides = Vec::new();
        for s in seeds_of(res, &pair.with) {
            if let (Some(a), Some(b)) = (
                scored_at(res, &pair.with, s),
                scored_at(res, &pair.without, s),
            ) {
                seeds.push(s);
                sides.push((a, b));
            }
        }
        if sides.is_empty() {
            continue;
        }
        let diffs: Vec<Scores> = sides
            .iter()
            .map(|(a, b)| a.test.points_over(&b.test))
            .collect();
        let mut mcnemar_raw_p = Vec::new();
        let mut mcnemar_adjusted_p = Vec::new();
        for (a, b) in &sides {
            if !a.raw_test_predictions.is_empty() && !b.raw_test_predictions.is_empty() {
                mcnemar_raw_p.push(
                    mcnemar(truth, &a.raw_test_predictions, &b.raw_test_predictions)?.p_value,
                );
            }
            mcnemar_adjusted_p
                .push(mcnemar(truth, &a.test_predictions, &b.test_predictions)?.p_value);
        }
        out.push(Effect {
            pair: pair.clone(),
            seeds,
            test: Scores::across(&diffs, Paired::of),
            mcnemar_raw_p,
            mcnemar_adjusted_p,
        });
    }
    Ok(out)
}
