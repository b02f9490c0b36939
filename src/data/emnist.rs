//! EMNIST in the official IDX layout: `*-images-idx3-ubyte[.gz]`, `*-labels-idx1-ubyte[.gz]`
//! and `*-mapping.txt` (`label ascii_code` per line).
//!
//! NIST ships each EMNIST image transposed (stored column by column); [`load`] undoes that.
//! [`to_report_format`] turns the 28x28 grey images into the report's format.

use std::io::Read;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::{Dataset, Source, IMAGE_SIDE, REPORT_CLASSES};
use crate::{Error, Result};

/// Grey-level EMNIST images as read from disk, transposition undone.
#[derive(Clone, Debug)]
pub struct EmnistRaw {
    /// `[n, rows, cols]` grey levels 0..=255, row-major, upright.
    pub images: Vec<u8>,
    /// Label of each image (EMNIST's own indices).
    pub labels: Vec<usize>,
    /// Image height.
    pub rows: usize,
    /// Image width.
    pub cols: usize,
    /// Character of each EMNIST label, from the mapping file.
    pub chars: Vec<char>,
    /// The folder read.
    pub dir: PathBuf,
}

/// Grey level at or above which a pixel counts as ink (for cropping and binarising).
pub const INK_THRESHOLD: u8 = 128;

/// Longer side of the glyph after scaling, in the 56x56 frame (the stand-in's rule).
pub const GLYPH_SIDE: usize = 52;

fn open(path: &Path) -> Result<Box<dyn Read>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let reader = std::io::BufReader::new(file);
    if path.extension().is_some_and(|e| e == "gz") {
        Ok(Box::new(flate2::read::GzDecoder::new(reader)))
    } else {
        Ok(Box::new(reader))
    }
}

/// Reads exactly `n` bytes (or fails naming the file), growing the buffer as data arrives so
/// that a header claiming more than the file holds never allocates that much up front.
fn read_exact_n(r: &mut dyn Read, n: usize, path: &Path, what: &str) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    r.take(n as u64)
        .read_to_end(&mut out)
        .map_err(|e| Error::bad_data(path, format!("cannot read {what}: {e} (corrupt gzip?)")))?;
    if out.len() != n {
        return Err(Error::bad_data(
            path,
            format!(
                "truncated: the header announces {n} bytes of {what} but the file holds {}",
                out.len()
            ),
        ));
    }
    Ok(out)
}

fn be_u32(b: &[u8]) -> usize {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize
}

/// Opens an IDX file and reads its header of `len` bytes (`kind`: `IDX3`, `IDX1`), which must
/// start with `magic` (the file being `an image file`, `a label file`).
fn open_idx(
    path: &Path,
    kind: &str,
    len: usize,
    magic: usize,
    file: &str,
) -> Result<(Box<dyn Read>, Vec<u8>)> {
    let mut r = open(path)?;
    let head = read_exact_n(&mut r, len, path, &format!("the {kind} header"))?;
    let found = be_u32(&head[0..4]);
    if found != magic {
        return Err(Error::bad_data(
            path,
            format!("wrong IDX magic 0x{found:08x}; {file} starts with 0x{magic:08x}"),
        ));
    }
    Ok((r, head))
}

/// Fails unless `r` is at the end of the file, which the header said holds `n` `items`.
fn expect_end(r: &mut dyn Read, path: &Path, n: usize, items: &str) -> Result<()> {
    let mut extra = [0u8; 1];
    if r.read(&mut extra).map_err(|e| Error::io(path, e))? != 0 {
        return Err(Error::bad_data(
            path,
            format!("the header announces {n} {items} but the file holds more data"),
        ));
    }
    Ok(())
}

/// Reads an IDX3 image file: returns `(n, rows, cols, pixels as stored)`.
pub fn read_idx3(path: &Path) -> Result<(usize, usize, usize, Vec<u8>)> {
    let (mut r, head) = open_idx(path, "IDX3", 16, 0x0803, "an image file")?;
    let (n, rows, cols) = (
        be_u32(&head[4..8]),
        be_u32(&head[8..12]),
        be_u32(&head[12..16]),
    );
    if rows == 0 || cols == 0 || rows > 4096 || cols > 4096 {
        return Err(Error::bad_data(
            path,
            format!("implausible image size {rows}x{cols} in the IDX3 header"),
        ));
    }
    let total = n
        .checked_mul(rows * cols)
        .ok_or_else(|| Error::bad_data(path, "IDX3 header size overflows"))?;
    let data = read_exact_n(&mut r, total, path, "image data")?;
    expect_end(&mut r, path, n, "images")?;
    Ok((n, rows, cols, data))
}

