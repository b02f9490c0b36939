//! Section 5's confused-pairs figure: the best model's most confused pairs of classes, with
//! the misread test images beside reference images of the class they were read as.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::data::Dataset;
use crate::metrics::ConfusionMatrix;
use crate::plot::{self, Backend, DrawResult, Figure};
use crate::split::random_split;
use crate::{Error, Result};

use super::*;
use crate::plot::centered;

/// One direction of a confused pair in [`ConfusedPairs`]: test images of the true class that
/// the model read as the other, and reference images of the class they were read as.
#[derive(Clone, Debug)]
pub struct MisreadRow {
    /// The direction: true class, the class it was read as, images, rate.
    pub direction: ConfusedPair,
    /// Test images of `direction.truth` read as `direction.predicted` (`[height * width]` 0/1).
    pub misread: Vec<Vec<u8>>,
    /// Images of `direction.predicted`: test images the model read correctly, then (when
    /// there are too few) images of the class from the rest of the data.
    pub reference: Vec<Vec<u8>>,
}

/// The most confused pairs of classes, each pair counted once (both directions summed): per
/// pair a header with the total, then one row per direction with the misread test images
/// beside reference images of the class they were read as, as the original report showed
/// both classes side by side.
#[derive(Clone, Debug)]
pub struct ConfusedPairs {
    /// Title over the figure.
    pub title: String,
    /// Each pair with one [`MisreadRow`] per direction.
    pub rows: Vec<(ConfusedClasses, Vec<MisreadRow>)>,
    /// Name of every class by index ([`plot::class_label`]).
    pub labels: Vec<String>,
    /// Image height and width.
    pub shape: (usize, usize),
    /// Misread images per direction at most.
    pub per_row: usize,
    /// Reference images per direction at most.
    pub references: usize,
}

impl ConfusedPairs {
    /// Reference images per direction drawn by [`ConfusedPairs::of`].
    pub(crate) const REFERENCES: usize = 3;

    /// The confused pairs of `summary` (or, for a summary written before they were recorded,
    /// of the best model's confusion matrix) with up to `per_row` misread test images per
    /// direction and `Self::REFERENCES` reference images, from `data` and the best model's
    /// test predictions.
    pub fn of(
        data: &Dataset,
        summary: &ResultsSummary,
        best: &ModelOutcome,
        per_row: usize,
    ) -> Result<Self> {
        let split = random_split(data.len(), best.split_seed)?;
        if best.test.predictions.len() != split.test.len() {
            let command = crate::sections::SECTIONS
                .iter()
                .find(|s| best.results_file.ends_with(&format!("{}.json", s.id)))
                .map_or("charlab reproduce", |s| s.command);
            return Err(Error::results(
                &best.results_file,
                format!(
                    "holds {} test predictions for {} test images (written before they were \
                     recorded); rerun its section to record them",
                    best.test.predictions.len(),
                    split.test.len()
                ),
                command,
            ));
        }
        let chars = data.class_chars();
        let pairs = if summary.confused_pairs.is_empty() {
            let cm = ConfusionMatrix::from_counts(chars.len(), best.test.confusion.clone())?;
            confused_pairs(&cm, chars, summary.most_confused.len())
        } else {
            summary.confused_pairs.clone()
        };
        let labels = data.labels();
        let test = || {
            split
                .test
                .iter()
                .copied()
                .zip(best.test.predictions.iter().copied())
        };
        let references = Self::REFERENCES;
        let rows = pairs
            .into_iter()
            .map(|pair| {
                let directions = pair
                    .directions
                    .iter()
                    .map(|d| {
                        let (t, p) = (d.truth.0, d.predicted.0);
                        let misread = test()
                            .filter(|&(i, q)| labels[i] == t && q == p)
                            .take(per_row)
                            .map(|(i, _)| data.image(i).to_vec())
                            .collect();
                        let read_right = test().filter(|&(i, q)| labels[i] == p && q == p);
                        let elsewhere = split
                            .train_and_validation()
                            .into_iter()
                            .filter(|&i| labels[i] == p)
                            .map(|i| (i, p));
                        let reference = read_right
                            .chain(elsewhere)
                            .take(references)
                            .map(|(i, _)| data.image(i).to_vec())
                            .collect();
                        MisreadRow {
                            direction: d.clone(),
                            misread,
                            reference,
                        }
                    })
                    .collect();
                (pair, directions)
            })
            .collect();
        Ok(ConfusedPairs {
            title: format!(
                "{}: the most confused pairs of classes on the test set",
                best.name
            ),
            rows,
            labels: plot::class_labels(chars),
            shape: (data.height(), data.width()),
            per_row,
            references,
        })
    }

    fn label(&self, class: usize) -> String {
        self.labels
            .get(class)
            .cloned()
            .unwrap_or_else(|| class.to_string())
    }
}

