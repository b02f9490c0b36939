//! What each finished run of section 6.1 leaves in `report/results/06.1-levers/` (beside the
//! section's results file, and committed with it): its results (a pretraining run's history,
//! a variant's scores and test predictions) under the identity its run folder records, and
//! the votes of the CNN-4 variants under the identities of their candidates. No weights and no
//! logits: a few tens of kB a run.
//!
//! The section takes 5 to 10 hours on 2 cores, longer than a machine may live, and its run
//! folders (`data/models/`) are not committed. With these records a later run (on this
//! machine or another) trains only what is not recorded: a finished run is loaded from its
//! folder when it is there, else taken from its record. A fine-tuned variant's record names
//! the pretraining run it started from (a digest of that run's history), so retraining a
//! pretraining run (its folder gone while a variant it starts still has to train) makes the
//! records of the variants fine-tuned from the old one stale, and they are trained again.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{
    EnsembleResults, LeversConfig, PretrainResults, PretrainSpec, Variant, VariantResults, SECTION,
};
use crate::data::Dataset;
use crate::split::Split;
use crate::training::{EpochRecord, Fit};
use crate::{paths, Result};

/// File name of the votes' record.
const VOTES: &str = "votes";

/// One finished run's record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct RunRecord {
    /// Digest of the run's identity ([`Fit::identity`], what its `config.json` records).
    pub key: String,
    /// A fine-tuned variant's: [`history_digest`] of the pretraining run it started from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Its results (`"pretraining": ...` or `"variant": ...` in the file).
    #[serde(flatten)]
    pub results: Recorded,
}

/// What a run's record holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Recorded {
    /// A pretraining run's results.
    Pretraining(PretrainResults),
    /// A variant's (or repeat's) results.
    Variant(Box<VariantResults>),
}

/// The votes' record: the soft and majority votes, and a digest of the candidates they were
/// chosen from ([`candidates_digest`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct VotesRecord {
    /// [`candidates_digest`] of the variants the votes were computed over.
    pub candidates: String,
    /// The votes.
    pub ensembles: Vec<EnsembleResults>,
}

/// The records' folder: `report/results/06.1-levers/` (or the results folder in use).
pub(crate) fn dir() -> PathBuf {
    paths::results_dir().join(SECTION)
}

fn path(id: &str) -> PathBuf {
    dir().join(format!("{id}.json"))
}

/// Digest of `fit`'s identity.
pub(crate) fn key(fit: &Fit) -> String {
    paths::sha256_bytes(fit.identity().to_string().as_bytes())
}

/// An epoch's epoch number, training and validation losses and validation accuracy.
type Losses = (usize, f64, f64, f64);

/// The deterministic part of a history (no timings): epoch, losses and validation accuracy.
fn losses(history: &[EpochRecord]) -> Vec<Losses> {
    history
        .iter()
        .map(|r| (r.epoch, r.train_loss, r.val_loss, r.val_accuracy))
        .collect()
}

/// Digest of a pretraining run's history (its losses, not its timings): which run of it a
/// variant was fine-tuned from. The same run trained again on the same machine has the same.
pub(crate) fn history_digest(p: &PretrainResults) -> String {
    let text = serde_json::to_string(&losses(&p.history)).unwrap_or_default();
    paths::sha256_bytes(text.as_bytes())
}

/// Digest of the names and histories (losses) of the variants a vote is chosen from.
pub(crate) fn candidates_digest<'a>(
    variants: impl IntoIterator<Item = &'a VariantResults>,
) -> String {
    let parts: Vec<(&str, Vec<Losses>)> = variants
        .into_iter()
        .map(|v| (v.variant.name.as_str(), losses(&v.history)))
        .collect();
    let text = serde_json::to_string(&parts).unwrap_or_default();
    paths::sha256_bytes(text.as_bytes())
}

/// The record of run `id` when there is one for `fit`'s identity; an unreadable record is an
/// error naming the file (delete it to train the run again).
fn read(id: &str, fit: &Fit) -> Result<Option<RunRecord>> {
    let p = path(id);
    if !p.is_file() {
        return Ok(None);
    }
    let rec: RunRecord = paths::read_json(&p)?;
    Ok((rec.key == key(fit)).then_some(rec))
}

