//! The data layer: one [`Dataset`] type, three sources.
//!
//! - [`load_pickle`]: the task's `train.pkl`, a pickle of numpy arrays `(X, y)`;
//! - [`emnist::load`]: EMNIST in the official IDX gzip layout, optionally converted to the
//!   report's format ([`emnist::to_report_format`]);
//! - [`synth::generate`]: the embedded default, handwriting-like glyphs generated in-process.
//!
//! [`load`] picks the source from a path (or none), as the CLI's `--data` does.

pub mod emnist;
mod features;
pub mod pickle;
pub mod synth;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// The look-alike pairs of the report's characters whose confusions section 6.1 follows
/// (the original report's most confused pairs).
pub const LOOK_ALIKE_PAIRS: [(char, char); 4] = [('0', 'O'), ('5', 'S'), ('I', '1'), ('Z', '2')];

/// Characters of the report's 36 classes, by class index. Letters merge upper and lower case;
/// class 30 is a second 'N' (it holds a single image in the report's data).
pub const REPORT_CLASSES: [char; 36] = [
    '6', 'P', 'O', 'L', 'W', '3', 'T', '8', 'A', 'I', '0', '9', 'H', 'R', 'E', '7', 'K', 'V', 'G',
    '4', 'Y', 'C', 'N', 'J', '5', '1', 'S', '2', 'F', 'Z', 'N', 'Q', 'M', 'B', 'D', 'U',
];

/// Images per class in the report's data set (30,134 images in all), by class index.
pub const REPORT_COUNTS: [usize; 36] = [
    163, 301, 2016, 1428, 736, 190, 2527, 125, 1176, 324, 343, 140, 549, 2158, 3291, 179, 664, 840,
    423, 152, 331, 393, 2334, 102, 117, 1443, 1237, 167, 286, 702, 1, 156, 1073, 561, 1581, 1925,
];

/// Side of the report's square images, in pixels.
pub const IMAGE_SIDE: usize = 56;

/// Where a [`Dataset`] came from; saved in every results file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    /// A pickle `(X, y)` in the task's format.
    Pickle {
        /// The file read.
        path: PathBuf,
    },
    /// EMNIST IDX files.
    Emnist {
        /// The folder read.
        dir: PathBuf,
        /// `true` when converted to the report's format (56x56 binary, 36 classes).
        report_format: bool,
    },
    /// The embedded generator.
    Synthetic {
        /// Images generated.
        n: usize,
        /// Generator seed.
        seed: u64,
    },
    /// A subset of another data set (indices chosen by a split).
    Subset {
        /// Description of the parent source.
        parent: String,
        /// Images kept.
        n: usize,
    },
}

impl Source {
    /// What the data is, in words, naming files but no folder (for the report: a machine's
    /// paths mean nothing to its reader).
    pub fn describe(&self) -> String {
        let name = |p: &std::path::Path| {
            p.file_name().map_or_else(
                || p.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            )
        };
        match self {
            Source::Pickle { path } => {
                format!("a pickle of (X, y) in the task's format, `{}`", name(path))
            }
            Source::Emnist { dir, report_format } => format!(
                "EMNIST images in the official IDX layout (`{}`){}",
                name(dir),
                if *report_format {
                    ", each cropped to its ink, scaled to a 52-pixel longer side, centred in \
                     56 x 56 and binarised, letter case merged into the report's classes"
                } else {
                    ""
                }
            ),
            Source::Synthetic { n, seed } => format!(
                "charlab's embedded generator of handwriting-like glyphs ({n} images, seed {seed})"
            ),
            Source::Subset { parent, n } => format!("{n}-image subset of {parent}"),
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Pickle { path } => write!(f, "pickle {}", path.display()),
            Source::Emnist { dir, report_format } => write!(
                f,
                "EMNIST {}{}",
                dir.display(),
                if *report_format {
                    " (report format)"
                } else {
                    ""
                }
            ),
            Source::Synthetic { n, seed } => {
                write!(f, "embedded default (synthetic, {n} images, seed {seed})")
            }
            Source::Subset { parent, n } => write!(f, "{n}-image subset of {parent}"),
        }
    }
}

