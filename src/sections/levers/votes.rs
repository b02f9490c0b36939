//! Section 6.1's votes: soft and majority votes of the best variants (members chosen on
//! validation), and the best model of all on validation.

use tch::Tensor;

use super::{records, run_root, Best, EnsembleResults, VariantResults};
use crate::data::{Dataset, LOOK_ALIKE_PAIRS};
use crate::inference::{majority_vote, score, soft_vote, Eval, Scored};
use crate::models::Net;
use crate::split::Split;
use crate::{paths, Result};

/// The votes of the section: [`ensembles`] over the configured CNN-4 variants (`variants[i]`
/// with `logits[i]`, its validation and test logits when it was trained or loaded in this
/// run), recorded in `votes.json` ([`super::records`]). When a candidate's logits are absent
/// (its results came from its record), the recorded votes over the same candidates, or none.
/// Only the CNN-4 variants are candidates: a vote needs every candidate's logits at once, so
/// all of them from one machine's run folders, and an EfficientNet-b0 candidate costs as much
/// training as five CNN-4 ones.
pub(crate) fn votes(
    data: &Dataset,
    split: &Split,
    variants: &[VariantResults],
    logits: &[Option<(Tensor, Tensor)>],
    tau_grid: &[f64],
) -> Result<Vec<EnsembleResults>> {
    let cands: Vec<usize> = (0..variants.len())
        .filter(|&i| matches!(variants[i].variant.net, Net::Cnn(_)))
        .collect();
    let digest = records::candidates_digest(cands.iter().map(|&i| &variants[i]));
    let with: Option<Vec<(&VariantResults, &(Tensor, Tensor))>> = cands
        .iter()
        .map(|&i| {
            logits
                .get(i)
                .and_then(Option::as_ref)
                .map(|l| (&variants[i], l))
        })
        .collect();
    match with {
        Some(w) => {
            let en = ensembles(data, split, &w, tau_grid)?;
            records::write_votes(&digest, &en)?;
            Ok(en)
        }
        None => Ok(records::votes(&digest)?.unwrap_or_default()),
    }
}

/// Soft and majority votes over the top `k` of `cands` by validation macro F1, `k` (from 2)
/// chosen by the soft vote's validation macro F1; each candidate comes with its validation and
/// test logits.
fn ensembles(
    data: &Dataset,
    split: &Split,
    cands: &[(&VariantResults, &(Tensor, Tensor))],
    tau_grid: &[f64],
) -> Result<Vec<EnsembleResults>> {
    if cands.len() < 2 {
        return Ok(Vec::new());
    }
    let e = Eval::new(data, split, &LOOK_ALIKE_PAIRS);
    let mut order: Vec<usize> = (0..cands.len()).collect();
    order.sort_by(|&a, &b| {
        cands[b]
            .0
            .scored
            .validation
            .adjusted_macro_f1
            .total_cmp(&cands[a].0.scored.validation.adjusted_macro_f1)
    });
    let mut best: Option<(usize, Scored)> = None;
    for k in 2..=order.len() {
        let val: Vec<&Tensor> = order[..k].iter().map(|&i| &cands[i].1 .0).collect();
        let test: Vec<&Tensor> = order[..k].iter().map(|&i| &cands[i].1 .1).collect();
        let sc = score(&e, &soft_vote(&val)?, &soft_vote(&test)?, tau_grid)?;
        let better = best.as_ref().is_none_or(|(_, b)| {
            sc.validation.adjusted_macro_f1 > b.validation.adjusted_macro_f1 + 1e-12
        });
        if better {
            best = Some((k, sc));
        }
    }
    let Some((k, soft)) = best else {
        return Ok(Vec::new());
    };
    let members: Vec<String> = order[..k]
        .iter()
        .map(|&i| cands[i].0.variant.name.clone())
        .collect();
    let val: Vec<&Tensor> = order[..k].iter().map(|&i| &cands[i].1 .0).collect();
    let test: Vec<&Tensor> = order[..k].iter().map(|&i| &cands[i].1 .1).collect();
    let majority = score(&e, &majority_vote(&val)?, &majority_vote(&test)?, &[0.0])?;
    Ok(vec![
        EnsembleResults {
            name: "soft-vote".into(),
            members: members.clone(),
            scored: soft,
        },
        EnsembleResults {
            name: "majority-vote".into(),
            members,
            scored: majority,
        },
    ])
}

/// Picks the best finished variant or ensemble by adjusted validation macro F1.
pub(crate) fn best_of(variants: &[VariantResults], ensembles: &[EnsembleResults]) -> Option<Best> {
    let dir = |name: &str| paths::relative(&run_root().join(name));
    let mut cands: Vec<(f64, Best)> = variants
        .iter()
        .map(|v| {
            (
                v.scored.validation.adjusted_macro_f1,
                Best {
                    model: v.variant.name.clone(),
                    test_accuracy: 100.0 * v.scored.test.adjusted_accuracy,
                    test_macro_f1: 100.0 * v.scored.test.adjusted_macro_f1,
                    run_dir: dir(&v.variant.name),
                    members: Vec::new(),
                },
            )
        })
        .collect();
    for en in ensembles {
        cands.push((
            en.scored.validation.adjusted_macro_f1,
            Best {
                model: en.name.clone(),
                test_accuracy: 100.0 * en.scored.test.adjusted_accuracy,
                test_macro_f1: 100.0 * en.scored.test.adjusted_macro_f1,
                run_dir: dir(&en.name),
                members: en.members.iter().map(|m| dir(m)).collect(),
            },
        ));
    }
    cands
        .into_iter()
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, b)| b)
}
