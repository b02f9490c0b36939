//! One module per section of the report, and `SECTIONS`, the one registry of them in report
//! order.
//!
//! Each module has a `run` that computes the section on a [`crate::data::Dataset`], writes its
//! figures to `figures/NN-*.{svg,png}` and its results to `report/results/<section>.json`, a
//! `summary` of its results as the CLI prints them, and smaller functions that notebooks call
//! step by step.
//!
//! A `Section` says what a section is once: its id (the results file's and run folder's
//! name), number, notebook, module, figures, results file, the results of other sections it
//! reads. It is metadata only: how `charlab reproduce` runs a section is
//! [`crate::reproduce`]'s. Adding a section is one module, one entry in `SECTIONS`, its
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
// Metadata: `reproduce` reads the ids, inputs and commands; the tests below check the rest
// against the tree and the README.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) struct Section {
    /// File name of its results file and run folder, e.g. `04.2-cnn`; also the name of its
    /// step in `charlab reproduce`.
    pub id: &'static str,
    /// Its number in the report, e.g. `4.2`.
    pub number: &'static str,
    /// Its notebook, relative to the project root, if it has one.
    pub notebook: Option<&'static str>,
    /// Its `src` module, relative to the project root.
    pub module: &'static str,
    /// Stems of the figures it draws (`figures/<stem>.{svg,png}`).
    pub figures: &'static [&'static str],
    /// Whether it writes `report/results/<id>.json`.
    pub results: bool,
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
pub(crate) static SECTIONS: [Section; 10] = [
    Section {
        id: dataset::SECTION,
        number: "2",
        notebook: Some("notebooks/02-dataset.ipynb"),
        module: "src/sections/dataset.rs",
        figures: &[dataset::DISTRIBUTION_FIGURE, dataset::SAMPLES_FIGURE],
        results: true,
        reads: &[],
        in_report_key: true,
        command: "charlab figures dataset",
    },
    Section {
        id: preprocessing::SECTION,
        number: "3",
        notebook: Some("notebooks/03-preprocessing.ipynb"),
        module: "src/sections/preprocessing.rs",
        figures: &[],
        results: true,
        reads: &[],
        in_report_key: true,
        command: "charlab preprocess",
    },
    Section {
        id: baselines::SECTION,
        number: "4.1",
        notebook: Some("notebooks/04.1-baselines.ipynb"),
        module: "src/sections/baselines/",
        figures: &[baselines::F1_FIGURE],
        results: true,
        reads: &[],
        in_report_key: true,
        command: "charlab baselines",
    },
    Section {
        id: cnn_tuning::SECTION,
        number: "4.2",
        notebook: Some("notebooks/04.2-cnn.ipynb"),
        module: "src/sections/cnn_tuning.rs",
        figures: &[],
        results: true,
        reads: &[],
        in_report_key: true,
        command: "charlab tune cnn",
    },
    Section {
        id: cnn::SECTION,
        number: "4.2",
        notebook: Some("notebooks/04.2-cnn.ipynb"),
        module: "src/sections/cnn.rs",
        figures: &[],
        results: true,
        reads: &[],
        in_report_key: true,
        command: "charlab train cnn",
    },
    Section {
        id: efficientnet::SECTION,
        number: "4.3",
        notebook: Some("notebooks/04.3-efficientnet.ipynb"),
        module: "src/sections/efficientnet.rs",
        figures: &[],
        results: true,
        reads: &[],
        in_report_key: true,
        command: "charlab train efficientnet",
    },
    Section {
        id: learning_curves::FIGURE,
        number: "4",
        notebook: Some("notebooks/04.3-efficientnet.ipynb"),
        module: "src/sections/learning_curves.rs",
        figures: &[learning_curves::FIGURE],
        results: false,
        reads: &[cnn::SECTION, efficientnet::SECTION],
        in_report_key: false,
        command: "charlab figures learning-curves",
    },
    Section {
        id: results::SECTION,
        number: "5",
        notebook: Some("notebooks/05-results.ipynb"),
        module: "src/sections/results/",
        figures: &[
            results::CONFUSION_FIGURE,
            results::PAIRS_FIGURE,
            results::F1_FIGURE,
        ],
        results: true,
        reads: &[baselines::SECTION, cnn::SECTION, efficientnet::SECTION],
        in_report_key: true,
        command: "charlab results",
    },
    Section {
        id: levers::SECTION,
        number: "6.1",
        notebook: Some("notebooks/06.1-levers.ipynb"),
        module: "src/sections/levers/",
        figures: &[levers::figures::AUGMENT_FIGURE],
        results: true,
        reads: &[],
        in_report_key: true,
        command: "charlab levers",
    },
    Section {
        id: cv::SECTION,
        number: "6.2",
        notebook: Some("notebooks/06.2-cv.ipynb"),
        module: "src/sections/cv/",
        figures: &[cv::CV_FIGURE, cv::SVM_GRID_FIGURE],
        results: true,
        reads: &[],
        in_report_key: true,
        command: "charlab cv",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    /// The row of the README's section table that names `notebook`.
    fn readme_row(notebook: &str) -> Option<String> {
        let readme =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).ok()?;
        readme
            .lines()
            .find(|l| l.starts_with("| ") && l.contains(&format!("`{notebook}`")))
            .map(str::to_string)
    }

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
            if let Some(n) = s.notebook {
                let row = readme_row(n);
                assert!(
                    row.is_some_and(|r| r.starts_with(&format!("| {}", s.number))),
                    "{}: the README's section table has no row for {n} starting with section {}",
                    s.id,
                    s.number
                );
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
