//! RBF support vector machine on raw pixels (the report's second baseline), one-vs-one over
//! the class pairs as libsvm (and so scikit-learn's `SVC`) does, pairs fitted in parallel.
//!
//! # Two solvers for the binary problems ([`SvmSolver`])
//! - [`SvmSolver::Linfa`]: `linfa-svm` (the user's choice of library). It is binary only, builds
//!   the dense `n x n` kernel of each pair with a scalar loop over the 3,136 features, has no
//!   iteration cap, and its `shrinking(true)` indexes out of bounds (`solver_smo.rs:601`: the
//!   loop over the active set keeps its old bound while the set shrinks), so shrinking stays off.
//!   It accepts no precomputed kernel (its `fit_c` is private).
//! - [`SvmSolver::Popcount`] (default): the images are binary, so `||x - y||^2` is the number of
//!   differing pixels: the popcount of the XOR of the two images packed 64 pixels to a word (49
//!   words for 56x56). Distances are computed once per block of classes (each class against
//!   itself once, each pair of classes once), the kernel `exp(-gamma d)` read from a table of
//!   the 3,137 possible distances, and each pair solved by libsvm's SMO (second-order working
//!   set selection, Fan, Chen and Lin 2005; no shrinking) on the pair's dense kernel. Same
//!   problem, same stopping rule (`tol`) and the same iteration cap semantics as libsvm.
//!
//! Both give the pair's dual coefficients `alpha_i y_i` and `rho`; prediction is shared: the
//! distances of each test image to the support vectors (popcount again), the decision values
//! `sum alpha_i y_i K(x_i, x) - rho` of the 630 pairs, and libsvm's vote (a positive value votes
//! for the pair's first class; ties go to the lower class index).

mod linfa;
mod popcount;
mod smo;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use ndarray::{Array1, Array2};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use self::popcount::{
    check_binary, distance_block, gather, hamming, kernel_table, pack, pair_kernel,
};
use self::smo::smo;
use super::check_positive;
use crate::{Error, Result};

/// The RBF kernel's `gamma`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Gamma {
    /// scikit-learn's `"scale"`: `1 / (n_features * variance of all training pixels)`.
    Scale,
    /// A given value (> 0).
    Value(f64),
}

/// Solver of the binary sub-problems.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SvmSolver {
    /// Bit-packed popcount kernel and libsvm's SMO (binary images only).
    Popcount,
    /// `linfa-svm` on `f64` pixels.
    Linfa,
}

/// Hyper-parameters of [`Svm`], checked by [`SvmParams::check`].
///
/// Defaults (scikit-learn's `SVC`): `c` 1.0, `gamma` [`Gamma::Scale`], `tol` 1e-3, no
/// iteration cap (`max_iter` `None`: libsvm's `max(10^7, 100 n)`), [`SvmSolver::Popcount`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SvmParams {
    /// Penalty `C` (> 0).
    pub c: f64,
    /// Kernel width.
    pub gamma: Gamma,
    /// Stopping tolerance on the maximal KKT violation (> 0).
    pub tol: f64,
    /// Iteration cap of each binary problem (>= 1; scikit-learn's `max_iter`), or `None`.
    pub max_iter: Option<usize>,
    /// Binary solver.
    pub solver: SvmSolver,
    /// With [`SvmSolver::Linfa`]: a folder where each finished class pair is saved, so that an
    /// interrupted fit (hours on the full data) resumes with the pairs it has not done. The
    /// caller picks a folder per data set, split and parameters. Not part of the
    /// configuration (not serialised).
    #[serde(skip)]
    pub pair_cache: Option<std::path::PathBuf>,
}

impl Default for SvmParams {
    fn default() -> Self {
        SvmParams {
            c: 1.0,
            gamma: Gamma::Scale,
            tol: 1e-3,
            max_iter: None,
            solver: SvmSolver::Popcount,
            pair_cache: None,
        }
    }
}

