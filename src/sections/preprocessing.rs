//! Section 3 of the report, "Preprocessing": the train / validation / test split, class counts
//! per part (and where the one-image class lands), the stratified alternatives, and the
//! normalisation statistics fitted on the training part.
//!
//! Output: `report/results/03-preprocessing.json`.

use serde::{Deserialize, Serialize};

use crate::data::Dataset;
use crate::split::{self, Normalizer, Split, SplitSummary};
use crate::{paths, Result};

/// Name of this section in file names ([`crate::paths::section`]).
pub(crate) const SECTION: &str = crate::paths::section::PREPROCESSING;

/// Folds used to show the stratified k-fold.
pub(crate) const KFOLD: usize = 5;

/// `report/results/03-preprocessing.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PreprocessingResults {
    /// Section name.
    pub section: String,
    /// [`Dataset::content_hash`] of the data split.
    pub data_hash: String,
    /// Seed of every split.
    pub seed: u64,
    /// The report's random split.
    pub random: SplitSummary,
    /// The stratified split with the same sizes.
    pub stratified: SplitSummary,
    /// Test-part sizes of the stratified k-fold.
    pub kfold_test_sizes: Vec<usize>,
    /// Normalisation fitted on the random split's training part.
    pub normalizer: Normalizer,
    /// Mean and std of the validation part after normalisation (close to 0 and 1 when the
    /// parts are alike).
    pub validation_after: (f64, f64),
    /// Classes with fewer than three images, where each part of the random split sees them.
    pub tiny_classes: Vec<TinyClass>,
}

/// Where the images of a class with fewer than three images went.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TinyClass {
    /// Class index.
    pub class: usize,
    /// Class character.
    pub character: char,
    /// Images in the whole set.
    pub images: usize,
    /// Part of the random split holding each image (`train`, `validation`, `test`).
    pub random_split_parts: Vec<String>,
    /// Same for the stratified split.
    pub stratified_split_parts: Vec<String>,
}

fn part_of(split: &Split, i: usize) -> String {
    if split.train.binary_search(&i).is_ok() {
        "train".into()
    } else if split.validation.binary_search(&i).is_ok() {
        "validation".into()
    } else {
        "test".into()
    }
}

/// Computes section 3 (no file written).
pub fn results(data: &Dataset, seed: u64) -> Result<PreprocessingResults> {
    let random = split::random_split(data.len(), seed)?;
    let strat = split::stratified_split(data.labels(), seed)?;
    let folds = split::stratified_kfold(data.labels(), KFOLD.min(data.len()), seed)?;
    let norm = Normalizer::fit(data, &random.train)?;
    let val = norm.apply(data, &random.validation);
    let n = val.len().max(1) as f64;
    let mean = val.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = val.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
    let tiny_classes = data
        .indices_by_class()
        .iter()
        .enumerate()
        .filter(|(_, m)| !m.is_empty() && m.len() < 3)
        .map(|(c, m)| TinyClass {
            class: c,
            character: data.class_chars()[c],
            images: m.len(),
            random_split_parts: m.iter().map(|&i| part_of(&random, i)).collect(),
            stratified_split_parts: m.iter().map(|&i| part_of(&strat, i)).collect(),
        })
        .collect();
    Ok(PreprocessingResults {
        section: SECTION.into(),
        data_hash: data.content_hash(),
        seed,
        random: SplitSummary::of("random", data, &random),
        stratified: SplitSummary::of("stratified", data, &strat),
        kfold_test_sizes: folds.iter().map(|f| f.test.len()).collect(),
        normalizer: norm,
        validation_after: (mean, var.sqrt()),
        tiny_classes,
    })
}

/// Writes `report/results/03-preprocessing.json`.
fn save_results(res: &PreprocessingResults) -> Result<()> {
    paths::write_json(&paths::result(SECTION), res)
}

/// Runs section 3 and writes its results file.
pub(crate) fn run(data: &Dataset, seed: u64) -> Result<PreprocessingResults> {
    let res = results(data, seed)?;
    save_results(&res)?;
    Ok(res)
}

/// The text `charlab preprocess` prints: the splits' sizes, the k-fold's test sizes, the
/// normalisation statistics, where the tiny classes land, and the results file written.
pub(crate) fn summary(res: &PreprocessingResults) -> String {
    let (tr, va, te) = res.random.sizes;
    let mut s = format!(
        "random split (seed {}): train {tr}, validation {va}, test {te}\n",
        res.seed
    );
    let (tr, va, te) = res.stratified.sizes;
    s.push_str(&format!(
        "stratified split:        train {tr}, validation {va}, test {te}\n"
    ));
    s.push_str(&format!(
        "stratified {}-fold test sizes: {:?}\n",
        res.kfold_test_sizes.len(),
        res.kfold_test_sizes
    ));
    s.push_str(&format!(
        "normalisation (train only): mean {:.4}, std {:.4}\n",
        res.normalizer.mean, res.normalizer.std
    ));
    for t in &res.tiny_classes {
        s.push_str(&format!(
            "class {} ('{}', {} image(s)): random split -> {:?}, stratified -> {:?}\n",
            t.class, t.character, t.images, t.random_split_parts, t.stratified_split_parts
        ));
    }
    s.push_str(&format!("wrote report/results/{SECTION}.json\n"));
    s
}

/// The report's random split of `data` with `seed` as JSON (`charlab split`, for tools outside
/// charlab): the data's source and hash, the seed, and the train / validation / test indices.
pub(crate) fn split_json(data: &Dataset, seed: u64) -> Result<(serde_json::Value, Split)> {
    let split = split::random_split(data.len(), seed)?;
    let value = serde_json::json!({
        "data": data.source().to_string(),
        "data_hash": data.content_hash(),
        "seed": seed,
        "train": split.train,
        "validation": split.validation,
        "test": split.test,
    });
    Ok((value, split))
}