/// The recorded results of pretraining run `id` trained as `fit`.
pub(crate) fn pretraining(id: &str, fit: &Fit) -> Result<Option<PretrainResults>> {
    Ok(match read(id, fit)?.map(|r| r.results) {
        Some(Recorded::Pretraining(p)) => Some(p),
        _ => None,
    })
}

/// The recorded results of variant `id` trained as `fit`, fine-tuned from the pretraining run
/// whose [`history_digest`] is `from` (`None`: from scratch).
pub(crate) fn variant(id: &str, fit: &Fit, from: Option<&str>) -> Result<Option<VariantResults>> {
    Ok(read(id, fit)?
        .filter(|r| r.from.as_deref() == from)
        .and_then(|r| match r.results {
            Recorded::Variant(v) => Some(*v),
            Recorded::Pretraining(_) => None,
        }))
}

/// Records pretraining run `id`.
pub(crate) fn write_pretraining(id: &str, fit: &Fit, p: &PretrainResults) -> Result<()> {
    write(
        id,
        &RunRecord {
            key: key(fit),
            from: None,
            results: Recorded::Pretraining(p.clone()),
        },
    )
}

/// Records variant `v` (fine-tuned from the pretraining run whose digest is `from`).
pub(crate) fn write_variant(fit: &Fit, from: Option<&str>, v: &VariantResults) -> Result<()> {
    write(
        &v.variant.name,
        &RunRecord {
            key: key(fit),
            from: from.map(str::to_string),
            results: Recorded::Variant(Box::new(v.clone())),
        },
    )
}

fn write(id: &str, rec: &RunRecord) -> Result<()> {
    paths::write_json_if_changed(&path(id), rec)
}

/// The recorded votes over candidates whose [`candidates_digest`] is `candidates`.
pub(crate) fn votes(candidates: &str) -> Result<Option<Vec<EnsembleResults>>> {
    let p = path(VOTES);
    if !p.is_file() {
        return Ok(None);
    }
    let rec: VotesRecord = paths::read_json(&p)?;
    Ok((rec.candidates == candidates).then_some(rec.ensembles))
}

/// Records the votes computed over candidates whose digest is `candidates`.
pub(crate) fn write_votes(candidates: &str, ensembles: &[EnsembleResults]) -> Result<()> {
    let rec = VotesRecord {
        candidates: candidates.to_string(),
        ensembles: ensembles.to_vec(),
    };
    paths::write_json_if_changed(&path(VOTES), &rec)
}

/// Pretraining run `spec`'s results: from its record when (resuming) its run folder does not
/// hold it finished and every variant of `runs` fine-tuned from it is finished or recorded as
/// fine-tuned from this very run; else [`super::pretrain`] (trained, resumed or loaded).
pub(crate) fn pretrain_or_record(
    data: &Dataset,
    images: &Dataset,
    config: &LeversConfig,
    spec: &PretrainSpec,
    runs: &[Variant],
    split: &Split,
    resume: bool,
) -> Result<PretrainResults> {
    let fit = config.pretrain_fit(spec, data, images);
    if resume && !fit.finished() {
        if let Some(p) = pretraining(&format!("pretrain-{}", spec.name), &fit)? {
            let from = history_digest(&p);
            let mut pending = false;
            for v in runs
                .iter()
                .filter(|v| v.pretrained.as_deref() == Some(spec.name.as_str()))
            {
                let vf = config.variant_fit(v, data)?;
                if !vf.finished() && variant(&v.name, &vf, Some(&from))?.is_none() {
                    pending = true;
                    break;
                }
            }
            if !pending {
                return Ok(p);
            }
        }
    }
    super::pretrain(data, images, config, spec, split, resume)
}

/// [`history_digest`] of the pretraining run `v` starts from (`None`: from scratch,
/// or a pretraining run not among `pretraining`).
pub(crate) fn from_of(pretraining: &[PretrainResults], v: &Variant) -> Option<String> {
    let name = v.pretrained.as_ref()?;
    pretraining
        .iter()
        .find(|p| &p.name == name)
        .map(history_digest)
}
