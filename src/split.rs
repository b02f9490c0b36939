//! Splits and preprocessing: the report's seeded random split, a stratified split, stratified
//! k-fold, and global mean/std normalisation fitted on the training part only.
//!
//! # Policy for tiny classes
//! The report's data has a class with a single image (class 30).
//! - [`random_split`] ignores classes, exactly as the report did: a one-image class lands
//!   in whichever part the shuffle puts it.
//! - [`stratified_split`] keeps at least one image of every class in *train* (a class the model
//!   never sees cannot be learnt); test and validation then receive their proportional share
//!   of what is left, so a one-image class is train-only and a two-image class is split
//!   train/test before validation gets any. The part sizes are still exactly the requested ones.
//! - [`stratified_kfold`] deals each class's images round-robin over the folds (continuing
//!   where the previous class stopped, so fold sizes differ by at most one). A class with fewer
//!   images than folds appears in the test part of only that many folds; nothing fails.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::data::{Dataset, REPORT_COUNTS};
use crate::{Error, Result};

/// Sizes of the report's split: train, validation, test (of 30,134 images).
pub const REPORT_SPLIT: (usize, usize, usize) = (22_634, 2_500, 5_000);

/// Indices of the three parts of a split.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Split {
    /// Training images.
    pub train: Vec<usize>,
    /// Validation images (model selection, early stopping).
    pub validation: Vec<usize>,
    /// Test images (reported metrics only).
    pub test: Vec<usize>,
}

impl Split {
    /// `(train, validation, test)` sizes.
    pub fn sizes(&self) -> (usize, usize, usize) {
        (self.train.len(), self.validation.len(), self.test.len())
    }

    /// Train and validation merged, as the report's classical baselines used them.
    pub fn train_and_validation(&self) -> Vec<usize> {
        let mut v = self.train.clone();
        v.extend_from_slice(&self.validation);
        v
    }

    /// Validation and test merged: the images a model must not be fitted on (section 6.1
    /// drops the pretraining images identical to one of them, [`crate::data::dedupe`]).
    pub fn validation_and_test(&self) -> Vec<usize> {
        let mut v = self.validation.clone();
        v.extend_from_slice(&self.test);
        v
    }
}

/// Validation and test sizes for `n` images: the report's 2,500 and 5,000 of 30,134 scaled to
/// `n` (rounded); train takes the rest. `report_sizes(30134)` is `(22634, 2500, 5000)`.
pub fn report_sizes(n: usize) -> (usize, usize, usize) {
    let total: usize = REPORT_COUNTS.iter().sum();
    let val = ((n * REPORT_SPLIT.1) as f64 / total as f64).round() as usize;
    let test = ((n * REPORT_SPLIT.2) as f64 / total as f64).round() as usize;
    (n - val - test, val, test)
}

fn check_sizes(n: usize, val: usize, test: usize) -> Result<()> {
    if val + test >= n {
        return Err(Error::param(
            "split sizes",
            format!("validation {val} + test {test} leaves no training image out of {n}"),
        ));
    }
    Ok(())
}

/// The report's split: a seeded shuffle of all `n` images cut into train / validation / test
/// of [`report_sizes`]`(n)`. Each part is sorted.
pub fn random_split(n: usize, seed: u64) -> Result<Split> {
    let (_, val, test) = report_sizes(n);
    random_split_sizes(n, val, test, seed)
}

/// A seeded random split with explicit validation and test sizes. Each part is sorted.
pub fn random_split_sizes(n: usize, val: usize, test: usize, seed: u64) -> Result<Split> {
    check_sizes(n, val, test)?;
    let mut idx: Vec<usize> = (0..n).collect();
    idx.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let mut test_part = idx[..test].to_vec();
    let mut val_part = idx[test..test + val].to_vec();
    let mut train = idx[test + val..].to_vec();
    train.sort_unstable();
    val_part.sort_unstable();
    test_part.sort_unstable();
    Ok(Split {
        train,
        validation: val_part,
        test: test_part,
    })
}

