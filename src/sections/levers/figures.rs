//! Section 6.1's figures: one training image of each look-alike character ('0'/'O', '5'/'S',
//! 'I'/'1'/'L', 'Z'/'2') beside several augmentation draws of it
//! (`figures/06-augmentation.{svg,png}`).

use plotters::coord::Shift;
use plotters::prelude::*;
use tch::{Device, Kind, Tensor};

use crate::augment::{augment, AugmentParams};
use crate::data::Dataset;
use crate::plot::{self, DrawResult, Figure, Png};
use crate::{paths, Error, Result};

/// The characters the augmentation figure shows: the look-alike pairs and groups of the
/// stand-in ('0'/'O', '5'/'S', 'I'/'1'/'L', 'Z'/'2').
pub(crate) const LOOK_ALIKES: [char; 9] = ['0', 'O', '5', 'S', 'I', '1', 'L', 'Z', '2'];

/// Random draws the augmentation figure shows beside each original.
pub(crate) const AUGMENT_DRAWS: usize = 7;

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

const LABEL_W: u32 = 110;
const CELL: u32 = 100;
/// Space between the original and its draws.
const GAP: u32 = 30;
const TOP: u32 = 90;

impl Figure for GlyphRows {
    fn size(&self) -> (u32, u32) {
        let cols = self.rows.iter().map(|r| r.1.len()).max().unwrap_or(1) as u32;
        (
            LABEL_W + GAP + cols * CELL + 10,
            TOP + self.rows.len() as u32 * (CELL + 10),
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let grey = RGBColor(90, 90, 90);
        plot::draw_title(root, &self.title, 24, 24)?;
        let (lw, cell, gap, top) = (LABEL_W as i32, CELL as i32, GAP as i32, TOP as i32);
        let head = ("sans-serif", 17).into_font().color(&grey);
        root.draw(&Text::new("original", (lw + 14, top - 24), head.clone()))?;
        root.draw(&Text::new(
            "random draws",
            (lw + cell + gap + 6, top - 24),
            head,
        ))?;
        let rows = self.rows.len() as i32;
        root.draw(&PathElement::new(
            vec![
                (lw + cell + gap / 2, top - 6),
                (lw + cell + gap / 2, top + rows * (cell + 10)),
            ],
            RGBColor(190, 190, 190).stroke_width(1),
        ))?;
        for (r, (label, images)) in self.rows.iter().enumerate() {
            let y = top + r as i32 * (cell + 10);
            root.draw(&Text::new(
                label.as_str(),
                (16, y + cell / 2 - 10),
                ("sans-serif", 20).into_font(),
            ))?;
            for (k, img) in images.iter().enumerate() {
                let x = lw + k as i32 * cell + if k > 0 { gap } else { 0 };
                let area = root
                    .clone()
                    .shrink((x + 5, y + 5), ((cell - 10) as u32, (cell - 10) as u32));
                plot::draw_glyph(&area, img, self.shape.0, self.shape.1)?;
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
        title: format!(
            "Augmentation: one training image of each look-alike and {draws} random draws"
        ),
    })
}

/// Writes `figures/06-augmentation.{svg,png}` from the training part of `data`.
pub fn augmentation_figure(
    data: &Dataset,
    train: &[usize],
    params: &AugmentParams,
    seed: u64,
) -> Result<Png> {
    let rows = augmentation_rows(data, train, &LOOK_ALIKES, params, AUGMENT_DRAWS, seed)?;
    plot::save(&rows, &paths::figure(AUGMENT_FIGURE))
}