const PAIRS_LABEL_W: i32 = 330;
const PAIRS_CELL: i32 = 112;
const PAIRS_GAP: i32 = 80;
const PAIRS_HEADER_H: i32 = 40;
const PAIRS_ROW_H: i32 = 120;
const PAIRS_TOP: i32 = 112;

impl Figure for ConfusedPairs {
    fn size(&self) -> (u32, u32) {
        let rows: i32 = self
            .rows
            .iter()
            .map(|(_, d)| PAIRS_HEADER_H + PAIRS_ROW_H * d.len() as i32)
            .sum();
        let w =
            PAIRS_LABEL_W + PAIRS_CELL * (self.per_row + self.references) as i32 + PAIRS_GAP + 16;
        (
            w.max(900) as u32,
            (PAIRS_TOP + rows.max(PAIRS_ROW_H) + 10) as u32,
        )
    }

    fn draw<DB: Backend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let grey = RGBColor(90, 90, 90);
        let rule = RGBColor(190, 190, 190);
        let width = root.dim_in_pixel().0 as i32;
        let refs_x = PAIRS_LABEL_W + PAIRS_CELL * self.per_row as i32 + PAIRS_GAP;
        root.draw(&Text::new(
            self.title.clone(),
            (width / 2, 22),
            ("sans-serif", 26).into_text_style(root).pos(centered()),
        ))?;
        root.draw(&Text::new(
            "each pair counted once: its images misread in either direction, summed",
            (width / 2, 52),
            ("sans-serif", 18).into_font().color(&grey).pos(centered()),
        ))?;
        let head = ("sans-serif", 17).into_font().color(&grey);
        root.draw(&Text::new(
            "misread test images",
            (PAIRS_LABEL_W + 6, 90),
            head.clone(),
        ))?;
        root.draw(&Text::new(
            "the class they were read as",
            (refs_x + 6, 80),
            head.clone(),
        ))?;
        root.draw(&Text::new(
            "(test images the model read correctly)",
            (refs_x + 6, 99),
            head.clone(),
        ))?;
        let mut y = PAIRS_TOP;
        for (pair, directions) in &self.rows {
            let (a, b) = (self.label(pair.classes[0].0), self.label(pair.classes[1].0));
            root.draw(&PathElement::new(
                vec![(10, y + 2), (width - 10, y + 2)],
                rule.stroke_width(1),
            ))?;
            let header = match directions.as_slice() {
                [only] => format!(
                    "{a} and {b}: {} test image{} confused, all {} read as {}",
                    pair.count,
                    if pair.count == 1 { "" } else { "s" },
                    self.label(only.direction.truth.0),
                    self.label(only.direction.predicted.0)
                ),
                _ => format!(
                    "{a} and {b}: {} test images confused in either direction",
                    pair.count
                ),
            };
            root.draw(&Text::new(
                header,
                (12, y + 12),
                ("sans-serif", 21).into_font(),
            ))?;
            y += PAIRS_HEADER_H;
            for d in directions {
                let dir = &d.direction;
                let (t, p) = (self.label(dir.truth.0), self.label(dir.predicted.0));
                root.draw(&Text::new(
                    format!("{t} read as {p}"),
                    (28, y + PAIRS_ROW_H / 2 - 24),
                    ("sans-serif", 21).into_font(),
                ))?;
                root.draw(&Text::new(
                    format!(
                        "{} image{}, {:.1}% of the test images of '{t}'",
                        dir.count,
                        if dir.count == 1 { "" } else { "s" },
                        100.0 * dir.rate
                    ),
                    (28, y + PAIRS_ROW_H / 2 + 6),
                    ("sans-serif", 16).into_font().color(&grey),
                ))?;
                let cell = |x: i32| {
                    root.clone().shrink(
                        (x + 5, y + 4),
                        ((PAIRS_CELL - 10) as u32, (PAIRS_ROW_H - 8) as u32),
                    )
                };
                for (k, img) in d.misread.iter().enumerate() {
                    let area = cell(PAIRS_LABEL_W + PAIRS_CELL * k as i32);
                    plot::draw_glyph(&area, img, self.shape.0, self.shape.1)?;
                }
                // The reference images, behind a faint rule and led by their class's name.
                root.draw(&PathElement::new(
                    vec![
                        (refs_x - PAIRS_GAP + 4, y + 8),
                        (refs_x - PAIRS_GAP + 4, y + PAIRS_ROW_H - 8),
                    ],
                    rule.stroke_width(1),
                ))?;
                root.draw(&Text::new(
                    p.clone(),
                    (refs_x - PAIRS_GAP / 2, y + PAIRS_ROW_H / 2),
                    ("sans-serif", 24).into_text_style(root).pos(centered()),
                ))?;
                for (k, img) in d.reference.iter().enumerate() {
                    let area = cell(refs_x + PAIRS_CELL * k as i32);
                    plot::draw_glyph(&area, img, self.shape.0, self.shape.1)?;
                }
                y += PAIRS_ROW_H;
            }
        }
        Ok(())
    }
}