/// Shares `total` among classes in proportion to `weights` (largest remainders), never giving
/// a class more than `caps[c]`.
fn apportion(weights: &[usize], caps: &[usize], total: usize) -> Vec<usize> {
    let wsum: usize = weights.iter().sum();
    let mut out = vec![0usize; weights.len()];
    if wsum == 0 || total == 0 {
        return out;
    }
    let exact: Vec<f64> = weights
        .iter()
        .map(|&w| w as f64 * total as f64 / wsum as f64)
        .collect();
    for (c, e) in exact.iter().enumerate() {
        out[c] = (e.floor() as usize).min(caps[c]);
    }
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| {
        let fa = exact[a] - exact[a].floor();
        let fb = exact[b] - exact[b].floor();
        fb.total_cmp(&fa).then(a.cmp(&b))
    });
    let mut left = total.saturating_sub(out.iter().sum());
    // Hand out the remainder in order of largest fractional part, skipping full classes.
    while left > 0 {
        let mut gave = false;
        for &c in &order {
            if left == 0 {
                break;
            }
            if out[c] < caps[c] {
                out[c] += 1;
                left -= 1;
                gave = true;
            }
        }
        if !gave {
            break;
        }
    }
    out
}

/// A stratified split with the report's sizes ([`report_sizes`]): every class is shared among
/// the parts in proportion to its size (see the module's policy for tiny classes).
pub fn stratified_split(labels: &[usize], seed: u64) -> Result<Split> {
    let (_, val, test) = report_sizes(labels.len());
    stratified_split_sizes(labels, val, test, seed)
}

/// A stratified split with explicit validation and test sizes. Each part is sorted.
pub fn stratified_split_sizes(
    labels: &[usize],
    val: usize,
    test: usize,
    seed: u64,
) -> Result<Split> {
    let n = labels.len();
    check_sizes(n, val, test)?;
    let n_classes = labels.iter().max().map_or(0, |m| m + 1);
    let mut by_class = vec![Vec::new(); n_classes];
    for (i, &l) in labels.iter().enumerate() {
        by_class[l].push(i);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for members in by_class.iter_mut() {
        members.shuffle(&mut rng);
    }
    let sizes: Vec<usize> = by_class.iter().map(Vec::len).collect();
    // Keep one image per class for train; test first, then validation, from the rest.
    let caps: Vec<usize> = sizes.iter().map(|&s| s.saturating_sub(1)).collect();
    let test_counts = apportion(&sizes, &caps, test);
    let caps2: Vec<usize> = caps.iter().zip(&test_counts).map(|(c, t)| c - t).collect();
    let val_counts = apportion(&sizes, &caps2, val);
    if test_counts.iter().sum::<usize>() != test || val_counts.iter().sum::<usize>() != val {
        return Err(Error::param(
            "split sizes",
            format!(
                "cannot take {val} validation and {test} test images while keeping one image \
                 of each of {n_classes} classes for training ({n} images)"
            ),
        ));
    }
    let mut split = Split {
        train: Vec::new(),
        validation: Vec::new(),
        test: Vec::new(),
    };
    for (c, members) in by_class.iter().enumerate() {
        let (t, v) = (test_counts[c], val_counts[c]);
        split.test.extend_from_slice(&members[..t]);
        split.validation.extend_from_slice(&members[t..t + v]);
        split.train.extend_from_slice(&members[t + v..]);
    }
    split.train.sort_unstable();
    split.validation.sort_unstable();
    split.test.sort_unstable();
    Ok(split)
}

/// One fold of a k-fold cross-validation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fold {
    /// Images to fit on.
    pub train: Vec<usize>,
    /// Images to evaluate on (disjoint from `train`; the folds' test parts cover every image
    /// once).
    pub test: Vec<usize>,
}