/// One binary problem of the one-vs-one scheme.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PairModel {
    /// First class (positive side).
    pub a: usize,
    /// Second class.
    pub b: usize,
    /// Support vectors: rows of [`Svm`]'s support-vector store.
    pub sv: Vec<u32>,
    /// `alpha_i y_i` of each support vector.
    pub coef: Vec<f32>,
    /// Offset: the decision value is `sum coef_i K(sv_i, x) - rho`.
    pub rho: f64,
    /// SMO iterations (0 when the solver does not say).
    pub iterations: usize,
    /// Whether the stopping rule was met within the cap.
    pub converged: bool,
    /// Fit time of this pair, seconds.
    pub seconds: f64,
}

/// A fitted one-vs-one RBF SVM on binary images.
#[derive(Clone, Debug)]
pub struct Svm {
    /// Pixels per image.
    n_features: usize,
    /// `exp(-gamma d)` for d = 0..=n_features.
    table: Vec<f32>,
    /// The gamma used.
    pub gamma: f64,
    /// Packed support vectors, `words` u64 per row.
    sv_bits: Vec<u64>,
    /// The binary problems, `(a, b)` with `a < b` in class order.
    pub pairs: Vec<PairModel>,
    /// Classes present in training, ascending.
    pub classes: Vec<usize>,
}

/// Summary of a fit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SvmReport {
    /// Binary problems solved.
    pub pairs: usize,
    /// Pairs that met the stopping rule.
    pub converged_pairs: usize,
    /// Distinct support vectors.
    pub support_vectors: usize,
    /// Largest iteration count of a pair.
    pub max_iterations: usize,
    /// Sum of SMO iterations over the pairs.
    pub total_iterations: usize,
    /// The gamma used.
    pub gamma: f64,
    /// Sum of the pairs' solve times, seconds (one thread's work; with
    /// [`SvmParams::pair_cache`], pairs solved in an earlier run count their original time).
    #[serde(default)]
    pub pair_seconds: f64,
}

impl SvmParams {
    /// Checks every value.
    pub fn check(&self) -> Result<()> {
        check_positive("C", self.c, "a positive number")?;
        if let Gamma::Value(g) = self.gamma {
            check_positive("gamma", g, "a positive number")?;
        }
        check_positive("tol", self.tol, "positive")?;
        if self.max_iter == Some(0) {
            return Err(Error::param(
                "max_iter",
                "at least one iteration (or none for no cap)",
            ));
        }
        if self.solver == SvmSolver::Linfa && self.max_iter.is_some() {
            return Err(Error::param(
                "max_iter",
                "linfa-svm has no iteration cap; use the popcount solver for max_iter",
            ));
        }
        Ok(())
    }

    /// [`SvmParams::fit`] with progress: a bar labelled `name` over the class pairs on a
    /// terminal (nothing otherwise).
    pub fn fit_with_progress(
        &self,
        images: &[u8],
        n_features: usize,
        y: &[usize],
        name: &str,
    ) -> Result<Svm> {
        let mut classes = y.to_vec();
        classes.sort_unstable();
        classes.dedup();
        let n = classes.len();
        let bar = crate::progress::Progress::new((n * n.saturating_sub(1) / 2) as u64, name);
        let model = self.fit(images, n_features, y, &|done, _| {
            bar.set_position(done as u64);
        });
        bar.finish();
        model
    }

