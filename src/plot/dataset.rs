//! Figures of a data set: its images per class (linear and log scale) and one sample per
//! class.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::data::Dataset;
use crate::plot::{self, Backend, DrawResult, Figure};

/// Bar charts of images per class, linear scale above and log scale below.
#[derive(Clone, Debug)]
pub struct ClassDistribution {
    /// Images per class.
    pub counts: Vec<usize>,
    /// Character of each class.
    pub chars: Vec<char>,
}

impl ClassDistribution {
    /// The distribution of `data`.
    ///
    /// ```
    /// use charlab::plot::{render_png, ClassDistribution};
    /// let data = charlab::data::DataSpec::Default { n: 200, seed: 0 }.load()?;
    /// let fig = ClassDistribution::of(&data);
    /// assert_eq!(fig.counts.iter().sum::<usize>(), 200);
    /// let png = render_png(&fig)?;
    /// # let _ = png;
    /// # Ok::<(), charlab::Error>(())
    /// ```
    pub fn of(data: &Dataset) -> Self {
        ClassDistribution {
            counts: data.class_counts(),
            chars: data.class_chars().to_vec(),
        }
    }
}

const BAR: RGBColor = RGBColor(49, 110, 175);

impl Figure for ClassDistribution {
    fn size(&self) -> (u32, u32) {
        (1400, 1000)
    }

    fn draw<DB: Backend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let k = self.counts.len();
        let max = self.counts.iter().copied().max().unwrap_or(1).max(1) as f64;
        let total: usize = self.counts.iter().sum();
        let root = root.titled(
            &format!("Images per class ({total} images, {k} classes)"),
            ("sans-serif", 30),
        )?;
        // A class whose character an earlier class has too (the report's class 30, a second
        // 'N'), said in words under the title.
        let repeated: Vec<String> = (0..k)
            .filter(|&c| {
                self.chars
                    .get(c)
                    .is_some_and(|ch| self.chars[..c].contains(ch))
            })
            .map(|c| {
                let n = self.counts[c];
                format!(
                    "{}: a second class of '{}' ({n} image{})",
                    plot::class_label(&self.chars, c),
                    self.chars[c],
                    if n == 1 { "" } else { "s" }
                )
            })
            .collect();
        let root = if repeated.is_empty() {
            root
        } else {
            root.draw(&Text::new(
                repeated.join("; "),
                (root.dim_in_pixel().0 as i32 / 2, 4),
                ("sans-serif", 18)
                    .into_font()
                    .color(&RGBColor(80, 80, 80))
                    .pos(Pos::new(HPos::Center, VPos::Top)),
            ))?;
            root.split_vertically(26).1
        };
        let (top, bottom) = root.split_vertically(root.dim_in_pixel().1 / 2);
        for (area, log) in [(top, false), (bottom, true)] {
            let caption = if log { "log scale" } else { "linear scale" };
            let mut builder = ChartBuilder::on(&area);
            builder
                .caption(caption, ("sans-serif", 20))
                .margin(10)
                .x_label_area_size(45)
                .y_label_area_size(75);
            let x_range = -0.5f64..(k as f64 - 0.5);
            // The two charts differ in their y coordinate type only: one mesh set-up for both.
            macro_rules! mesh {
                ($chart:expr, $y_desc:expr) => {
                    $chart
                        .configure_mesh()
                        .disable_x_mesh()
                        .light_line_style(RGBColor(235, 235, 235))
                        .x_labels(k)
                        .x_label_formatter(&|x| format!("{}", x.round() as i64))
                        .x_desc("class index")
                        .y_desc($y_desc)
                        .y_label_formatter(&|y| format!("{y:.0}"))
                        .label_style(("sans-serif", 15))
                        .axis_desc_style(("sans-serif", 18))
                        .draw()?
                };
            }
            if log {
                let mut chart =
                    builder.build_cartesian_2d(x_range, (0.7f64..max * 2.5).log_scale())?;
                mesh!(chart, "images (log)");
                self.bars(&mut chart, 0.7)?;
            } else {
                let mut chart = builder.build_cartesian_2d(x_range, 0f64..max * 1.12)?;
                mesh!(chart, "images");
                self.bars(&mut chart, 0.0)?;
            }
        }
        Ok(())
    }
}

