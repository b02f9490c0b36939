//! Run profiles: the report's settings ([`Profile::Full`]) or small and fast ones
//! ([`Profile::Quick`], the tests' and the notebooks' under `CHARLAB_QUICK=1`).
//!
//! This is the only definition of what "quick" means: the CLI's `--quick`, `charlab
//! reproduce --quick`, the notebooks and the tests all read it, so that they agree (notebook
//! 05 and `reproduce --quick` run the same steps on the same data). The sections' own quick
//! configurations (grids, variants, folds) are chosen by profile too
//! (`LeversConfig::for_profile`, `TuningConfig::for_profile`, `ReproduceConfig::for_profile`).

use serde::{Deserialize, Serialize};

use crate::data::{synth, DataSpec};

/// Images of the embedded default set in quick mode (when no data is given).
pub const QUICK_DATA_SIZE: usize = 1_500;

/// Images of the embedded pretraining corpus of section 6.1 in quick mode.
pub const QUICK_CORPUS_SIZE: usize = 1_500;

/// Epochs of the CNN (section 4.2) in quick mode.
pub const QUICK_CNN_EPOCHS: usize = 2;

/// Epochs of EfficientNet (section 4.3) in quick mode.
pub const QUICK_EFFICIENTNET_EPOCHS: usize = 1;

/// Iteration cap of the logistic regression (section 4.1) in quick mode.
pub const QUICK_LOGREG_MAX_ITER: usize = 200;

/// How much a run computes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// The report's settings.
    #[default]
    Full,
    /// Minutes on a laptop: small embedded data, few epochs, small grids; outputs go under
    /// `target/quick/` and run folders under `data/models/quick/`.
    Quick,
}

impl Profile {
    /// [`Profile::Quick`] when `quick` is true (the CLI's `--quick`), else [`Profile::Full`].
    pub fn from_flag(quick: bool) -> Self {
        if quick {
            Profile::Quick
        } else {
            Profile::Full
        }
    }

    /// Whether this is [`Profile::Quick`].
    pub fn is_quick(self) -> bool {
        self == Profile::Quick
    }

    /// `"quick"` or `"full"`, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Full => "full",
            Profile::Quick => "quick",
        }
    }

    /// Images of the embedded default set when no data is given: `full_size` (the CLI's
    /// `--default-size`) in the full profile, [`QUICK_DATA_SIZE`] in the quick one.
    pub fn data_size(self, full_size: usize) -> usize {
        match self {
            Profile::Full => full_size,
            Profile::Quick => QUICK_DATA_SIZE,
        }
    }

    /// The data of a notebook or runner given `data` (`CHARLAB_DATA`, see
    /// [`DataSpec::from_arg`]): the embedded default at [`QUICK_DATA_SIZE`] images (seed
    /// [`synth::DEFAULT_SEED`]) in the quick profile, what `data` names in the full one.
    pub fn data_spec(self, data: Option<&str>) -> DataSpec {
        match self {
            Profile::Full => DataSpec::from_arg(data),
            Profile::Quick => DataSpec::Default {
                n: QUICK_DATA_SIZE,
                seed: synth::DEFAULT_SEED,
            },
        }
    }

    /// Images of section 6.1's embedded pretraining corpus: `full_size` in the full profile,
    /// at most [`QUICK_CORPUS_SIZE`] in the quick one.
    pub fn corpus_size(self, full_size: usize) -> usize {
        match self {
            Profile::Full => full_size,
            Profile::Quick => full_size.min(QUICK_CORPUS_SIZE),
        }
    }

    /// Epochs of the CNN: `full` in the full profile, at most [`QUICK_CNN_EPOCHS`] in the
    /// quick one.
    pub fn cnn_epochs(self, full: usize) -> usize {
        match self {
            Profile::Full => full,
            Profile::Quick => full.min(QUICK_CNN_EPOCHS),
        }
    }

    /// Epochs of EfficientNet: `full` in the full profile, at most
    /// [`QUICK_EFFICIENTNET_EPOCHS`] in the quick one.
    pub fn efficientnet_epochs(self, full: usize) -> usize {
        match self {
            Profile::Full => full,
            Profile::Quick => full.min(QUICK_EFFICIENTNET_EPOCHS),
        }
    }

    /// Iteration cap of the logistic regression: `full` in the full profile, at most
    /// [`QUICK_LOGREG_MAX_ITER`] in the quick one.
    pub fn logreg_max_iter(self, full: usize) -> usize {
        match self {
            Profile::Full => full,
            Profile::Quick => full.min(QUICK_LOGREG_MAX_ITER),
        }
    }

    /// The folder under `data/models/` that run folders of this profile go to: the folder
    /// itself in the full profile, its `quick/` subfolder in the quick one (so quick runs
    /// never touch a full run's checkpoints).
    pub fn models_subdir(self) -> &'static str {
        match self {
            Profile::Full => "",
            Profile::Quick => "quick",
        }
    }
}