    /// Fits on `images` (`n` rows of `n_features` pixels, each 0 or 1) with labels `y`; the
    /// pairs run in parallel on the current rayon pool, and `progress` is called once per
    /// finished pair with the number finished so far and the total.
    pub fn fit(
        &self,
        images: &[u8],
        n_features: usize,
        y: &[usize],
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<Svm> {
        self.fit_pairs(images, n_features, y, None, progress)
    }

    /// Like [`SvmParams::fit`], but fits only the binary problems of the class pairs `only`
    /// (class labels, `(a, b)` with `a < b`) when given: for timing solvers pair by pair. The
    /// model then votes among those pairs only.
    pub fn fit_pairs(
        &self,
        images: &[u8],
        n_features: usize,
        y: &[usize],
        only: Option<&[(usize, usize)]>,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<Svm> {
        self.check()?;
        check_images(images, n_features, y.len())?;
        let gamma = self.resolve_gamma(images, n_features);
        let data = Training::new(images, n_features, y)?;
        let pair_list = data.pair_list(only)?;
        let table = kernel_table(n_features, gamma);
        let diag = match self.solver {
            SvmSolver::Popcount => data.within_class_distances(&pair_list),
            SvmSolver::Linfa => Vec::new(),
        };
        let done = AtomicUsize::new(0);
        let fitted: Vec<Result<(PairModel, Vec<usize>)>> = pair_list
            .par_iter()
            .map(|&(a, b)| {
                let start = Instant::now();
                let (solution, earlier) = match self.solver {
                    SvmSolver::Popcount => (self.solve_popcount(&data, &diag, &table, a, b), None),
                    SvmSolver::Linfa => self.solve_linfa(&data, gamma, a, b, start)?,
                };
                let (sv_global, coef) = data.support_vectors(&solution.coef, a, b);
                let finished = done.fetch_add(1, Ordering::Relaxed) + 1;
                progress(finished, pair_list.len());
                Ok((
                    PairModel {
                        a: data.classes[a],
                        b: data.classes[b],
                        sv: Vec::new(),
                        coef,
                        rho: solution.rho,
                        iterations: solution.iterations,
                        converged: solution.converged,
                        seconds: earlier.unwrap_or_else(|| start.elapsed().as_secs_f64()),
                    },
                    sv_global,
                ))
            })
            .collect();
        let (sv_bits, pairs) = data.share_support_vectors(fitted)?;
        Ok(Svm {
            n_features,
            table,
            gamma,
            sv_bits,
            pairs,
            classes: data.classes,
        })
    }

    /// The kernel's `gamma` for `images`: the given value, or scikit-learn's `"scale"`.
    fn resolve_gamma(&self, images: &[u8], n_features: usize) -> f64 {
        match self.gamma {
            Gamma::Value(g) => g,
            Gamma::Scale => {
                let ones = images.iter().filter(|&&v| v == 1).count() as f64;
                let p = ones / images.len() as f64;
                let var = p - p * p;
                if var > 0.0 {
                    1.0 / (n_features as f64 * var)
                } else {
                    1.0
                }
            }
        }
    }

    /// [`SvmSolver::Popcount`]: the pair `(a, b)` (class indices) solved by SMO on its kernel,
    /// from the distances within each class (`diag`) and between the two.
    fn solve_popcount(
        &self,
        data: &Training,
        diag: &[Vec<u16>],
        table: &[f32],
        a: usize,
        b: usize,
    ) -> Solution {
        let (na, nb) = (data.members[a].len(), data.members[b].len());
        let cross = distance_block(&data.class_bits[a], &data.class_bits[b], data.words);
        let k = pair_kernel(&diag[a], &diag[b], &cross, na, nb, table);
        let y: Vec<f64> = (0..na + nb)
            .map(|i| if i < na { 1.0 } else { -1.0 })
            .collect();
        let cap = self
            .max_iter
            .unwrap_or_else(|| (100 * (na + nb)).max(10_000_000));
        smo(&k, &y, self.c, self.tol, cap)
    }
}

/// The images must be `n` whole rows of `n_features` 0/1 pixels, `n` >= 1.
fn check_images(images: &[u8], n_features: usize, n: usize) -> Result<()> {
    if n_features == 0 || images.len() != n * n_features || n == 0 {
        return Err(Error::param(
            "images",
            format!(
                "{} pixels for {n} labels of {n_features} features",
                images.len()
            ),
        ));
    }
    check_binary(images)
}

/// A binary problem solved: `alpha_i y_i` of every image of the pair (class `a`'s first, 0 for
/// the images that are not support vectors), the offset `rho`, the iterations (0 when the solver
/// does not say) and whether the stopping rule was met.
struct Solution {
    coef: Vec<f64>,
    rho: f64,
    iterations: usize,
    converged: bool,
}

/// The training images arranged for the one-vs-one problems.
struct Training<'a> {
    /// `n` rows of `n_features` 0/1 pixels.
    images: &'a [u8],
    n_features: usize,
    /// Number of images.
    n: usize,
    /// Classes present, ascending.
    classes: Vec<usize>,
    /// Rows of each class, in input order.
    members: Vec<Vec<usize>>,
    /// `u64` words per packed image.
    words: usize,
    /// Every image, packed.
    bits: Vec<u64>,
    /// The packed images of each class.
    class_bits: Vec<Vec<u64>>,
}

impl<'a> Training<'a> {
    /// Groups the images by label; at least two classes are needed.
    fn new(images: &'a [u8], n_features: usize, y: &[usize]) -> Result<Self> {
        let mut classes = y.to_vec();
        classes.sort_unstable();
        classes.dedup();
        if classes.len() < 2 {
            return Err(Error::param("y", "need at least two classes to fit"));
        }
        let members: Vec<Vec<usize>> = classes
            .iter()
            .map(|&c| (0..y.len()).filter(|&i| y[i] == c).collect())
            .collect();
        let words = n_features.div_ceil(64);
        let bits = pack(images, n_features);
        let class_bits = members.iter().map(|m| gather(&bits, words, m)).collect();
        Ok(Training {
            images,
            n_features,
            n: y.len(),
            classes,
            members,
            words,
            bits,
            class_bits,
        })
    }

