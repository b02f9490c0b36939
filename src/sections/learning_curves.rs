//! The report's learning-curve figure: training cross-entropy per epoch (left) and validation
//! accuracy per epoch (right), one line per neural model, from the results files of sections
//! 4.2 and 4.3 (whichever exist).
//!
//! Output: `figures/04-learning-curves.{svg,png}`.

use crate::plot::{self, LearningCurves, Png};
use crate::training::EpochRecord;
use crate::{paths, Error, Result};

/// Figure stem.
pub(crate) const FIGURE: &str = "04-learning-curves";

/// The models whose results feed the figure: (label, results section).
pub(crate) const MODELS: [(&str, &str); 2] = [
    ("CNN", super::cnn::SECTION),
    ("EfficientNet-b0", super::efficientnet::SECTION),
];

/// Reads the histories of every model in [`MODELS`] that has a results file.
pub(crate) fn from_results() -> Result<LearningCurves> {
    let mut runs = Vec::new();
    for (label, section) in MODELS {
        let path = paths::result(section);
        if !path.exists() {
            continue;
        }
        /// The part of a results file this figure needs.
        #[derive(serde::Deserialize)]
        struct WithHistory {
            history: Vec<EpochRecord>,
        }
        let history = paths::read_json::<WithHistory>(&path)?.history;
        runs.push((label.to_string(), history));
    }
    if runs.is_empty() {
        return Err(Error::results(
            paths::relative(&paths::result(super::cnn::SECTION)),
            "no results of sections 4.2 or 4.3 yet",
            "charlab train cnn",
        ));
    }
    Ok(LearningCurves { runs })
}

/// Draws `figures/04-learning-curves.{svg,png}` from the results files and returns it.
pub(crate) fn run() -> Result<Png> {
    plot::save(&from_results()?, &paths::figure(FIGURE))
}
