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

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

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
    Dataset::new(
        images,
        labels,
        IMAGE_SIDE,
        IMAGE_SIDE,
        REPORT_CLASSES.to_vec(),
        Source::Synthetic {
            n: params.n,
            seed: params.seed,
        },
    )
}

type Pt = (f32, f32);
type Stroke = Vec<Pt>;

fn seg(pts: &[Pt]) -> Stroke {
    pts.to_vec()
}

/// Elliptic arc from angle `a0` to `a1` (degrees; 0 = right, 90 = down, so increasing angles
/// turn clockwise on screen).
fn arc(cx: f32, cy: f32, rx: f32, ry: f32, a0: f32, a1: f32) -> Stroke {
    let steps = (((a1 - a0).abs() / 12.0).ceil() as usize).max(4);
    (0..=steps)
        .map(|k| {
            let a = (a0 + (a1 - a0) * k as f32 / steps as f32).to_radians();
            (cx + rx * a.cos(), cy + ry * a.sin())
        })
        .collect()
}

/// Cubic Bézier curve.
fn bez(p0: Pt, p1: Pt, p2: Pt, p3: Pt) -> Stroke {
    (0..=10)
        .map(|k| {
            let t = k as f32 / 10.0;
            let u = 1.0 - t;
            let (a, b, c, d) = (u * u * u, 3.0 * u * u * t, 3.0 * u * t * t, t * t * t);
            (
                a * p0.0 + b * p1.0 + c * p2.0 + d * p3.0,
                a * p0.1 + b * p1.1 + c * p2.1 + d * p3.1,
            )
        })
        .collect()
}

/// One pen stroke made of several pieces drawn without lifting the pen.
fn join(parts: &[Stroke]) -> Stroke {
    parts.iter().flatten().copied().collect()
}

fn dot(x: f32, y: f32) -> Stroke {
    vec![(x, y), (x + 0.01, y + 0.02)]
}

