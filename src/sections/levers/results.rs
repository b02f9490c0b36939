//! What section 6.1 writes: `report/results/06.1-levers.json` and its parts.

use serde::{Deserialize, Serialize};

use super::{Effect, LeversConfig, Spread, Variant};
use crate::data::Source;
use crate::inference::Scored;
use crate::training::EpochRecord;

/// What a pretraining run did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PretrainResults {
    /// The spec's name.
    pub name: String,
    /// Corpus images used (after dropping duplicates).
    pub corpus_images: usize,
    /// Corpus images dropped as byte-identical to a validation or test image.
    pub dropped_duplicates: usize,
    /// Per-epoch history (validation: the data's validation part).
    pub history: Vec<EpochRecord>,
    /// Epoch with the lowest validation loss (its weights start the fine-tuning).
    pub best_epoch: usize,
    /// Seconds of training.
    pub seconds: f64,
}

/// The results of one variant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VariantResults {
    /// The variant as run.
    pub variant: Variant,
    /// Trainable parameters.
    pub parameters: i64,
    /// Per-epoch history of the fine-tuning (or training from scratch).
    pub history: Vec<EpochRecord>,
    /// Best epoch (lowest validation loss).
    pub best_epoch: usize,
    /// Seconds of training (pretraining not included).
    pub train_seconds: f64,
    /// Training images per second.
    pub train_images_per_second: f64,
    /// Its scores: `tau`, validation and test, per class, the look-alike pairs and the
    /// adjusted test predictions.
    #[serde(flatten)]
    pub scored: Scored,
}

/// An ensemble of finished variants: members picked on validation (the top `k` variants by
/// validation macro F1, `k` maximising the soft vote's validation macro F1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnsembleResults {
    /// `soft-vote` or `majority-vote`.
    pub name: String,
    /// Member variants.
    pub members: Vec<String>,
    /// Its scores (a majority vote is not adjusted: `tau` is 0).
    #[serde(flatten)]
    pub scored: Scored,
}

/// The best variant, chosen by adjusted validation macro F1 (percent, as the table).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Best {
    /// Variant name.
    pub model: String,
    /// Test accuracy after adjustment, percent.
    pub test_accuracy: f64,
    /// Test macro F1 after adjustment, percent.
    pub test_macro_f1: f64,
    /// Its run folder (for `charlab predict --model`); an ensemble's are in `members`.
    pub run_dir: String,
    /// Run folders of an ensemble's members (`charlab predict --model A --model B ...`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
}

/// `report/results/06.1-levers.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LeversResults {
    /// [`crate::paths::section::LEVERS`].
    pub section: String,
    /// The data.
    pub source: Source,
    /// Its content hash.
    pub data_hash: String,
    /// The character of each class (by index).
    #[serde(default)]
    pub class_chars: Vec<char>,
    /// The pretraining corpus.
    pub corpus: Source,
    /// Its content hash.
    pub corpus_hash: String,
    /// The configuration run.
    pub config: LeversConfig,
    /// Pretraining runs finished so far.
    pub pretraining: Vec<PretrainResults>,
    /// Variants finished so far, in the configuration's order.
    pub variants: Vec<VariantResults>,
    /// Soft and majority votes of the best variants (once two have finished).
    #[serde(default)]
    pub ensembles: Vec<EnsembleResults>,
    /// The best finished variant or ensemble.
    pub best: Option<Best>,
    /// Repeats finished so far (seed by seed, in the configuration's order), each named
    /// `<variant>-seed<seed>` and trained with that seed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repeats: Vec<VariantResults>,
    /// The spread of each variant run at two seeds or more.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spreads: Vec<Spread>,
    /// The configured lever comparisons, seed by seed, with their tests.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub effects: Vec<Effect>,
    /// Whether the networks were scored with their convolution weights channels-last
    /// ([`crate::channels_last`]; the layout changes float rounding, so re-scoring uses the
    /// same).
    #[serde(default)]
    pub channels_last: bool,
}
