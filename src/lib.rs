//! # charlab
//!
//! Reproduces, then extends, a short report on handwritten character classification: 56x56
//! binary images of letters and digits in 36 unbalanced classes.
//!
//! - [`data`]: one [`data::Dataset`] type read from the task's `train.pkl`, from EMNIST IDX
//!   files, or generated in-process (the embedded default, [`data::synth`]);
//! - [`metrics`]: accuracy, per-class and macro F1, confusion matrix (scikit-learn semantics);
//! - [`split`]: the report's seeded random split, stratified split and k-fold, normalisation;
//! - [`models`]: logistic regression (own L-BFGS, or `linfa-logistic`) and the RBF SVM
//!   (popcount kernel + SMO, or `linfa-svm`), the CNN and EfficientNet (`tch`);
//! - [`training`]: one training loop for every network, resumable; [`tuning`]: the learning-rate
//!   sweep and the architecture search; [`inference`]: a trained run loaded back to label new images;
//!   [`run_folder`]: a run folder's files, checked on resume, and its lock;
//! - [`sections`]: one module per report section, each writing its figures and results;
//! - [`reproduce`]: every section in order, reusing what has not changed; [`report`]: the
//!   report's Markdown and HTML written from the results files;
//! - [`progress`]: one progress reporter (bars on a terminal, plain lines otherwise);
//! - [`plot`]: figures as SVG and PNG with an embedded font, shown inline in notebooks;
//! - [`paths`]: every path the project reads or writes; [`profile`]: the full and quick run
//!   profiles (the only definition of quick settings).
//!
//! Notebooks (evcxr) can only name types of crates this crate re-exports, so the crates whose
//! values they hold are re-exported: [`tch`], [`polars`], [`plotters`], [`ndarray`].

#![warn(missing_docs)]

pub mod augment;
pub mod data;
pub mod display;
pub mod error;
pub mod inference;
pub mod metrics;
pub mod models;
pub mod paths;
pub mod plot;
pub mod profile;
pub mod progress;
pub mod report;
pub mod reproduce;
pub mod run_folder;
pub mod sections;
pub mod split;
pub mod training;
pub mod tuning;

pub use error::{Error, Result};
pub use ndarray;
pub use plotters;
pub use polars;
pub use profile::Profile;
pub use tch;

/// The names a notebook usually needs: `use charlab::prelude::*;`.
pub mod prelude {
    pub use crate::data::{DataSpec, Dataset, Source, REPORT_CLASSES, REPORT_COUNTS};
    pub use crate::display::{table, Html};
    pub use crate::plot::{Figure, Png};
    pub use crate::split::{Normalizer, Split};
    pub use crate::{paths, sections, Error, Profile, Result};
    pub use polars::prelude::DataFrame;
}

/// Makes glibc's allocator keep freed memory for reuse instead of returning large blocks to
/// the system. libtorch allocates each batch's activations anew (the CNN's first block alone
/// is 51 MB at batch 128); glibc serves blocks above 32 MB with `mmap` and unmaps them when
/// freed, so without this every training step page-faults its activations in again. Only the
/// allocator changes, not the arithmetic: the losses are the same. What it saves (page faults,
/// CPU time) is measured in `docs/measurements.md`. The CLI calls this first; a no-op off
/// glibc. Memory freed by the process then stays mapped until it exits.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; it is called before any thread is
    // started by this process.
    unsafe {
        libc::mallopt(libc::M_MMAP_MAX, 0);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
}

/// `true` when `CHARLAB_QUICK` is set (to anything but `0`): notebooks and runners then use
/// small data and few epochs, as the test command does. Shorthand for
/// `Profile::from_env().is_quick()` ([`profile`] defines what quick means).
pub fn quick() -> bool {
    Profile::from_env().is_quick()
}

/// Number of CPU threads to use for heavy work: `CHARLAB_THREADS`, else all cores.
pub fn threads() -> usize {
    std::env::var("CHARLAB_THREADS")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Whether the networks store their convolution weights channels-last
/// ([`models::to_channels_last`]): on unless `CHARLAB_CHANNELS_LAST` is `0`. A speed setting,
/// like [`threads`]: it changes float rounding, not the model; results record it.
pub fn channels_last() -> bool {
    std::env::var("CHARLAB_CHANNELS_LAST").map_or(true, |v| v != "0")
}

/// Peak resident memory of this process so far, in MB (`VmHWM` of `/proc/self/status`; `None`
/// where that file does not exist).
pub fn peak_memory_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