/// Stratified k-fold over `labels` (`2 <= k <= labels.len()`), seeded. See the module's policy
/// for classes with fewer images than folds.
pub fn stratified_kfold(labels: &[usize], k: usize, seed: u64) -> Result<Vec<Fold>> {
    if k < 2 || k > labels.len() {
        return Err(Error::param(
            "k",
            format!(
                "{k} folds for {} images; need 2 <= k <= images",
                labels.len()
            ),
        ));
    }
    let n_classes = labels.iter().max().map_or(0, |m| m + 1);
    let mut by_class = vec![Vec::new(); n_classes];
    for (i, &l) in labels.iter().enumerate() {
        by_class[l].push(i);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut fold_of = vec![0usize; labels.len()];
    let mut next = 0usize;
    for members in by_class.iter_mut() {
        members.shuffle(&mut rng);
        for &i in members.iter() {
            fold_of[i] = next;
            next = (next + 1) % k;
        }
    }
    Ok((0..k)
        .map(|f| {
            let (test, train): (Vec<usize>, Vec<usize>) =
                (0..labels.len()).partition(|&i| fold_of[i] == f);
            Fold { train, test }
        })
        .collect())
}

/// Global mean/std normalisation of pixel values: `x' = (x - mean) / std`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Normalizer {
    /// Mean pixel value of the fitting images.
    pub mean: f32,
    /// Standard deviation (population) of the pixel values of the fitting images.
    pub std: f32,
}

impl Normalizer {
    /// Fits mean and std on the images at `indices` only (the training part: fitting on
    /// validation or test images would leak them into preprocessing).
    pub fn fit(data: &Dataset, indices: &[usize]) -> Result<Normalizer> {
        if indices.is_empty() {
            return Err(Error::param(
                "indices",
                "cannot fit a normaliser on no image",
            ));
        }
        let mut ones: u64 = 0;
        for &i in indices {
            ones += data.image(i).iter().map(|&p| p as u64).sum::<u64>();
        }
        let total = (indices.len() * data.pixels()) as f64;
        // Pixels are 0/1, so E[x^2] = E[x] and var = m - m^2.
        let mean = ones as f64 / total;
        let std = (mean - mean * mean).max(0.0).sqrt();
        if std == 0.0 {
            return Err(Error::param(
                "indices",
                "every pixel of the fitting images has the same value; std is 0",
            ));
        }
        Ok(Normalizer {
            mean: mean as f32,
            std: std as f32,
        })
    }

    /// Normalised values of a background pixel (0) and of an ink pixel (1).
    pub fn levels(&self) -> (f64, f64) {
        (
            f64::from(-self.mean / self.std),
            f64::from((1.0 - self.mean) / self.std),
        )
    }

    /// Normalised pixels of the images at `indices`, `[len, height, width]` row-major.
    pub fn apply(&self, data: &Dataset, indices: &[usize]) -> Vec<f32> {
        let lut = [-self.mean / self.std, (1.0 - self.mean) / self.std];
        let mut out = Vec::with_capacity(indices.len() * data.pixels());
        for &i in indices {
            out.extend(data.image(i).iter().map(|&p| lut[p as usize]));
        }
        out
    }

    /// The images at `indices` as a normalised float tensor `[len, 1, height, width]` on
    /// `device`, with their labels as an int64 tensor `[len]`.
    pub fn tensors(
        &self,
        data: &Dataset,
        indices: &[usize],
        device: tch::Device,
    ) -> Result<(tch::Tensor, tch::Tensor)> {
        let x = tch::Tensor::from_slice(&self.apply(data, indices)).view([
            indices.len() as i64,
            1,
            data.height() as i64,
            data.width() as i64,
        ]);
        let labels: Vec<i64> = indices.iter().map(|&i| data.labels()[i] as i64).collect();
        let y = tch::Tensor::from_slice(&labels);
        Ok((x.to_device(device), y.to_device(device)))
    }
}