    /// The pairs of class indices `(a, b)`, `a < b`, to solve (those of `only`, class labels,
    /// when given), largest first for load balance.
    fn pair_list(&self, only: Option<&[(usize, usize)]>) -> Result<Vec<(usize, usize)>> {
        let (classes, k) = (&self.classes, self.classes.len());
        let mut pair_list: Vec<(usize, usize)> = (0..k)
            .flat_map(|a| (a + 1..k).map(move |b| (a, b)))
            .filter(|&(a, b)| only.is_none_or(|o| o.contains(&(classes[a], classes[b]))))
            .collect();
        if pair_list.is_empty() {
            return Err(Error::param(
                "pairs",
                "none of the requested class pairs has images of both classes",
            ));
        }
        pair_list.sort_by_key(|&(a, b)| {
            std::cmp::Reverse(self.members[a].len() + self.members[b].len())
        });
        Ok(pair_list)
    }

    /// The distances within each class that some pair of `pair_list` needs (every class for a
    /// full fit; empty for the others), computed once for all the pairs.
    fn within_class_distances(&self, pair_list: &[(usize, usize)]) -> Vec<Vec<u16>> {
        let needed: Vec<bool> = (0..self.classes.len())
            .map(|c| pair_list.iter().any(|&(a, b)| a == c || b == c))
            .collect();
        self.class_bits
            .par_iter()
            .zip(&needed)
            .map(|(cb, &need)| {
                if need {
                    distance_block(cb, cb, self.words)
                } else {
                    Vec::new()
                }
            })
            .collect()
    }

    /// The support vectors of pair `(a, b)` from its coefficients over the pair's images (class
    /// `a`'s first): their rows in the training images and their coefficients.
    fn support_vectors(&self, coef_all: &[f64], a: usize, b: usize) -> (Vec<usize>, Vec<f32>) {
        let na = self.members[a].len();
        let mut sv_global = Vec::new();
        let mut coef = Vec::new();
        for (i, &cf) in coef_all.iter().enumerate() {
            if cf != 0.0 {
                let g = if i < na {
                    self.members[a][i]
                } else {
                    self.members[b][i - na]
                };
                sv_global.push(g);
                coef.push(cf as f32);
            }
        }
        (sv_global, coef)
    }