/// A labelled set of binary images.
///
/// Images are stored row-major in one buffer, `[n, height, width]`, each pixel 0 (background)
/// or 1 (ink). Labels are class indices `0..n_classes()`; `class_chars[c]` is the character of
/// class `c` (`'?'` when unknown).
#[derive(Clone, Debug)]
pub struct Dataset {
    images: Vec<u8>,
    labels: Vec<usize>,
    height: usize,
    width: usize,
    class_chars: Vec<char>,
    source: Source,
}

impl Dataset {
    /// A data set in the report's format: 56x56 images in the report's 36 classes (checked as
    /// [`Dataset::new`] checks).
    pub fn report_format(images: Vec<u8>, labels: Vec<usize>, source: Source) -> Result<Self> {
        Dataset::new(
            images,
            labels,
            IMAGE_SIDE,
            IMAGE_SIDE,
            REPORT_CLASSES.to_vec(),
            source,
        )
    }

    /// Builds a data set, checking that every buffer agrees with the others.
    ///
    /// `images.len()` must be `labels.len() * height * width`, pixels must be 0 or 1, and every
    /// label must index `class_chars`.
    pub fn new(
        images: Vec<u8>,
        labels: Vec<usize>,
        height: usize,
        width: usize,
        class_chars: Vec<char>,
        source: Source,
    ) -> Result<Self> {
        if height == 0 || width == 0 {
            return Err(Error::param("height/width", "images must be at least 1x1"));
        }
        if images.len() != labels.len() * height * width {
            return Err(Error::param(
                "images",
                format!(
                    "{} pixels for {} labels of {height}x{width} images",
                    images.len(),
                    labels.len()
                ),
            ));
        }
        if let Some(p) = images.iter().position(|&v| v > 1) {
            return Err(Error::param(
                "images",
                format!("pixel {p} is {}; images must be binary (0 or 1)", images[p]),
            ));
        }
        if let Some(i) = labels.iter().position(|&l| l >= class_chars.len()) {
            return Err(Error::param(
                "labels",
                format!(
                    "label {} at image {i} is outside 0..{}",
                    labels[i],
                    class_chars.len()
                ),
            ));
        }
        Ok(Dataset {
            images,
            labels,
            height,
            width,
            class_chars,
            source,
        })
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// `true` when there is no image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Image height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// Image width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Pixels per image.
    pub fn pixels(&self) -> usize {
        self.height * self.width
    }

    /// Number of classes (including classes with no image).
    pub fn n_classes(&self) -> usize {
        self.class_chars.len()
    }

    /// Character of each class.
    pub fn class_chars(&self) -> &[char] {
        &self.class_chars
    }

    /// All labels.
    pub fn labels(&self) -> &[usize] {
        &self.labels
    }

    /// The labels of the images at `indices`, in that order.
    pub fn labels_at(&self, indices: &[usize]) -> Vec<usize> {
        indices.iter().map(|&i| self.labels()[i]).collect()
    }

    /// All pixels, `[n, height, width]` row-major.
    pub fn images(&self) -> &[u8] {
        &self.images
    }

    /// Pixels of image `i`, `[height, width]` row-major.
    pub fn image(&self, i: usize) -> &[u8] {
        let p = self.pixels();
        &self.images[i * p..(i + 1) * p]
    }

    /// Where the data came from.
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// Images per class, indexed by class.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.n_classes()];
        for &l in &self.labels {
            counts[l] += 1;
        }
        counts
    }

    /// Indices of the images of each class, in data-set order.
    pub fn indices_by_class(&self) -> Vec<Vec<usize>> {
        let mut by = vec![Vec::new(); self.n_classes()];
        for (i, &l) in self.labels.iter().enumerate() {
            by[l].push(i);
        }
        by
    }