/// Reads an IDX1 label file.
pub fn read_idx1(path: &Path) -> Result<Vec<u8>> {
    let (mut r, head) = open_idx(path, "IDX1", 8, 0x0801, "a label file")?;
    let n = be_u32(&head[4..8]);
    let data = read_exact_n(&mut r, n, path, "labels")?;
    expect_end(&mut r, path, n, "labels")?;
    Ok(data)
}

/// Reads a mapping file (`label ascii_code` per line) into characters by label.
pub fn read_mapping(path: &Path) -> Result<Vec<char>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut pairs = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let mut it = line.split_whitespace();
        let parse = |s: Option<&str>| s.and_then(|s| s.parse::<u32>().ok());
        match (parse(it.next()), parse(it.next()), it.next()) {
            (Some(label), Some(code), None) if label < 1000 => match char::from_u32(code) {
                Some(c) => pairs.push((label as usize, c)),
                None => {
                    return Err(Error::bad_data(
                        path,
                        format!("line {}: {code} is not a character code", i + 1),
                    ))
                }
            },
            _ => {
                return Err(Error::bad_data(
                    path,
                    format!(
                        "line {}: expected `label ascii_code`, found `{line}`",
                        i + 1
                    ),
                ))
            }
        }
    }
    let n = pairs.iter().map(|p| p.0 + 1).max().unwrap_or(0);
    let mut chars = vec!['?'; n];
    for (l, c) in pairs {
        chars[l] = c;
    }
    if chars.is_empty() {
        return Err(Error::bad_data(path, "the mapping file lists no class"));
    }
    Ok(chars)
}

fn find(dir: &Path, suffixes: &[&str]) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut out: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| suffixes.iter().any(|s| n.ends_with(s)))
        })
        .collect();
    out.sort();
    Ok(out)
}

/// Loads every `<prefix>-images-idx3-ubyte[.gz]` / `<prefix>-labels-idx1-ubyte[.gz]` pair in
/// `dir` (in file-name order, so a folder with `train` and `test` gives both) and the
/// `*-mapping.txt` file, undoing NIST's transposition.
pub fn load(dir: &Path) -> Result<EmnistRaw> {
    if !dir.is_dir() {
        return Err(Error::bad_data(dir, "not a folder of EMNIST IDX files"));
    }
    let image_files = find(dir, &["-images-idx3-ubyte.gz", "-images-idx3-ubyte"])?;
    if image_files.is_empty() {
        return Err(Error::bad_data(
            dir,
            "no `*-images-idx3-ubyte.gz` file; expected EMNIST in the official IDX layout",
        ));
    }
    let mapping = find(dir, &["-mapping.txt"])?;
    let chars =
        match mapping.as_slice() {
            [one] => read_mapping(one)?,
            [] => return Err(Error::bad_data(
                dir,
                "no `*-mapping.txt` file (label ascii_code per line), needed to name the classes",
            )),
            _ => {
                return Err(Error::bad_data(
                    dir,
                    "more than one `*-mapping.txt` file; keep one EMNIST split per folder",
                ))
            }
        };
    let mut images = Vec::new();
    let mut labels = Vec::new();
    let mut shape = None;
    for img_path in image_files {
        let name = img_path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let label_name = name.replace("-images-idx3-ubyte", "-labels-idx1-ubyte");
        let label_path = dir.join(&label_name);
        if !label_path.exists() {
            return Err(Error::bad_data(
                &img_path,
                format!("no matching label file `{label_name}` beside it"),
            ));
        }
        let (n, rows, cols, data) = read_idx3(&img_path)?;
        let labs = read_idx1(&label_path)?;
        if labs.len() != n {
            return Err(Error::bad_data(
                &label_path,
                format!(
                    "{} labels for {n} images in {}",
                    labs.len(),
                    img_path.display()
                ),
            ));
        }
        if let Some(i) = labs.iter().position(|&l| l as usize >= chars.len()) {
            return Err(Error::bad_data(
                &label_path,
                format!(
                    "label {} of image {i} is not in the mapping file (0..{})",
                    labs[i],
                    chars.len() - 1
                ),
            ));
        }
        if *shape.get_or_insert((rows, cols)) != (rows, cols) {
            return Err(Error::bad_data(
                &img_path,
                "image size differs between files",
            ));
        }
        // Undo the transposition: stored[c * rows + r] is pixel (r, c) of the upright image.
        let p = rows * cols;
        let start = images.len();
        images.resize(start + n * p, 0);
        images[start..]
            .par_chunks_mut(p)
            .zip(data.par_chunks(p))
            .for_each(|(dst, src)| {
                for r in 0..rows {
                    for c in 0..cols {
                        dst[r * cols + c] = src[c * rows + r];
                    }
                }
            });
        labels.extend(labs.iter().map(|&l| l as usize));
    }
    let (rows, cols) = shape.unwrap_or((28, 28));
    Ok(EmnistRaw {
        images,
        labels,
        rows,
        cols,
        chars,
        dir: dir.to_path_buf(),
    })
}