/// A class with fewer pool images than folds, and the folds that hold its images out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TinyClass {
    /// Class index.
    pub class: usize,
    /// Its character.
    pub character: char,
    /// Its images in the pool.
    pub images: usize,
    /// Folds (from 0) whose held-out part has one of its images.
    pub held_out_in: Vec<usize>,
    /// Its images in the test part.
    pub test_images: usize,
}

/// Cross-validation folds of a data set: the pool (the training and validation parts of the
/// report's random split), its stratified folds (as image indices) and the test part, which
/// no fold touches.
pub struct PoolFolds {
    /// Pool image indices.
    pub pool: Vec<usize>,
    /// Folds of the pool, as image indices.
    pub folds: Vec<Fold>,
    /// Test image indices.
    pub test: Vec<usize>,
}

impl PoolFolds {
    /// Stratified `k` folds (seed `seed`) of the pool of `data`'s split (seed `split_seed`).
    pub fn new(data: &Dataset, split_seed: u64, k: usize, seed: u64) -> Result<PoolFolds> {
        let split = random_split(data.len(), split_seed)?;
        let pool = split.train_and_validation();
        let labels: Vec<usize> = pool.iter().map(|&i| data.labels()[i]).collect();
        let folds = stratified_kfold(&labels, k, seed)?
            .into_iter()
            .map(|f| Fold {
                train: f.train.iter().map(|&p| pool[p]).collect(),
                test: f.test.iter().map(|&p| pool[p]).collect(),
            })
            .collect();
        Ok(PoolFolds {
            pool,
            folds,
            test: split.test,
        })
    }

    /// The classes with fewer pool images than folds, and where they go.
    pub fn tiny_classes(&self, data: &Dataset) -> Vec<TinyClass> {
        let mut out = Vec::new();
        for c in 0..data.n_classes() {
            let images = self.pool.iter().filter(|&&i| data.labels()[i] == c).count();
            if images >= self.folds.len() {
                continue;
            }
            out.push(TinyClass {
                class: c,
                character: data.class_chars().get(c).copied().unwrap_or('?'),
                images,
                held_out_in: (0..self.folds.len())
                    .filter(|&f| self.folds[f].test.iter().any(|&i| data.labels()[i] == c))
                    .collect(),
                test_images: self.test.iter().filter(|&&i| data.labels()[i] == c).count(),
            });
        }
        out
    }
}

/// Sizes and per-class counts of one split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SplitSummary {
    /// `random` (the report's) or `stratified`.
    pub kind: String,
    /// Train, validation, test sizes.
    pub sizes: (usize, usize, usize),
    /// Per class: (train, validation, test) counts.
    pub per_class: Vec<(usize, usize, usize)>,
    /// Classes absent from each part (train, validation, test).
    pub missing: (Vec<usize>, Vec<usize>, Vec<usize>),
}

impl SplitSummary {
    /// Summarises `split` of `data`.
    pub fn of(kind: &str, data: &Dataset, split: &Split) -> Self {
        let k = data.n_classes();
        let mut per_class = vec![(0, 0, 0); k];
        for &i in &split.train {
            per_class[data.labels()[i]].0 += 1;
        }
        for &i in &split.validation {
            per_class[data.labels()[i]].1 += 1;
        }
        for &i in &split.test {
            per_class[data.labels()[i]].2 += 1;
        }
        let present: Vec<bool> = data.class_counts().iter().map(|&n| n > 0).collect();
        let missing = |f: fn(&(usize, usize, usize)) -> usize| -> Vec<usize> {
            (0..k)
                .filter(|&c| present[c] && f(&per_class[c]) == 0)
                .collect()
        };
        SplitSummary {
            kind: kind.into(),
            sizes: split.sizes(),
            missing: (missing(|t| t.0), missing(|t| t.1), missing(|t| t.2)),
            per_class,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apportion_respects_caps_and_total() {
        let out = apportion(&[1, 10, 100], &[0, 9, 99], 30);
        assert_eq!(out.iter().sum::<usize>(), 30);
        assert_eq!(out[0], 0);
    }
}