    /// A new data set holding the images at `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> Result<Dataset> {
        let p = self.pixels();
        let mut images = Vec::with_capacity(indices.len() * p);
        let mut labels = Vec::with_capacity(indices.len());
        for &i in indices {
            if i >= self.len() {
                return Err(Error::param(
                    "indices",
                    format!("index {i} is out of range for {} images", self.len()),
                ));
            }
            images.extend_from_slice(self.image(i));
            labels.push(self.labels[i]);
        }
        Ok(Dataset {
            images,
            labels,
            height: self.height,
            width: self.width,
            class_chars: self.class_chars.clone(),
            source: Source::Subset {
                parent: self.source.to_string(),
                n: indices.len(),
            },
        })
    }

    /// SHA-256 of the content (size, labels, pixels), hex. Two data sets with the same images
    /// and labels in the same order have the same hash, whatever file they came from.
    pub fn content_hash(&self) -> String {
        let mut h = Sha256::new();
        h.update((self.len() as u64).to_le_bytes());
        h.update((self.height as u64).to_le_bytes());
        h.update((self.width as u64).to_le_bytes());
        for &l in &self.labels {
            h.update((l as u32).to_le_bytes());
        }
        h.update(&self.images);
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Counts per class character, merging classes that share a character.
    pub fn counts_by_char(&self) -> BTreeMap<char, usize> {
        let mut out = BTreeMap::new();
        for (c, n) in self.class_counts().into_iter().enumerate() {
            *out.entry(self.class_chars[c]).or_insert(0) += n;
        }
        out
    }
}

/// Reads the task's `train.pkl`: a pickle of `(X, y)` with `X` uint8 or bool of shape
/// `(N, 3136)` or `(N, 56, 56)` (any `(N, D)` with `D` a square also works) holding 0/1 pixels,
/// and `y` any integer dtype of shape `(N,)` or `(N, 1)` holding class indices 0..35.
///
/// See [`pickle`] for what the reader accepts and refuses.
pub fn load_pickle(path: &Path) -> Result<Dataset> {
    let buf = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let (x, y) = pickle::read_xy(path, &buf)?;
    drop(buf);
    let bad = |m: String| Error::bad_data(path, m);

    // X: images.
    if !matches!(
        (x.dtype.kind(), x.dtype.itemsize()),
        ('u', Some(1)) | ('b', Some(1))
    ) {
        return Err(bad(wrong_dtype(
            &x,
            "X",
            "expected uint8 (or bool) binary images",
            |i| format!(" (and it holds NaN, first at element {i})"),
            "X.astype(np.uint8)",
        )));
    }
    let (n, h, w) = match x.shape.as_slice() {
        [n, d] => {
            let side = (*d as f64).sqrt().round() as usize;
            if side * side != *d || side == 0 {
                return Err(bad(format!(
                    "X has shape ({n}, {d}); {d} pixels is not a square image (expected (N, 3136) for 56x56)"
                )));
            }
            (*n, side, side)
        }
        [n, h, w] if *h > 0 && *w > 0 => (*n, *h, *w),
        other => {
            return Err(bad(format!(
                "X has shape {other:?}; expected (N, 3136) or (N, 56, 56)"
            )))
        }
    };

    // y: labels.
    let y_rows = match y.shape.as_slice() {
        [m] | [m, 1] => *m,
        _ => {
            return Err(bad(format!(
                "y has shape {:?}; expected (N,) or (N, 1)",
                y.shape
            )))
        }
    };
    if y_rows != n {
        return Err(bad(format!(
            "X has {n} rows but y has {y_rows}; they must have one label per image"
        )));
    }
    let raw = match (y.dtype.kind(), y.to_i64()) {
        ('i' | 'u', Some(v)) => v,
        _ => {
            return Err(bad(wrong_dtype(
                &y,
                "y",
                "labels must be integers",
                |i| format!(" (and y[{i}] is NaN)"),
                "y.astype(np.int64)",
            )));
        }
    };
    let n_classes = REPORT_CLASSES.len();
    let mut labels = Vec::with_capacity(n);
    for (i, &v) in raw.iter().enumerate() {
        if v < 0 || v as usize >= n_classes {
            return Err(bad(format!(
                "label y[{i}] = {v} is outside 0..{} (the report's 36 classes)",
                n_classes - 1
            )));
        }
        labels.push(v as usize);
    }
    let images = x.data;
    if let Some(p) = images.iter().position(|&v| v > 1) {
        return Err(bad(format!(
            "X[{}] holds the value {} at pixel {}; images must be binary 0/1 \
             (binarise with X = (X >= 128).astype(np.uint8))",
            p / (h * w),
            images[p],
            p % (h * w)
        )));
    }
    Dataset::new(
        images,
        labels,
        h,
        w,
        REPORT_CLASSES.to_vec(),
        Source::Pickle {
            path: path.to_path_buf(),
        },
    )
}