/// The skeleton variants of a class character: upper case, lower case and common styles.
fn variants(ch: char) -> Vec<Vec<Stroke>> {
    let bowl = |cx: f32| arc(cx, 0.72, 0.3, 0.27, 0.0, 360.0);
    match ch {
        '0' => vec![
            vec![arc(0.5, 0.5, 0.34, 0.5, -90.0, 270.0)],
            vec![arc(0.5, 0.5, 0.31, 0.5, -70.0, 305.0)],
        ],
        '1' => vec![
            vec![seg(&[(0.5, 0.0), (0.5, 1.0)])],
            vec![seg(&[(0.22, 0.25), (0.55, 0.0), (0.55, 1.0)])],
            vec![
                seg(&[(0.25, 0.22), (0.55, 0.0), (0.55, 1.0)]),
                seg(&[(0.25, 1.0), (0.85, 1.0)]),
            ],
        ],
        '2' => vec![
            vec![join(&[
                arc(0.5, 0.28, 0.38, 0.28, 200.0, 390.0),
                seg(&[(0.08, 1.0), (0.92, 1.0)]),
            ])],
            vec![join(&[
                arc(0.5, 0.3, 0.4, 0.3, 180.0, 370.0),
                bez((0.88, 0.42), (0.7, 0.65), (0.3, 0.8), (0.1, 1.0)),
                seg(&[(0.95, 0.97)]),
            ])],
        ],
        '3' => vec![
            vec![join(&[
                arc(0.45, 0.26, 0.33, 0.26, 200.0, 450.0),
                arc(0.45, 0.74, 0.38, 0.26, 270.0, 520.0),
            ])],
            vec![join(&[
                seg(&[(0.12, 0.0), (0.85, 0.0), (0.4, 0.42)]),
                arc(0.45, 0.72, 0.4, 0.3, 250.0, 520.0),
            ])],
        ],
        '4' => vec![
            vec![seg(&[(0.7, 1.0), (0.7, 0.0), (0.05, 0.68), (0.95, 0.68)])],
            vec![
                seg(&[(0.2, 0.0), (0.12, 0.6), (0.92, 0.6)]),
                seg(&[(0.7, 0.15), (0.7, 1.0)]),
            ],
        ],
        '5' => vec![
            vec![join(&[
                seg(&[(0.85, 0.0), (0.25, 0.0), (0.2, 0.45)]),
                arc(0.5, 0.7, 0.36, 0.3, 215.0, 500.0),
            ])],
            vec![
                join(&[
                    seg(&[(0.22, 0.0), (0.18, 0.45)]),
                    arc(0.5, 0.7, 0.36, 0.3, 215.0, 500.0),
                ]),
                seg(&[(0.22, 0.0), (0.85, 0.02)]),
            ],
        ],
        '6' => vec![
            vec![join(&[
                bez((0.78, 0.02), (0.4, 0.05), (0.15, 0.4), (0.16, 0.72)),
                arc(0.47, 0.72, 0.31, 0.28, 180.0, 540.0),
            ])],
            vec![join(&[
                seg(&[(0.7, 0.0), (0.2, 0.6)]),
                arc(0.47, 0.72, 0.31, 0.28, 200.0, 560.0),
            ])],
        ],
        '7' => vec![
            vec![seg(&[(0.08, 0.0), (0.92, 0.0), (0.38, 1.0)])],
            vec![
                seg(&[(0.08, 0.0), (0.92, 0.0), (0.38, 1.0)]),
                seg(&[(0.35, 0.52), (0.85, 0.52)]),
            ],
            vec![seg(&[(0.08, 0.18), (0.1, 0.0), (0.92, 0.0), (0.45, 1.0)])],
        ],
        '8' => vec![
            vec![
                arc(0.5, 0.26, 0.28, 0.26, 0.0, 360.0),
                arc(0.5, 0.74, 0.34, 0.26, 0.0, 360.0),
            ],
            vec![
                arc(0.5, 0.26, 0.3, 0.26, 90.0, 450.0),
                arc(0.5, 0.74, 0.33, 0.26, -90.0, 270.0),
            ],
        ],
        '9' => vec![
            vec![
                arc(0.5, 0.3, 0.32, 0.3, 0.0, 360.0),
                seg(&[(0.82, 0.3), (0.78, 1.0)]),
            ],
            vec![join(&[
                arc(0.5, 0.3, 0.32, 0.3, 0.0, -360.0),
                bez((0.82, 0.3), (0.82, 0.7), (0.7, 0.95), (0.35, 1.0)),
            ])],
        ],
        'A' => vec![
            vec![
                seg(&[(0.05, 1.0), (0.5, 0.0), (0.95, 1.0)]),
                seg(&[(0.25, 0.6), (0.75, 0.6)]),
            ],
            vec![bowl(0.45), seg(&[(0.75, 0.45), (0.77, 1.0)])],
            vec![join(&[
                arc(0.45, 0.72, 0.3, 0.27, -30.0, -390.0),
                seg(&[(0.75, 0.5), (0.8, 1.0)]),
            ])],
        ],
        'B' => vec![
            vec![
                seg(&[(0.15, 0.0), (0.15, 1.0)]),
                join(&[
                    seg(&[(0.15, 0.0), (0.5, 0.0)]),
                    arc(0.5, 0.25, 0.3, 0.25, -90.0, 90.0),
                    seg(&[(0.5, 0.5), (0.55, 0.5)]),
                    arc(0.55, 0.75, 0.33, 0.25, -90.0, 90.0),
                    seg(&[(0.55, 1.0), (0.15, 1.0)]),
                ]),
            ],
            vec![seg(&[(0.15, 0.0), (0.15, 1.0)]), bowl(0.45)],
        ],
        'C' => vec![
            vec![arc(0.55, 0.5, 0.45, 0.5, -40.0, -320.0)],
            vec![arc(0.5, 0.72, 0.33, 0.28, -40.0, -320.0)],
        ],
        'D' => vec![
            vec![
                seg(&[(0.15, 0.0), (0.15, 1.0)]),
                join(&[
                    seg(&[(0.15, 0.0), (0.4, 0.0)]),
                    arc(0.4, 0.5, 0.48, 0.5, -90.0, 90.0),
                    seg(&[(0.4, 1.0), (0.15, 1.0)]),
                ]),
            ],
            vec![seg(&[(0.78, 0.0), (0.78, 1.0)]), bowl(0.47)],
        ],
        'E' => vec![
            vec![
                seg(&[(0.85, 0.0), (0.15, 0.0), (0.15, 1.0), (0.85, 1.0)]),
                seg(&[(0.15, 0.5), (0.7, 0.5)]),
            ],
            vec![join(&[
                seg(&[(0.18, 0.72), (0.8, 0.72)]),
                arc(0.49, 0.72, 0.31, 0.27, 0.0, -320.0),
            ])],
        ],
        'F' => vec![
            vec![
                seg(&[(0.85, 0.0), (0.15, 0.0), (0.15, 1.0)]),
                seg(&[(0.15, 0.5), (0.65, 0.5)]),
            ],
            vec![
                join(&[
                    bez((0.8, 0.05), (0.55, -0.05), (0.4, 0.05), (0.4, 0.35)),
                    seg(&[(0.4, 1.0)]),
                ]),
                seg(&[(0.15, 0.45), (0.7, 0.45)]),
            ],
        ],
        'G' => vec![
            vec![join(&[
                arc(0.55, 0.5, 0.45, 0.5, -40.0, -360.0),
                seg(&[(0.6, 0.5)]),
            ])],
            vec![
                arc(0.55, 0.5, 0.45, 0.5, -40.0, -360.0),
                seg(&[(0.62, 0.52), (1.0, 0.52), (1.0, 0.95)]),
            ],
            vec![
                arc(0.45, 0.7, 0.29, 0.25, 0.0, 360.0),
                join(&[
                    seg(&[(0.74, 0.45), (0.74, 1.2)]),
                    arc(0.45, 1.2, 0.29, 0.22, 0.0, 160.0),
                ]),
            ],
        ],
        'H' => vec![
            vec![
                seg(&[(0.1, 0.0), (0.1, 1.0)]),
                seg(&[(0.9, 0.0), (0.9, 1.0)]),
                seg(&[(0.1, 0.5), (0.9, 0.5)]),
            ],
            vec![
                seg(&[(0.15, 0.0), (0.15, 1.0)]),
                join(&[
                    arc(0.48, 0.72, 0.33, 0.25, 180.0, 360.0),
                    seg(&[(0.81, 1.0)]),
                ]),
            ],
        ],
        'I' => vec![
            vec![seg(&[(0.5, 0.0), (0.5, 1.0)])],
            vec![
                seg(&[(0.5, 0.0), (0.5, 1.0)]),
                seg(&[(0.2, 0.0), (0.8, 0.0)]),
                seg(&[(0.2, 1.0), (0.8, 1.0)]),
            ],
            vec![seg(&[(0.5, 0.45), (0.5, 1.0)]), dot(0.5, 0.2)],
        ],
        'J' => vec![
            vec![join(&[
                seg(&[(0.7, 0.0), (0.7, 0.7)]),
                arc(0.42, 0.7, 0.28, 0.3, 0.0, 170.0),
            ])],
            vec![
                join(&[
                    seg(&[(0.7, 0.0), (0.7, 0.7)]),
                    arc(0.42, 0.7, 0.28, 0.3, 0.0, 170.0),
                ]),
                seg(&[(0.35, 0.0), (1.0, 0.0)]),
            ],
            vec![
                join(&[
                    seg(&[(0.6, 0.45), (0.6, 1.2)]),
                    arc(0.35, 1.2, 0.25, 0.22, 0.0, 170.0),
                ]),
                dot(0.6, 0.2),
            ],
        ],
        'K' => vec![
            vec![
                seg(&[(0.15, 0.0), (0.15, 1.0)]),
                seg(&[(0.85, 0.0), (0.15, 0.55), (0.85, 1.0)]),
            ],
            vec![
                seg(&[(0.15, 0.0), (0.15, 1.0)]),
                seg(&[(0.85, 0.0), (0.17, 0.5)]),
                seg(&[(0.4, 0.35), (0.88, 1.0)]),
            ],
            vec![
                seg(&[(0.15, 0.0), (0.15, 1.0)]),
                seg(&[(0.75, 0.45), (0.15, 0.75), (0.8, 1.0)]),
            ],
        ],
        'L' => vec![
            vec![seg(&[(0.15, 0.0), (0.15, 1.0), (0.85, 1.0)])],
            vec![seg(&[(0.5, 0.0), (0.5, 1.0)])],
            vec![join(&[
                seg(&[(0.45, 0.0), (0.45, 0.85)]),
                bez((0.45, 0.85), (0.45, 1.0), (0.6, 1.0), (0.75, 0.92)),
            ])],
        ],
        'M' => vec![
            vec![seg(&[
                (0.05, 1.0),
                (0.12, 0.0),
                (0.5, 0.7),
                (0.88, 0.0),
                (0.95, 1.0),
            ])],
            vec![seg(&[
                (0.1, 1.0),
                (0.1, 0.0),
                (0.5, 0.6),
                (0.9, 0.0),
                (0.9, 1.0),
            ])],
            vec![
                seg(&[(0.1, 0.45), (0.1, 1.0)]),
                join(&[arc(0.3, 0.68, 0.2, 0.2, 180.0, 360.0), seg(&[(0.5, 1.0)])]),
                join(&[arc(0.7, 0.68, 0.2, 0.2, 180.0, 360.0), seg(&[(0.9, 1.0)])]),
            ],
        ],
        'N' => vec![
            vec![seg(&[(0.12, 1.0), (0.12, 0.0), (0.88, 1.0), (0.88, 0.0)])],
            vec![
                seg(&[(0.15, 0.45), (0.15, 1.0)]),
                join(&[
                    arc(0.48, 0.7, 0.33, 0.25, 180.0, 360.0),
                    seg(&[(0.81, 1.0)]),
                ]),
            ],
        ],
        'P' => vec![
            vec![
                seg(&[(0.15, 1.0), (0.15, 0.0)]),
                join(&[
                    seg(&[(0.15, 0.0), (0.5, 0.0)]),
                    arc(0.5, 0.27, 0.33, 0.27, -90.0, 90.0),
                    seg(&[(0.15, 0.54)]),
                ]),
            ],
            vec![join(&[
                seg(&[(0.15, 1.0), (0.15, 0.0), (0.5, 0.0)]),
                arc(0.5, 0.27, 0.33, 0.27, -90.0, 90.0),
                seg(&[(0.15, 0.54)]),
            ])],
            vec![seg(&[(0.15, 0.45), (0.15, 1.45)]), bowl(0.45)],
        ],
        'Q' => vec![
            vec![
                arc(0.5, 0.5, 0.45, 0.5, -90.0, 270.0),
                seg(&[(0.55, 0.7), (0.95, 1.05)]),
            ],
            vec![bowl(0.45), seg(&[(0.75, 0.45), (0.75, 1.45)])],
            vec![bowl(0.45), seg(&[(0.75, 0.45), (0.75, 1.45), (0.95, 1.3)])],
        ],
        'R' => vec![
            vec![
                seg(&[(0.15, 1.0), (0.15, 0.0)]),
                join(&[
                    seg(&[(0.15, 0.0), (0.5, 0.0)]),
                    arc(0.5, 0.27, 0.33, 0.27, -90.0, 90.0),
                    seg(&[(0.15, 0.54)]),
                ]),
                seg(&[(0.42, 0.54), (0.9, 1.0)]),
            ],
            vec![
                seg(&[(0.2, 0.45), (0.2, 1.0)]),
                arc(0.5, 0.72, 0.3, 0.22, 180.0, 300.0),
            ],
        ],
        'S' => vec![vec![join(&[
            arc(0.5, 0.26, 0.36, 0.26, -30.0, -270.0),
            arc(0.5, 0.76, 0.38, 0.24, -90.0, 150.0),
        ])]],
        'T' => vec![
            vec![
                seg(&[(0.05, 0.0), (0.95, 0.0)]),
                seg(&[(0.5, 0.0), (0.5, 1.0)]),
            ],
            vec![
                join(&[
                    seg(&[(0.45, 0.1), (0.45, 0.88)]),
                    bez((0.45, 0.88), (0.46, 1.0), (0.62, 1.02), (0.75, 0.93)),
                ]),
                seg(&[(0.15, 0.4), (0.8, 0.4)]),
            ],
        ],
        'U' => vec![
            vec![join(&[
                seg(&[(0.12, 0.0), (0.12, 0.62)]),
                arc(0.5, 0.62, 0.38, 0.38, 180.0, 0.0),
                seg(&[(0.88, 0.0)]),
            ])],
            vec![
                join(&[
                    seg(&[(0.15, 0.45), (0.15, 0.75)]),
                    arc(0.47, 0.75, 0.32, 0.25, 180.0, 0.0),
                    seg(&[(0.79, 0.45)]),
                ]),
                seg(&[(0.79, 0.45), (0.82, 1.0)]),
            ],
        ],
        'V' => vec![vec![seg(&[(0.05, 0.0), (0.5, 1.0), (0.95, 0.0)])]],
        'W' => vec![
            vec![seg(&[
                (0.0, 0.0),
                (0.25, 1.0),
                (0.5, 0.3),
                (0.75, 1.0),
                (1.0, 0.0),
            ])],
            vec![
                seg(&[(0.0, 0.0), (0.22, 1.0), (0.5, 0.2)]),
                seg(&[(0.5, 0.2), (0.78, 1.0), (1.0, 0.0)]),
            ],
        ],
        'Y' => vec![
            vec![
                seg(&[(0.05, 0.0), (0.5, 0.5), (0.95, 0.0)]),
                seg(&[(0.5, 0.5), (0.5, 1.0)]),
            ],
            vec![
                seg(&[(0.1, 0.45), (0.5, 1.0)]),
                seg(&[(0.9, 0.45), (0.35, 1.45)]),
            ],
        ],
        'Z' => vec![
            vec![seg(&[(0.1, 0.0), (0.9, 0.0), (0.1, 1.0), (0.9, 1.0)])],
            vec![
                seg(&[(0.1, 0.0), (0.9, 0.0), (0.1, 1.0), (0.9, 1.0)]),
                seg(&[(0.3, 0.5), (0.7, 0.5)]),
            ],
        ],
        'O' => vec![
            vec![arc(0.5, 0.5, 0.45, 0.5, -90.0, 270.0)],
            vec![arc(0.5, 0.5, 0.42, 0.48, -100.0, -470.0)],
            vec![arc(0.5, 0.72, 0.3, 0.27, -90.0, 280.0)],
        ],
        _ => vec![vec![seg(&[(0.0, 0.0), (1.0, 1.0)])]],
    }
}

