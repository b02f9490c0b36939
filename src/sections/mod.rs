//! One module per section of the report, and [`SECTIONS`], the one registry of them in report
//! order.
//!
//! Each module has a `run` that computes the section on a [`crate::data::Dataset`], writes its
//! figures to `figures/NN-*.{svg,png}` and its results to `report/results/<section>.json`, a
//! `summary` of its results as the CLI prints them, and smaller functions that notebooks call
//! step by step.
//!
//! A [`Section`] says what a section is once: its id (the results file's and run folder's
//! name), number and title, notebook, figures, results file, run folders, the results of other
//! sections it reads. It is metadata only: how `charlab reproduce` runs a section is
//! [`crate::reproduce`]'s. Adding a section is one module, one entry in [`SECTIONS`], its
//! notebook, and (when `reproduce` runs it) its hook in `reproduce`.

use std::path::PathBuf;

use crate::paths;

pub mod baselines;
pub mod cnn;
pub mod cnn_tuning;
pub mod cv;
pub mod dataset;
pub mod efficientnet;
pub mod learning_curves;
pub mod levers;
pub mod neural;
pub mod preprocessing;
pub mod results;

/// What a section of the report is (see the module documentation).
#[derive(Clone, Copy, Debug)]
pub struct Section {
    /// File name of its results file and run folder, e.g. `04.2-cnn`; also the name of its
    /// step in `charlab reproduce`.
    pub id: &'static str,
    /// Its number in the report, e.g. `4.2`.
    pub number: &'static str,
    /// Its title in the report.
    pub title: &'static str,
    /// Its notebook, relative to the project root, if it has one.
    pub notebook: Option<&'static str>,
    /// Its `src` module, relative to the project root.
    pub module: &'static str,
    /// Stems of the figures it draws (`figures/<stem>.{svg,png}`).
    pub figures: &'static [&'static str],
    /// Whether it writes `report/results/<id>.json`.
    pub results: bool,
    /// Whether it trains into run folders under `data/models/<id>/`.
    pub runs: bool,
    /// Ids of the sections whose results files it reads.
    pub reads: &'static [&'static str],
    /// Whether the report step of `charlab reproduce` hashes its results file into its key
    /// (the report includes its results when they exist).
    pub in_report_key: bool,
    /// The command that writes its results file (for messages).
    pub command: &'static str,
}

impl Section {
    /// `report/results/<id>.json`, if the section writes one.
    pub(crate) fn results_file(&self) -> Option<PathBuf> {
        self.results.then(|| paths::result(self.id))
    }

    /// Every file its figures are written to (`.svg` and `.png` of each).
    pub(crate) fn figure_files(&self) -> Vec<PathBuf> {
        self.figures
            .iter()
            .flat_map(|stem| paths::figure_files(stem))
            .collect()
    }

    /// Every file a run of the section writes: its figures, then its results file.
    pub(crate) fn outputs(&self) -> Vec<PathBuf> {
        let mut out = self.figure_files();
        out.extend(self.results_file());
        out
    }
}