/// What `--data` names: a `train.pkl`, an EMNIST folder, or nothing (the embedded default).
#[derive(Clone, Debug, PartialEq)]
pub enum DataSpec {
    /// The embedded default data set of `n` images made with `seed`.
    Default {
        /// Images to generate (the report's 30,134 by default).
        n: usize,
        /// Generator seed.
        seed: u64,
    },
    /// A pickle file.
    Pickle(PathBuf),
    /// An EMNIST folder; `report_format` converts it to 56x56 binary with 36 classes.
    Emnist {
        /// The folder.
        dir: PathBuf,
        /// Convert to the report's format.
        report_format: bool,
    },
}

impl DataSpec {
    /// Interprets a user's `--data` value: `None`, `""` or `"default"` is the embedded
    /// default; a folder is EMNIST (converted to the report's format); anything else a pickle.
    pub fn from_arg(arg: Option<&str>) -> DataSpec {
        match arg.map(str::trim) {
            None | Some("") | Some("default") => DataSpec::Default {
                n: REPORT_COUNTS.iter().sum(),
                seed: synth::DEFAULT_SEED,
            },
            Some(p) => {
                let path = PathBuf::from(p);
                if path.is_dir() {
                    DataSpec::Emnist {
                        dir: path,
                        report_format: true,
                    }
                } else {
                    DataSpec::Pickle(path)
                }
            }
        }
    }

    /// Loads the data set.
    pub fn load(&self) -> Result<Dataset> {
        match self {
            DataSpec::Default { n, seed } => synth::generate(&synth::SynthParams::new(*n, *seed)?),
            DataSpec::Pickle(path) => {
                if !path.exists() {
                    return Err(Error::bad_data(
                        path,
                        "no such file; give --data a train.pkl, an EMNIST folder, or nothing for the embedded default",
                    ));
                }
                load_pickle(path)
            }
            DataSpec::Emnist { dir, report_format } => {
                let raw = emnist::load(dir)?;
                if *report_format {
                    emnist::to_report_format(&raw)
                } else {
                    raw.to_dataset()
                }
            }
        }
    }
}

/// The index of the first NaN of a float array (`None` for integer arrays or none).
/// A wrong dtype's message: what is wrong, the first NaN if any, and the conversion that fixes it.
/// The message for array `name` of the wrong dtype: its dtype, what was `expected`, where it
/// holds NaN if it does (`nan_at` of the first), and the numpy call that converts it (`fix`).
fn wrong_dtype(
    a: &pickle::NdArray,
    name: &str,
    expected: &str,
    nan_at: impl Fn(usize) -> String,
    fix: &str,
) -> String {
    let nan = first_nan(a).map(nan_at).unwrap_or_default();
    format!(
        "{name} has dtype {}; {expected}{nan}; convert with {fix}",
        a.dtype.describe()
    )
}

fn first_nan(a: &pickle::NdArray) -> Option<usize> {
    a.to_f64()?.iter().position(|f| f.is_nan())
}

/// Loads what `arg` names (see [`DataSpec::from_arg`]).
pub fn load(arg: Option<&str>) -> Result<Dataset> {
    DataSpec::from_arg(arg).load()
}

/// Drops every corpus image byte-identical to an image of `data` at `exclude`; returns the
/// kept indices of `corpus` and how many were dropped.
pub fn dedupe(corpus: &Dataset, data: &Dataset, exclude: &[usize]) -> (Vec<usize>, usize) {
    let held_out: std::collections::HashSet<&[u8]> =
        exclude.iter().map(|&i| data.image(i)).collect();
    let kept: Vec<usize> = (0..corpus.len())
        .filter(|&i| !held_out.contains(corpus.image(i)))
        .collect();
    let dropped = corpus.len() - kept.len();
    (kept, dropped)
}