impl ClassDistribution {
    fn bars<DB: Backend, Y>(
        &self,
        chart: &mut ChartContext<DB, Cartesian2d<plotters::coord::types::RangedCoordf64, Y>>,
        base: f64,
    ) -> DrawResult
    where
        Y: Ranged<ValueType = f64>,
    {
        chart.draw_series(self.counts.iter().enumerate().map(|(i, &c)| {
            let x = i as f64;
            Rectangle::new(
                [(x - 0.38, base), (x + 0.38, (c as f64).max(base))],
                BAR.filled(),
            )
        }))?;
        // The class's name above each bar ([`plot::class_label`]), its index, if it has one, on
        // a second line: `N` over `(30)`.
        let bottom = |size: u32| {
            ("sans-serif", size)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Center, VPos::Bottom))
        };
        let labels = plot::class_labels(&self.chars);
        chart.draw_series(self.counts.iter().zip(&labels).enumerate().map(
            |(i, (&c, label))| {
                let (first, second) = plot::split_label(label);
                let at = (i as f64, (c as f64).max(base));
                EmptyElement::at(at)
                    + Text::new(
                        first.to_string(),
                        (0, if second.is_empty() { 0 } else { -16 }),
                        bottom(16),
                    )
                    + Text::new(second.to_string(), (0, 0), bottom(14))
            },
        ))?;
        Ok(())
    }
}

/// One image per class in a grid, each labelled `index: character`.
#[derive(Clone, Debug)]
pub struct SampleGrid {
    /// `(class, character, image)`; `image` is `None` for a class without images.
    pub cells: Vec<(usize, char, Option<Vec<u8>>)>,
    /// Image height and width.
    pub shape: (usize, usize),
    /// Columns of the grid.
    pub columns: usize,
    /// Title.
    pub title: String,
}

impl SampleGrid {
    /// One randomly chosen image (seeded) of every class of `data`.
    ///
    /// ```
    /// use charlab::plot::SampleGrid;
    /// let data = charlab::data::DataSpec::Default { n: 200, seed: 0 }.load()?;
    /// let grid = SampleGrid::of(&data, 0);
    /// assert_eq!(grid.cells.len(), data.n_classes());
    /// # Ok::<(), charlab::Error>(())
    /// ```
    pub fn of(data: &Dataset, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let cells = data
            .indices_by_class()
            .iter()
            .enumerate()
            .map(|(c, members)| {
                let img = if members.is_empty() {
                    None
                } else {
                    Some(
                        data.image(members[rng.random_range(0..members.len())])
                            .to_vec(),
                    )
                };
                (c, data.class_chars()[c], img)
            })
            .collect();
        SampleGrid {
            cells,
            shape: (data.height(), data.width()),
            columns: 9,
            title: "One sample per class (class index: character)".into(),
        }
    }
}

impl Figure for SampleGrid {
    fn size(&self) -> (u32, u32) {
        let rows = self.cells.len().div_ceil(self.columns.max(1));
        (self.columns as u32 * 130, rows as u32 * 160 + 60)
    }

    fn draw<DB: Backend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let root = root.titled(&self.title, ("sans-serif", 26))?;
        let rows = self.cells.len().div_ceil(self.columns.max(1));
        let areas = root.split_evenly((rows, self.columns));
        for (area, (class, ch, img)) in areas.iter().zip(&self.cells) {
            let area = area.margin(4, 4, 8, 8);
            let area = area.titled(&format!("{class}: {ch}"), ("sans-serif", 20))?;
            match img {
                Some(img) => plot::draw_glyph(&area, img, self.shape.0, self.shape.1)?,
                None => {
                    area.draw(&Text::new("no image", (10, 40), ("sans-serif", 16)))?;
                }
            }
        }
        Ok(())
    }
}