fn normal(rng: &mut ChaCha8Rng) -> f32 {
    // Box-Muller; rand's distributions crate is not needed for this.
    let u1: f32 = rng.random_range(f32::EPSILON..1.0);
    let u2: f32 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

/// Draws one glyph of character `ch` into `out` (`[56, 56]`, 0/1).
fn render_glyph(ch: char, params: &SynthParams, rng: &mut ChaCha8Rng, out: &mut [u8]) {
    let d = params.distortion;
    let all = variants(ch);
    let mut strokes = all[rng.random_range(0..all.len())].clone();

    // Per-stroke shift and end-point drift.
    for s in strokes.iter_mut() {
        let (tx, ty) = (0.02 * d * normal(rng), 0.02 * d * normal(rng));
        let (ax, ay) = (0.025 * d * normal(rng), 0.025 * d * normal(rng));
        let (bx, by) = (0.025 * d * normal(rng), 0.025 * d * normal(rng));
        let n = s.len().max(2) - 1;
        for (k, p) in s.iter_mut().enumerate() {
            let t = k as f32 / n as f32;
            p.0 += tx + ax * (1.0 - t) + bx * t;
            p.1 += ty + ay * (1.0 - t) + by * t;
        }
    }

    // Smooth warp.
    let amp = d * rng.random_range(0.0..0.045);
    let (f1, f2, f3, f4) = (
        rng.random_range(0.4..1.3f32),
        rng.random_range(0.4..1.3f32),
        rng.random_range(-0.6..0.6f32),
        rng.random_range(-0.6..0.6f32),
    );
    let (ph1, ph2) = (
        rng.random_range(0.0..std::f32::consts::TAU),
        rng.random_range(0.0..std::f32::consts::TAU),
    );
    // Affine: rotation, slant, aspect.
    let rot = (d * 7.0 * normal(rng)).clamp(-20.0, 20.0).to_radians();
    let shear = (d * 0.18 * normal(rng)).clamp(-0.5, 0.5);
    let aspect = (d * 0.15 * normal(rng)).clamp(-0.5, 0.5).exp();
    let (sin, cos) = rot.sin_cos();
    for s in strokes.iter_mut() {
        for p in s.iter_mut() {
            let tau = std::f32::consts::TAU;
            let (x, y) = *p;
            let x = x + amp * (tau * (f1 * y + f3 * x) + ph1).sin();
            let y = y + amp * (tau * (f2 * x + f4 * y) + ph2).sin();
            let x = (x - 0.5) * aspect - shear * (y - 0.5);
            let y = y - 0.5;
            *p = (cos * x - sin * y, sin * x + cos * y);
        }
    }

    // Pen width and framing: crop to the ink, longer side 52 px, centred in 56x56.
    let (w0, w1) = params.pen_width;
    let width = (rng.random_range(w0..=w1) + rng.random_range(w0..=w1)) / 2.0;
    let stroke_widths: Vec<f32> = strokes
        .iter()
        .map(|_| width * rng.random_range(0.85..1.15f32))
        .collect();
    let (mut x0, mut x1, mut y0, mut y1) = (f32::MAX, f32::MIN, f32::MAX, f32::MIN);
    for p in strokes.iter().flatten() {
        x0 = x0.min(p.0);
        x1 = x1.max(p.0);
        y0 = y0.min(p.1);
        y1 = y1.max(p.1);
    }
    let max_w = stroke_widths.iter().copied().fold(0.0, f32::max);
    let span = (x1 - x0).max(y1 - y0).max(1e-3);
    let scale = ((super::emnist::GLYPH_SIDE as f32 - max_w) / span).max(1.0);
    let (cx, cy) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
    let half = IMAGE_SIDE as f32 / 2.0;
    out.fill(0);
    for (s, &w) in strokes.iter().zip(&stroke_widths) {
        let pts: Vec<Pt> = s
            .iter()
            .map(|p| ((p.0 - cx) * scale + half, (p.1 - cy) * scale + half))
            .collect();
        if pts.len() == 1 {
            draw_segment(out, pts[0], pts[0], w / 2.0);
        }
        for pair in pts.windows(2) {
            draw_segment(out, pair[0], pair[1], w / 2.0);
        }
    }
}

/// Sets every pixel whose centre lies within `r` of the segment `a`-`b`.
fn draw_segment(out: &mut [u8], a: Pt, b: Pt, r: f32) {
    let side = IMAGE_SIDE as isize;
    let lo_x = ((a.0.min(b.0) - r).floor() as isize).clamp(0, side - 1);
    let hi_x = ((a.0.max(b.0) + r).ceil() as isize).clamp(0, side - 1);
    let lo_y = ((a.1.min(b.1) - r).floor() as isize).clamp(0, side - 1);
    let hi_y = ((a.1.max(b.1) + r).ceil() as isize).clamp(0, side - 1);
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let r2 = r * r;
    for y in lo_y..=hi_y {
        for x in lo_x..=hi_x {
            let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
            let t = if len2 > 0.0 {
                (((px - a.0) * dx + (py - a.1) * dy) / len2).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let (qx, qy) = (a.0 + t * dx - px, a.1 + t * dy - py);
            if qx * qx + qy * qy <= r2 {
                out[(y * side + x) as usize] = 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_has_a_skeleton() {
        for &c in REPORT_CLASSES.iter() {
            let v = variants(c);
            assert!(!v.is_empty());
            // The fallback diagonal is only for characters outside the report.
            assert_ne!(
                v[0],
                vec![seg(&[(0.0, 0.0), (1.0, 1.0)])],
                "no glyph for {c}"
            );
        }
    }

    #[test]
    fn counts_match_report_at_full_size() {
        assert_eq!(class_counts(30134), REPORT_COUNTS.to_vec());
        let small = class_counts(500);
        assert_eq!(small.iter().sum::<usize>(), 500);
        assert!(small.iter().all(|&c| c >= 1));
        assert_eq!(small[30], 1);
    }
}