impl EmnistRaw {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// `true` when there is no image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The images as they are (28x28, EMNIST's classes), binarised at [`INK_THRESHOLD`].
    pub fn to_dataset(&self) -> Result<Dataset> {
        let images = self
            .images
            .iter()
            .map(|&v| u8::from(v >= INK_THRESHOLD))
            .collect();
        Dataset::new(
            images,
            self.labels.clone(),
            self.rows,
            self.cols,
            self.chars.clone(),
            Source::Emnist {
                dir: self.dir.clone(),
                report_format: false,
            },
        )
    }
}

/// The report's class index for an EMNIST character: letters merge case (`'e'` and `'E'` are
/// class 14), `'N'` maps to class 22 (class 30, the report's lone second 'N', gets none), and
/// characters the report does not have (`'X'`, `'x'`) give `None`.
pub fn report_class(c: char) -> Option<usize> {
    let up = c.to_ascii_uppercase();
    REPORT_CLASSES.iter().position(|&r| r == up)
}

/// Crops a grey image to its ink, scales it so its longer side is [`GLYPH_SIDE`] pixels
/// (bilinear), centres it in a 56x56 frame and binarises it at [`INK_THRESHOLD`] (the
/// stand-in's recipe). Returns `None` for an image without ink.
pub fn crop_scale_binarise(img: &[u8], rows: usize, cols: usize) -> Option<Vec<u8>> {
    let (mut r0, mut r1, mut c0, mut c1) = (usize::MAX, 0, usize::MAX, 0);
    for r in 0..rows {
        for c in 0..cols {
            if img[r * cols + c] >= INK_THRESHOLD {
                r0 = r0.min(r);
                r1 = r1.max(r);
                c0 = c0.min(c);
                c1 = c1.max(c);
            }
        }
    }
    if r0 == usize::MAX {
        return None;
    }
    let (h, w) = ((r1 - r0 + 1) as f32, (c1 - c0 + 1) as f32);
    let s = GLYPH_SIDE as f32 / h.max(w);
    let th = ((h * s).round() as usize).clamp(1, GLYPH_SIDE);
    let tw = ((w * s).round() as usize).clamp(1, GLYPH_SIDE);
    let (oy, ox) = ((IMAGE_SIDE - th) / 2, (IMAGE_SIDE - tw) / 2);
    let px = |r: isize, c: isize| -> f32 {
        if r < 0 || c < 0 || r >= rows as isize || c >= cols as isize {
            0.0
        } else {
            img[r as usize * cols + c as usize] as f32
        }
    };
    let mut out = vec![0u8; IMAGE_SIDE * IMAGE_SIDE];
    for y in 0..th {
        for x in 0..tw {
            let sy = r0 as f32 + (y as f32 + 0.5) / s - 0.5;
            let sx = c0 as f32 + (x as f32 + 0.5) / s - 0.5;
            let (fy, fx) = (sy.floor(), sx.floor());
            let (dy, dx) = (sy - fy, sx - fx);
            let (iy, ix) = (fy as isize, fx as isize);
            let v = px(iy, ix) * (1.0 - dy) * (1.0 - dx)
                + px(iy, ix + 1) * (1.0 - dy) * dx
                + px(iy + 1, ix) * dy * (1.0 - dx)
                + px(iy + 1, ix + 1) * dy * dx;
            out[(oy + y) * IMAGE_SIDE + ox + x] = u8::from(v >= INK_THRESHOLD as f32);
        }
    }
    Some(out)
}

/// Converts EMNIST to the report's format: 56x56 binary images ([`crop_scale_binarise`]) and
/// the report's 36 class indices ([`report_class`]). Images of characters the report lacks
/// (`X`) and images without ink are dropped.
pub fn to_report_format(raw: &EmnistRaw) -> Result<Dataset> {
    let p = raw.rows * raw.cols;
    let converted: Vec<Option<(Vec<u8>, usize)>> = (0..raw.len())
        .into_par_iter()
        .map(|i| {
            let class = report_class(raw.chars[raw.labels[i]])?;
            let img = crop_scale_binarise(&raw.images[i * p..(i + 1) * p], raw.rows, raw.cols)?;
            Some((img, class))
        })
        .collect();
    let mut images = Vec::new();
    let mut labels = Vec::new();
    for (img, class) in converted.into_iter().flatten() {
        images.extend_from_slice(&img);
        labels.push(class);
    }
    Dataset::report_format(
        images,
        labels,
        Source::Emnist {
            dir: raw.dir.clone(),
            report_format: true,
        },
    )
}
