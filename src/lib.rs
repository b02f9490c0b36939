//! # charlab
//!
//! Reproduces, then extends, a short report on handwritten character classification: 56x56
//! binary images of letters and digits in 36 unbalanced classes.
//!
//! The library, low layers first (a layer imports only the layers above it in this list,
//! `tests/layers.rs` checks it):
//!
//! - [`paths`]: every path the project reads or writes; [`settings`]: what the environment
//!   says, read once at an entry point; [`profile`]: the full and quick schedules (the only
//!   definition of quick settings); [`error`], [`progress`], [`display`];
//! - [`data`]: one [`data::Dataset`] type read from the task's `train.pkl`, from EMNIST IDX
//!   files, or generated in-process (the embedded default, [`data::synth`]);
//!   [`augment`]: on-the-fly augmentation of training images;
//! - [`split`]: the report's seeded random split, stratified split and k-fold, normalisation;
//! - [`metrics`]: accuracy, per-class and macro F1, confusion matrix (scikit-learn semantics);
//! - [`models`]: logistic regression (own L-BFGS, or `linfa-logistic`) and the RBF SVM
//!   (popcount kernel + SMO, or `linfa-svm`), and the networks, one kind each in
//!   [`models::Net`]: the CNN, EfficientNet and ResNet (`tch`);
//! - [`training`]: [`training::Fit`] trains a network into a resumable run folder and returns
//!   the [`training::Trained`] network; [`tuning`]: the learning-rate sweep and the
//!   architecture search;
//! - [`inference`]: a run folder loaded back to label new images ([`inference::Predictor`]),
//!   logit adjustment, soft and majority votes;
//! - [`plot`]: figures as SVG and PNG with an embedded font, shown inline in notebooks;
//! - [`jobs`]: a section's work as independent units for a scheduler (plan, one unit, collect);
//!
//! and above them, what the report and its tools need:
//!
//! - [`sections`]: one module per report section, each writing its figures and results file
//!   with the functions above; [`report`]: the report's Markdown and HTML written from the
//!   results files; [`reproduce`]: every section in order, reusing what has not changed;
//!   [`notebook`]: a notebook's first step ([`notebook::start`]); [`weights`]: the committed
//!   weights of the reported networks and their verification.
//!
//! `use charlab::prelude::*;` brings what a notebook needs to do a section by hand.
//!
//! Notebooks (evcxr) can only name types of crates this crate re-exports, so the crates whose
//! values they hold are re-exported: [`tch`], [`polars`], [`plotters`], [`ndarray`].

#![warn(missing_docs)]
// Without the `cli` feature (the notebooks' build) the items only the command line uses are
// unused; they are not dead in the default build, which clippy checks with `-D warnings`.
#![cfg_attr(not(feature = "cli"), allow(dead_code, unused_imports))]

pub mod augment;
#[cfg(feature = "cli")]
pub mod cli;
pub mod cuda;
pub mod data;
pub mod display;
pub mod error;
pub mod inference;
pub mod jobs;
pub mod metrics;
pub mod models;
pub mod notebook;
pub mod paths;
pub mod plot;
pub mod precision;
pub mod profile;
pub mod progress;
pub mod report;
pub mod reproduce;
pub mod sections;
pub mod settings;
pub mod split;
pub mod training;
pub mod tuning;
pub mod weights;

pub use error::{Error, Result};
pub use ndarray;
pub use plotters;
pub use polars;
pub use precision::Precision;
pub use profile::Profile;
pub use progress::peak_memory_mb;
pub use settings::{channels_last, keep_freed_memory, threads, Settings};
pub use tch;

/// The names a notebook needs to do a section by hand: `use charlab::prelude::*;`. Data,
/// split and normaliser; every model's builder (logistic regression, SVM, CNN, EfficientNet,
/// ResNet); training ([`Fit`](crate::training::Fit), resumable, reusing a finished run folder) and prediction
/// ([`Trained::predict`](crate::training::Trained::predict), [`Predictor`](crate::inference::Predictor)); the metrics; votes and logit adjustment; figures and
/// tables.
pub mod prelude {
    pub use crate::data::{DataSpec, Dataset, Source, REPORT_CLASSES, REPORT_COUNTS};
    pub use crate::display::{table, Html, TableFormat};
    pub use crate::inference::{
        adjusted_predictions, arg_max, log_prior, majority_vote, soft_vote, Adjustment, Predictor,
    };
    pub use crate::metrics::{accuracy, macro_f1, ClassMetrics, ConfusionMatrix};
    pub use crate::models::{logreg::LogReg, svm::Svm, SvmParams};
    pub use crate::models::{CnnParams, EfficientNetParams, LogRegParams, Net, ResNetParams};
    pub use crate::plot::{Figure, Png};
    pub use crate::split::{random_split, stratified_kfold, Normalizer, Split};
    pub use crate::training::{EpochRecord, Fit, Init, TrainData, TrainParams, Trained};
    pub use crate::{paths, sections, Error, Profile, Result};
    pub use polars::prelude::DataFrame;
    pub use tch::Device;
}