/// Every section of the report, in report order.
pub static SECTIONS: [Section; 10] = [
    Section {
        id: dataset::SECTION,
        number: "2",
        title: "Dataset",
        notebook: Some("notebooks/02-dataset.ipynb"),
        module: "src/sections/dataset.rs",
        figures: &[dataset::DISTRIBUTION_FIGURE, dataset::SAMPLES_FIGURE],
        results: true,
        runs: false,
        reads: &[],
        in_report_key: true,
        command: "charlab figures dataset",
    },
    Section {
        id: preprocessing::SECTION,
        number: "3",
        title: "Preprocessing",
        notebook: Some("notebooks/03-preprocessing.ipynb"),
        module: "src/sections/preprocessing.rs",
        figures: &[],
        results: true,
        runs: false,
        reads: &[],
        in_report_key: true,
        command: "charlab preprocess",
    },
    Section {
        id: baselines::SECTION,
        number: "4.1",
        title: "Baselines: logistic regression and the RBF SVM",
        notebook: Some("notebooks/04.1-baselines.ipynb"),
        module: "src/sections/baselines/",
        figures: &[baselines::F1_FIGURE],
        results: true,
        runs: false,
        reads: &[],
        in_report_key: true,
        command: "charlab baselines",
    },
    Section {
        id: cnn_tuning::SECTION,
        number: "4.2",
        title: "The CNN's learning rate and architecture",
        notebook: Some("notebooks/04.2-cnn.ipynb"),
        module: "src/sections/cnn_tuning.rs",
        figures: &[],
        results: true,
        runs: true,
        reads: &[],
        in_report_key: true,
        command: "charlab tune cnn",
    },
    Section {
        id: cnn::SECTION,
        number: "4.2",
        title: "CNN",
        notebook: Some("notebooks/04.2-cnn.ipynb"),
        module: "src/sections/cnn.rs",
        figures: &[],
        results: true,
        runs: true,
        reads: &[],
        in_report_key: true,
        command: "charlab train cnn",
    },
    Section {
        id: efficientnet::SECTION,
        number: "4.3",
        title: "EfficientNet",
        notebook: Some("notebooks/04.3-efficientnet.ipynb"),
        module: "src/sections/efficientnet.rs",
        figures: &[],
        results: true,
        runs: true,
        reads: &[],
        in_report_key: true,
        command: "charlab train efficientnet",
    },
    Section {
        id: learning_curves::FIGURE,
        number: "4",
        title: "Learning curves",
        notebook: Some("notebooks/04.3-efficientnet.ipynb"),
        module: "src/sections/learning_curves.rs",
        figures: &[learning_curves::FIGURE],
        results: false,
        runs: false,
        reads: &[cnn::SECTION, efficientnet::SECTION],
        in_report_key: false,
        command: "charlab figures learning-curves",
    },
    Section {
        id: results::SECTION,
        number: "5",
        title: "Results",
        notebook: Some("notebooks/05-results.ipynb"),
        module: "src/sections/results/",
        figures: &[
            results::CONFUSION_FIGURE,
            results::PAIRS_FIGURE,
            results::F1_FIGURE,
        ],
        results: true,
        runs: false,
        reads: &[baselines::SECTION, cnn::SECTION, efficientnet::SECTION],
        in_report_key: true,
        command: "charlab results",
    },
    Section {
        id: levers::SECTION,
        number: "6.1",
        title: "Levers: pretraining, augmentation, class weights, logit adjustment",
        notebook: Some("notebooks/06.1-levers.ipynb"),
        module: "src/sections/levers/",
        figures: &[levers::figures::AUGMENT_FIGURE],
        results: true,
        runs: true,
        reads: &[],
        in_report_key: true,
        command: "charlab levers",
    },
    Section {
        id: cv::SECTION,
        number: "6.2",
        title: "Cross-validation, grid searches and votes",
        notebook: Some("notebooks/06.2-cv.ipynb"),
        module: "src/sections/cv/",
        figures: &[cv::CV_FIGURE, cv::SVM_GRID_FIGURE],
        results: true,
        runs: true,
        reads: &[],
        in_report_key: true,
        command: "charlab cv",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_section_names_files_that_exist_and_ids_are_unique() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut ids = std::collections::HashSet::new();
        for s in &SECTIONS {
            assert!(ids.insert(s.id), "{} twice", s.id);
            assert!(root.join(s.module).exists(), "{}: {}", s.id, s.module);
            if let Some(n) = s.notebook {
                assert!(root.join(n).exists(), "{}: {n}", s.id);
            }
            for r in s.reads {
                assert!(
                    SECTIONS.iter().any(|x| x.id == *r && x.results),
                    "{} reads {r}",
                    s.id
                );
            }
        }
    }
}
