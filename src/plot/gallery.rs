//! A gallery of binary images, each with two caption lines (e.g. section 5's top losses:
//! the true and the predicted class, then how sure the model was).

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{centered, class_labels, draw_glyph, draw_title, Backend, DrawResult, Figure};
use crate::data::Dataset;
use crate::inference::TopLoss;
use crate::{Error, Result};

/// Images in rows of `columns`, a title and a subtitle above, two caption lines under each.
///
/// Drawn size: `columns * 200` pixels wide, 230 pixels a row plus 90 for the titles.
#[derive(Clone, Debug)]
pub struct Gallery {
    /// Title over the figure.
    pub title: String,
    /// A grey line under the title (empty: none).
    pub subtitle: String,
    /// The images, `[height * width]` of 0/1 each, with their two caption lines.
    pub items: Vec<(Vec<u8>, String, String)>,
    /// Image height and width.
    pub shape: (usize, usize),
    /// Images per row (>= 1).
    pub columns: usize,
}

impl Gallery {
    /// `model`'s top losses ([`crate::inference::top_losses`] of its logits on the images
    /// `scored` of `data`, in that order), eight a row: each image with its true class, the
    /// class it was read as, and the probabilities of both.
    pub fn top_losses(
        model: &str,
        data: &Dataset,
        scored: &[usize],
        top: &[TopLoss],
    ) -> Result<Gallery> {
        let labels = class_labels(data.class_chars());
        let label = |c: usize| labels.get(c).cloned().unwrap_or_else(|| c.to_string());
        let items = top
            .iter()
            .map(|t| {
                let image = scored
                    .get(t.position)
                    .map(|&i| data.image(i).to_vec())
                    .ok_or_else(|| {
                        Error::param(
                            "top",
                            format!(
                                "position {} past the {} scored images",
                                t.position,
                                scored.len()
                            ),
                        )
                    })?;
                Ok((
                    image,
                    format!("'{}' read as '{}'", label(t.truth), label(t.predicted)),
                    format!(
                        "p {:.2} vs {:.2}, loss {:.1}",
                        t.p_predicted, t.p_truth, t.loss
                    ),
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Gallery {
            title: format!("{model}: the test images it is most confidently wrong about"),
            subtitle: "true class read as predicted class; the probability given to the \
                       predicted class vs the true one, and the loss -ln p(true)"
                .into(),
            items,
            shape: (data.height(), data.width()),
            columns: 8,
        })
    }
}

const CELL_W: i32 = 200;
const CELL_H: i32 = 230;
const TOP: i32 = 90;

impl Figure for Gallery {
    fn size(&self) -> (u32, u32) {
        let cols = self.columns.max(1);
        let rows = self.items.len().div_ceil(cols).max(1);
        (
            (CELL_W * cols as i32) as u32,
            (TOP + CELL_H * rows as i32) as u32,
        )
    }

    fn draw<DB: Backend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let grey = RGBColor(90, 90, 90);
        let width = root.dim_in_pixel().0 as i32;
        draw_title(root, &self.title, 26, 26)?;
        if !self.subtitle.is_empty() {
            root.draw(&Text::new(
                self.subtitle.clone(),
                (width / 2, 60),
                ("sans-serif", 18).into_font().color(&grey).pos(centered()),
            ))?;
        }
        let cols = self.columns.max(1);
        for (k, (image, first, second)) in self.items.iter().enumerate() {
            let (x, y) = (CELL_W * (k % cols) as i32, TOP + CELL_H * (k / cols) as i32);
            let area = root.clone().shrink(
                (x + 30, y + 4),
                ((CELL_W - 60) as u32, (CELL_W - 60) as u32),
            );
            draw_glyph(&area, image, self.shape.0, self.shape.1)?;
            root.draw(&Text::new(
                first.clone(),
                (x + CELL_W / 2, y + CELL_W - 36),
                ("sans-serif", 19).into_text_style(root).pos(centered()),
            ))?;
            root.draw(&Text::new(
                second.clone(),
                (x + CELL_W / 2, y + CELL_W - 12),
                ("sans-serif", 16).into_font().color(&grey).pos(centered()),
            ))?;
        }
        Ok(())
    }
}
