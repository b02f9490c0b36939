//! The embedded default data set: handwriting-like 56x56 binary glyphs for the report's 36
//! classes, generated in-process from a seed (no file, no download).
//!
//! Each character has one or more pen-stroke skeletons (upper and lower case for letters, the
//! common ways of writing `1`, `4`, `7`...), drawn in a unit box. Every image then gets:
//! - per-stroke shifts and end-point drift (strokes that miss or overshoot their joins);
//! - a smooth random warp (sinusoidal displacement field), the hand's wobble;
//! - a random affine map: rotation, slant (shear) and aspect ratio;
//! - a random pen width, varying a little from stroke to stroke;
//! - the stand-in's framing: cropped to the ink, scaled so the longer side is 52 px, centred
//!   in 56x56, binary.
//!
//! Because letters merge case and some shapes are drawn alike (`O`/`o`/`0`, `I`/`l`/`1`,
//! `Z`/`2`, `S`/`5`), the set has the report's confusions built in and no model reaches 100%.
//! Class sizes follow the report's histogram ([`class_counts`]), including the single-image
//! class 30. Image `i` depends only on `(seed, i)`, so generation is parallel and repeatable.

mod render;
mod skeletons;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use self::render::render_glyph;
use super::{Dataset, Source, IMAGE_SIDE, REPORT_CLASSES, REPORT_COUNTS};
use crate::{Error, Result};

/// Seed of the embedded default data set.
pub const DEFAULT_SEED: u64 = 0;

/// Parameters of the generator.
///
/// Defaults: `distortion = 1.0`, pen width 2.5 to 8.5 px. `n` must be at least 36 (one image
/// per class).
#[derive(Clone, Debug, PartialEq)]
pub struct SynthParams {
    n: usize,
    seed: u64,
    distortion: f32,
    pen_width: (f32, f32),
}

impl SynthParams {
    /// `n` images (30,134 gives the report's exact histogram) from `seed`.
    pub fn new(n: usize, seed: u64) -> Result<Self> {
        if n < REPORT_CLASSES.len() {
            return Err(Error::param(
                "n",
                format!(
                    "{n} images is fewer than the {} classes; ask for at least {}",
                    REPORT_CLASSES.len(),
                    REPORT_CLASSES.len()
                ),
            ));
        }
        Ok(SynthParams {
            n,
            seed,
            distortion: 1.0,
            pen_width: (2.5, 8.5),
        })
    }

    /// Scales every random deformation (0 = clean skeletons, 1 = default, at most 3).
    pub fn distortion(mut self, d: f32) -> Result<Self> {
        if !(0.0..=3.0).contains(&d) {
            return Err(Error::param("distortion", format!("{d} is outside 0..=3")));
        }
        self.distortion = d;
        Ok(self)
    }

    /// Pen width range in output pixels (`1 <= min <= max <= 12`).
    pub fn pen_width(mut self, min: f32, max: f32) -> Result<Self> {
        if !(1.0..=12.0).contains(&min) || !(min..=12.0).contains(&max) {
            return Err(Error::param(
                "pen_width",
                format!("({min}, {max}) must satisfy 1 <= min <= max <= 12"),
            ));
        }
        self.pen_width = (min, max);
        Ok(self)
    }

    /// Number of images.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }
}

/// Images per class for a data set of `n` images: the report's histogram scaled to `n`
/// (largest remainders), with at least one image per class. `class_counts(30134)` is the
/// report's histogram exactly.
pub fn class_counts(n: usize) -> Vec<usize> {
    let total: usize = REPORT_COUNTS.iter().sum();
    let k = REPORT_COUNTS.len();
    let n = n.max(k);
    // One image per class first, the rest shared in proportion to the report's counts.
    let rest = n - k;
    let weights: Vec<f64> = REPORT_COUNTS.iter().map(|&c| (c - 1) as f64).collect();
    let wsum: f64 = (total - k) as f64;
    let exact: Vec<f64> = weights.iter().map(|w| w * rest as f64 / wsum).collect();
    let mut counts: Vec<usize> = exact.iter().map(|e| e.floor() as usize).collect();
    let mut left = rest - counts.iter().sum::<usize>();
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&a, &b| {
        let fa = exact[a] - exact[a].floor();
        let fb = exact[b] - exact[b].floor();
        fb.total_cmp(&fa).then(a.cmp(&b))
    });
    for &c in order.iter().cycle() {
        if left == 0 {
            break;
        }
        counts[c] += 1;
        left -= 1;
    }
    counts.iter().map(|c| c + 1).collect()
}

/// Generates the data set (see the module documentation).
pub fn generate(params: &SynthParams) -> Result<Dataset> {
    let counts = class_counts(params.n);
    let mut labels: Vec<usize> = counts
        .iter()
        .enumerate()
        .flat_map(|(c, &k)| std::iter::repeat_n(c, k))
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
    labels.shuffle(&mut rng);
    let p = IMAGE_SIDE * IMAGE_SIDE;
    let mut images = vec![0u8; labels.len() * p];
    images
        .par_chunks_mut(p)
        .zip(labels.par_iter())
        .enumerate()
        .for_each(|(i, (out, &label))| {
            let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
            rng.set_stream(i as u64 + 1);
            render_glyph(REPORT_CLASSES[label], params, &mut rng, out);
        });
    Dataset::report_format(
        images,
        labels,
        Source::Synthetic {
            n: params.n,
            seed: params.seed,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_match_report_at_full_size() {
        assert_eq!(class_counts(30134), REPORT_COUNTS.to_vec());
        let small = class_counts(500);
        assert_eq!(small.iter().sum::<usize>(), 500);
        assert!(small.iter().all(|&c| c >= 1));
        assert_eq!(small[30], 1);
    }
}
