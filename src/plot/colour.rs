//! Colour maps for the figures (section 5's heatmap, section 6.2's grids) and the text colour
//! that reads on a cell.

use plotters::prelude::*;

/// A sequential colour map (viridis, 5 stops, linear in between), `v` in `[0, 1]`.
pub fn viridis(v: f64) -> RGBColor {
    const STOPS: [(f64, f64, f64); 5] = [
        (68.0, 1.0, 84.0),
        (59.0, 82.0, 139.0),
        (33.0, 145.0, 140.0),
        (94.0, 201.0, 98.0),
        (253.0, 231.0, 37.0),
    ];
    let v = if v.is_finite() {
        v.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x = v * (STOPS.len() - 1) as f64;
    let i = (x.floor() as usize).min(STOPS.len() - 2);
    let t = x - i as f64;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    let mix = |p: f64, q: f64| (p + (q - p) * t).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Black or white, whichever contrasts more with `background` (WCAG relative luminance).
pub fn text_color_on(background: RGBColor) -> RGBColor {
    let lin = |c: u8| {
        let c = c as f64 / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    let l = 0.2126 * lin(background.0) + 0.7152 * lin(background.1) + 0.0722 * lin(background.2);
    // Contrast with black (l + 0.05) / 0.05 beats contrast with white 1.05 / (l + 0.05)
    // above l = 0.179.
    if l > 0.179 {
        BLACK
    } else {
        WHITE
    }
}

/// Text anchored at its centre, both ways (labels inside cells).
pub fn centered() -> plotters::style::text_anchor::Pos {
    use plotters::style::text_anchor::{HPos, Pos, VPos};
    Pos::new(HPos::Center, VPos::Center)
}