    /// Stores each distinct support vector of the fitted pairs once (packed, in the order the
    /// pairs first use them) and points the pairs at it; returns the store and the pairs in
    /// class order, or the first pair's error.
    fn share_support_vectors(
        &self,
        fitted: Vec<Result<(PairModel, Vec<usize>)>>,
    ) -> Result<(Vec<u64>, Vec<PairModel>)> {
        let words = self.words;
        let mut slot = vec![u32::MAX; self.n];
        let mut sv_bits = Vec::new();
        let mut next = 0u32;
        let mut pairs = Vec::with_capacity(fitted.len());
        for f in fitted {
            let (mut pm, globals) = f?;
            pm.sv = globals
                .iter()
                .map(|&g| {
                    if slot[g] == u32::MAX {
                        slot[g] = next;
                        next += 1;
                        sv_bits.extend_from_slice(&self.bits[g * words..(g + 1) * words]);
                    }
                    slot[g]
                })
                .collect();
            pairs.push(pm);
        }
        pairs.sort_by_key(|p| (p.a, p.b));
        Ok((sv_bits, pairs))
    }
}

impl Svm {
    /// What the fit did.
    pub fn report(&self) -> SvmReport {
        SvmReport {
            pairs: self.pairs.len(),
            converged_pairs: self.pairs.iter().filter(|p| p.converged).count(),
            support_vectors: self.sv_bits.len() / self.n_features.div_ceil(64).max(1),
            max_iterations: self.pairs.iter().map(|p| p.iterations).max().unwrap_or(0),
            total_iterations: self.pairs.iter().map(|p| p.iterations).sum(),
            gamma: self.gamma,
            pair_seconds: self.pairs.iter().map(|p| p.seconds).sum(),
        }
    }

    /// Decision values `[n, n_pairs]` of `images` (rows of 0/1 pixels), pairs in
    /// [`Svm::pairs`] order.
    pub fn decision_function(&self, images: &[u8]) -> Result<Array2<f32>> {
        let d = self.n_features;
        if !images.len().is_multiple_of(d) {
            return Err(Error::param(
                "images",
                format!(
                    "{} pixels is not a whole number of {d}-pixel images",
                    images.len()
                ),
            ));
        }
        check_binary(images)?;
        let n = images.len() / d;
        let words = d.div_ceil(64);
        let bits = pack(images, d);
        let n_sv = self.sv_bits.len() / words;
        let rows: Vec<Vec<f32>> = (0..n)
            .into_par_iter()
            .map(|i| {
                let x = &bits[i * words..(i + 1) * words];
                let k: Vec<f32> = (0..n_sv)
                    .map(|s| {
                        let dist = hamming(x, &self.sv_bits[s * words..(s + 1) * words]);
                        self.table[dist as usize]
                    })
                    .collect();
                self.pairs
                    .iter()
                    .map(|p| {
                        let sum: f64 =
                            p.sv.iter()
                                .zip(&p.coef)
                                .map(|(&s, &c)| c as f64 * k[s as usize] as f64)
                                .sum();
                        (sum - p.rho) as f32
                    })
                    .collect()
            })
            .collect();
        let mut out = Array2::zeros((n, self.pairs.len()));
        for (i, r) in rows.into_iter().enumerate() {
            out.row_mut(i).assign(&Array1::from(r));
        }
        Ok(out)
    }

    /// The class of every image by libsvm's one-vs-one vote.
    pub fn predict(&self, images: &[u8]) -> Result<Vec<usize>> {
        let dec = self.decision_function(images)?;
        let max_class = self.classes.iter().copied().max().unwrap_or(0);
        Ok(dec
            .outer_iter()
            .map(|row| {
                let mut votes = vec![0u32; max_class + 1];
                for (p, &v) in self.pairs.iter().zip(row.iter()) {
                    votes[if v > 0.0 { p.a } else { p.b }] += 1;
                }
                let mut best = self.classes[0];
                for &c in &self.classes {
                    if votes[c] > votes[best] {
                        best = c;
                    }
                }
                best
            })
            .collect())
    }
}
