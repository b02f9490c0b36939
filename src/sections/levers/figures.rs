//! Section 6.1's figures: one image of each look-alike character under several augmentation
//! draws (`figures/06-augmentation.{svg,png}`).

use plotters::coord::Shift;
use plotters::prelude::*;
use tch::{Device, Kind, Tensor};

use crate::augment::{augment, AugmentParams};
use crate::data::Dataset;
use crate::plot::{self, DrawResult, Figure, Png};
use crate::{paths, Error, Result};

/// File stem of the augmentation figure.
pub(crate) const AUGMENT_FIGURE: &str = "06-augmentation";

/// Rows of glyphs: a label and the images of the row (binary, `shape`).
pub(crate) struct GlyphRows {
    /// `(row label, images)`; the first image of a row is the original.
    pub rows: Vec<(String, Vec<Vec<u8>>)>,
    /// Image height and width.
    pub shape: (usize, usize),
    /// Title.
    pub title: String,
}

impl Figure for GlyphRows {
    fn size(&self) -> (u32, u32) {
        let cols = self.rows.iter().map(|r| r.1.len()).max().unwrap_or(1) as u32;
        (110 + cols * 100, 60 + self.rows.len() as u32 * 110)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let root = root.titled(&self.title, ("sans-serif", 24))?;
        let bands = root.split_evenly((self.rows.len().max(1), 1));
        for (band, (label, images)) in bands.iter().zip(&self.rows) {
            let (left, right) = band.split_horizontally(110);
            left.draw(&Text::new(label.as_str(), (8, 40), ("sans-serif", 18)))?;
            let cells = right.split_evenly((1, images.len().max(1)));
            for (cell, img) in cells.iter().zip(images) {
                plot::draw_glyph(&cell.margin(5, 5, 5, 5), img, self.shape.0, self.shape.1)?;
            }
        }
        Ok(())
    }
}

/// One training image of each character in `chars` (the first of its class in `indices`),
/// then `draws` augmented versions of it (seed `seed`, one batch per draw).
pub(crate) fn augmentation_rows(
    data: &Dataset,
    indices: &[usize],
    chars: &[char],
    params: &AugmentParams,
    draws: usize,
    seed: u64,
) -> Result<GlyphRows> {
    let (h, w) = (data.height(), data.width());
    let mut picked = Vec::new();
    for &c in chars {
        let class = data.class_chars().iter().position(|&x| x == c);
        let found = class.and_then(|k| indices.iter().find(|&&i| data.labels()[i] == k));
        if let Some(&i) = found {
            picked.push((c, data.image(i).to_vec()));
        }
    }
    if picked.is_empty() {
        return Err(Error::param(
            "chars",
            format!("no training image of any of {chars:?}"),
        ));
    }
    let flat: Vec<f32> = picked
        .iter()
        .flat_map(|(_, img)| img.iter().map(|&p| f32::from(p)))
        .collect();
    let x = Tensor::f_from_slice(&flat)?.f_view([picked.len() as i64, 1, h as i64, w as i64])?;
    let mut rows: Vec<(String, Vec<Vec<u8>>)> = picked
        .iter()
        .map(|(c, img)| (format!("'{c}'"), vec![img.clone()]))
        .collect();
    for d in 0..draws {
        let a = augment(&x, params, (0.0, 1.0), seed, 1, d)?
            .f_to_device(Device::Cpu)?
            .f_to_kind(Kind::Uint8)?;
        let v = Vec::<u8>::try_from(&a.f_flatten(0, -1)?)?;
        for (r, row) in rows.iter_mut().enumerate() {
            row.1.push(v[r * h * w..(r + 1) * h * w].to_vec());
        }
    }
    Ok(GlyphRows {
        rows,
        shape: (h, w),
        title: format!("Augmentation: each original (left) and {draws} random draws"),
    })
}

/// Writes `figures/06-augmentation.{svg,png}` from the training part of `data`.
pub fn augmentation_figure(
    data: &Dataset,
    train: &[usize],
    params: &AugmentParams,
    seed: u64,
) -> Result<Png> {
    let rows = augmentation_rows(
        data,
        train,
        &['0', 'O', '5', 'S', 'I', '1'],
        params,
        7,
        seed,
    )?;
    plot::save(&rows, &paths::figure(AUGMENT_FIGURE))
}
