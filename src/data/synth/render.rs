//! Turns a character's skeleton into one 56x56 binary image: stroke drift, warp, affine map,
//! pen width and framing, each drawn from the image's own random stream (see the parent
//! module's documentation).

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::skeletons::{variants, Pt};
use super::SynthParams;
use crate::data::IMAGE_SIDE;

/// A standard normal draw.
fn normal(rng: &mut ChaCha8Rng) -> f32 {
    // Box-Muller; rand's distributions crate is not needed for this.
    let u1: f32 = rng.random_range(f32::EPSILON..1.0);
    let u2: f32 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

/// Draws one glyph of character `ch` into `out` (`[56, 56]`, 0/1).
pub(super) fn render_glyph(ch: char, params: &SynthParams, rng: &mut ChaCha8Rng, out: &mut [u8]) {
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
    let scale = ((crate::data::emnist::GLYPH_SIDE as f32 - max_w) / span).max(1.0);
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
