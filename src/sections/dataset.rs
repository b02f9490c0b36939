//! Section 2 of the report, "Dataset": class distribution (linear and log scale), one sample
//! per class, and the summary table.
//!
//! Outputs: `figures/02-class-distribution.{svg,png}`, `figures/02-samples.{svg,png}`,
//! `report/results/02-dataset.json`.

use serde::{Deserialize, Serialize};

use crate::data::{Dataset, Source};
use crate::plot::{self, ClassDistribution, SampleGrid};
use crate::{paths, Result};

/// Name of this section in file names ([`crate::paths::section`]).
pub(crate) const SECTION: &str = crate::paths::section::DATASET;

/// Stem of the class-distribution figure (`figures/02-class-distribution.{svg,png}`).
pub(crate) const DISTRIBUTION_FIGURE: &str = "02-class-distribution";

/// Stem of the one-sample-per-class figure (`figures/02-samples.{svg,png}`).
pub(crate) const SAMPLES_FIGURE: &str = "02-samples";

/// One row of the results file's class table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassRow {
    /// Class index.
    pub class: usize,
    /// Class character.
    pub character: char,
    /// Images.
    pub count: usize,
    /// Share of all images, in percent.
    pub share: f64,
}

/// `report/results/02-dataset.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DatasetResults {
    /// Section name.
    pub section: String,
    /// Where the data came from.
    pub source: Source,
    /// [`Dataset::content_hash`].
    pub data_hash: String,
    /// Images.
    pub images: usize,
    /// Image height and width.
    pub image_size: (usize, usize),
    /// Classes.
    pub classes: usize,
    /// Fraction of ink pixels over all images.
    pub ink_fraction: f64,
    /// Smallest and largest class (index, count).
    pub smallest: (usize, usize),
    /// Largest class (index, count).
    pub largest: (usize, usize),
    /// Largest class / smallest non-empty class.
    pub imbalance_ratio: f64,
    /// Per-class counts.
    pub table: Vec<ClassRow>,
    /// Seed used to pick the sample images.
    pub seed: u64,
    /// Figures written, relative to the project root.
    pub figures: Vec<String>,
}

/// Facts of section 2 about `data` (no file written).
pub fn results(data: &Dataset, seed: u64) -> DatasetResults {
    let counts = data.class_counts();
    let total = data.len().max(1) as f64;
    let (mut small, mut large) = ((0, usize::MAX), (0, 0));
    for (c, &n) in counts.iter().enumerate() {
        if n > 0 && n < small.1 {
            small = (c, n);
        }
        if n > large.1 {
            large = (c, n);
        }
    }
    let ink: u64 = data.images().iter().map(|&p| p as u64).sum();
    DatasetResults {
        section: SECTION.into(),
        source: data.source().clone(),
        data_hash: data.content_hash(),
        images: data.len(),
        image_size: (data.height(), data.width()),
        classes: data.n_classes(),
        ink_fraction: ink as f64 / (data.images().len().max(1) as f64),
        smallest: small,
        largest: large,
        imbalance_ratio: large.1 as f64 / small.1.max(1) as f64,
        table: counts
            .iter()
            .enumerate()
            .map(|(c, &n)| ClassRow {
                class: c,
                character: data.class_chars()[c],
                count: n,
                share: 100.0 * n as f64 / total,
            })
            .collect(),
        seed,
        figures: [DISTRIBUTION_FIGURE, SAMPLES_FIGURE]
            .iter()
            .flat_map(|f| ["svg", "png"].map(|ext| format!("figures/{f}.{ext}")))
            .collect(),
    }
}

/// Writes `report/results/02-dataset.json`.
fn save_results(res: &DatasetResults) -> Result<()> {
    paths::write_json(&paths::result(SECTION), res)
}

/// Runs section 2: both figures and the results file.
pub(crate) fn run(data: &Dataset, seed: u64) -> Result<DatasetResults> {
    plot::save(
        &ClassDistribution::of(data),
        &paths::figure(DISTRIBUTION_FIGURE),
    )?;
    plot::save(&SampleGrid::of(data, seed), &paths::figure(SAMPLES_FIGURE))?;
    let res = results(data, seed);
    save_results(&res)?;
    Ok(res)
}

/// The text `charlab summary` prints: source, hash, image count and size, classes, the time
/// the data took to load, and one line per class (character, images, share).
pub(crate) fn summary(data: &Dataset, load_seconds: f64) -> String {
    let counts = data.class_counts();
    let mut s = format!(
        "data:     {}\nhash:     {}\nimages:   {}\nsize:     {}x{}\nclasses:  {} ({} with \
         images)\nloaded in {load_seconds:.3} s\n\nclass  char  images   share\n",
        data.source(),
        data.content_hash(),
        data.len(),
        data.height(),
        data.width(),
        data.n_classes(),
        counts.iter().filter(|&&c| c > 0).count()
    );
    for (c, &n) in counts.iter().enumerate() {
        s.push_str(&format!(
            "{c:>5}  {:>4}  {n:>6}  {:>5.2}%\n",
            data.class_chars()[c],
            100.0 * n as f64 / data.len().max(1) as f64
        ));
    }
    s
}
