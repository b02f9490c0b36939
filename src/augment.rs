//! Seeded, on-the-fly augmentation of character images: small rotation, scale, shear, shift
//! and elastic distortion, never flips (a flipped 'S' or 'Z' is another glyph).
//!
//! Every random number comes from a ChaCha generator seeded with `(seed, epoch, batch)`, so a
//! batch is augmented the same way whichever thread prepares it, and a resumed run replays the
//! same images. The transform resamples the binary image bilinearly and binarises it again at
//! one half, so the network sees the same kind of pixels as in the test images.
//!
//! [`Prefetcher`] prepares the batches of an epoch on a second thread (index, augment, and
//! hand over through a bounded channel) while the training thread runs the network.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

use crate::{Error, Result};

/// Ranges of the random transforms (serialisable; saved in a run's `config.json`).
///
/// Defaults: rotation up to 10 degrees either way, scale 0.9 to 1.1, shear up to 0.15,
/// shift up to 3 pixels, elastic distortion of 1.5 pixels on a 4x4 control grid, every image
/// augmented (`probability` 1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AugmentParams {
    /// Largest rotation, degrees, in `[0, 45]`.
    pub rotation_deg: f64,
    /// Largest relative change of scale, in `[0, 0.5)`: the scale is drawn in `1 +- scale`.
    pub scale: f64,
    /// Largest horizontal shear (x shifted by `shear * y`), in `[0, 1]`.
    pub shear: f64,
    /// Largest shift, pixels, in `[0, side / 4]`.
    pub shift_px: f64,
    /// Standard deviation of the elastic displacement at each control point, pixels (`>= 0`;
    /// 0 turns it off).
    pub elastic_px: f64,
    /// Control points per side of the elastic displacement grid (2 to 16).
    pub elastic_grid: i64,
    /// Probability that an image is augmented at all, in `[0, 1]`.
    pub probability: f64,
}

impl Default for AugmentParams {
    fn default() -> Self {
        AugmentParams {
            rotation_deg: 10.0,
            scale: 0.1,
            shear: 0.15,
            shift_px: 3.0,
            elastic_px: 1.5,
            elastic_grid: 4,
            probability: 1.0,
        }
    }
}

impl AugmentParams {
    /// Checks every range; the error names the field and its allowed values.
    pub fn check(&self) -> Result<()> {
        let bad = |field: &'static str, allowed: &str, v: f64| {
            Err(Error::param(
                field,
                format!("{v} is outside {allowed} (augmentation)"),
            ))
        };
        if !(0.0..=45.0).contains(&self.rotation_deg) {
            return bad("rotation_deg", "[0, 45]", self.rotation_deg);
        }
        if !(0.0..0.5).contains(&self.scale) {
            return bad("scale", "[0, 0.5)", self.scale);
        }
        if !(0.0..=1.0).contains(&self.shear) {
            return bad("shear", "[0, 1]", self.shear);
        }
        if !(0.0..=14.0).contains(&self.shift_px) {
            return bad("shift_px", "[0, 14]", self.shift_px);
        }
        if !(0.0..=10.0).contains(&self.elastic_px) {
            return bad("elastic_px", "[0, 10]", self.elastic_px);
        }
        if !(2..=16).contains(&self.elastic_grid) {
            return bad("elastic_grid", "2..=16", self.elastic_grid as f64);
        }
        if !(0.0..=1.0).contains(&self.probability) {
            return bad("probability", "[0, 1]", self.probability);
        }
        Ok(())
    }
}

/// The generator of batch `batch` of epoch `epoch` (independent of the thread that uses it).
fn batch_rng(seed: u64, epoch: usize, batch: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6175_676d_656e_7421);
    rng.set_stream(((epoch as u64) << 32) | batch as u64);
    rng
}

/// Augments `x` (`[n, 1, h, w]` float, normalised so that background is `background` and ink
/// is `ink`) with draws from `(seed, epoch, batch)`; returns a tensor of the same shape, on
/// the same device, still binary (`background` or `ink`).
pub fn augment(
    x: &Tensor,
    params: &AugmentParams,
    (background, ink): (f64, f64),
    seed: u64,
    epoch: usize,
    batch: usize,
) -> Result<Tensor> {
    let size = x.size();
    let [n, c, h, w] = size[..] else {
        return Err(Error::param(
            "images",
            format!("augmentation needs [n, 1, h, w] images, got {size:?}"),
        ));
    };
    if n == 0 {
        return Ok(x.shallow_clone());
    }
    let mut rng = batch_rng(seed, epoch, batch);
    let mut theta = Vec::with_capacity(n as usize * 6);
    let g = params.elastic_grid;
    let mut flow = Vec::with_capacity((n * 2 * g * g) as usize);
    let normal = |rng: &mut ChaCha8Rng| -> f64 {
        // Box-Muller: one standard normal draw.
        let u1: f64 = rng.random::<f64>().max(1e-12);
        let u2: f64 = rng.random();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    };
    for _ in 0..n {
        let on = rng.random::<f64>() < params.probability;
        let r = (rng.random::<f64>() * 2.0 - 1.0) * params.rotation_deg.to_radians();
        let s = 1.0 + (rng.random::<f64>() * 2.0 - 1.0) * params.scale;
        let sh = (rng.random::<f64>() * 2.0 - 1.0) * params.shear;
        // Normalised coordinates run from -1 to 1 over the side: a pixel is 2 / side.
        let tx = (rng.random::<f64>() * 2.0 - 1.0) * params.shift_px * 2.0 / w as f64;
        let ty = (rng.random::<f64>() * 2.0 - 1.0) * params.shift_px * 2.0 / h as f64;
        let mut e = Vec::with_capacity((2 * g * g) as usize);
        for axis in 0..2 {
            let side = if axis == 0 { w } else { h } as f64;
            for _ in 0..g * g {
                e.push(normal(&mut rng) * params.elastic_px * 2.0 / side);
            }
        }
        if on {
            // Output -> input coordinates: scale and rotate, then shear x by y, then shift.
            let (cr, sr) = (r.cos() / s, r.sin() / s);
            theta.extend_from_slice(&[cr, -sr + sh * cr, tx, sr, cr + sh * sr, ty]);
            flow.extend(e);
        } else {
            theta.extend_from_slice(&[1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
            flow.extend(std::iter::repeat_n(0.0, (2 * g * g) as usize));
        }
    }
    let device = x.device();
    let out = tch::no_grad(|| -> Result<Tensor> {
        let theta = Tensor::f_from_slice(&theta)?
            .f_view([n, 2, 3])?
            .f_to_kind(Kind::Float)?
            .f_to_device(device)?;
        let mut grid = Tensor::f_affine_grid_generator(&theta, [n, c, h, w], false)?;
        if params.elastic_px > 0.0 {
            let flow = Tensor::f_from_slice(&flow)?
                .f_view([n, 2, g, g])?
                .f_to_kind(Kind::Float)?
                .f_to_device(device)?
                .f_upsample_bicubic2d([h, w], true, None, None)?
                .f_permute([0, 2, 3, 1])?;
            grid = grid.f_add(&flow)?;
        }
        // In ink units (0 background, 1 ink) so that zero padding is background.
        let unit = (x - background) / (ink - background);
        let warped = unit.f_grid_sampler(&grid, 0, 0, false)?;
        let binary = warped.f_gt(0.5)?.f_to_kind(Kind::Float)?;
        Ok(binary * (ink - background) + background)
    })?;
    Ok(out)
}

/// A batch handed over by [`Prefetcher`]: images `[b, 1, h, w]` and labels `[b]`.
pub type Batch = (Tensor, Tensor);

/// Prepares the batches of one epoch on a background thread: each batch's images are picked
/// from `x` by index and, with augmentation, transformed; at most `depth` batches wait. The
/// thread runs libtorch single-threaded, so that it does not compete with the training's
/// threads for the cores.
pub struct Prefetcher {
    rx: std::sync::mpsc::Receiver<Result<Batch>>,
    handle: Option<std::thread::JoinHandle<()>>,
}

/// What [`Prefetcher::start`] needs about the images.
pub struct PrefetchSource {
    /// `[n, 1, h, w]` normalised images.
    pub x: Tensor,
    /// `[n]` labels.
    pub y: Tensor,
    /// Normalised values of background and ink.
    pub levels: (f64, f64),
}

impl Prefetcher {
    /// Starts the thread for the batches `order.chunks(batch_size)` of `epoch`.
    pub fn start(
        source: PrefetchSource,
        order: Vec<i64>,
        batch_size: usize,
        augment: Option<AugmentParams>,
        seed: u64,
        epoch: usize,
        depth: usize,
    ) -> Prefetcher {
        let (tx, rx) = std::sync::mpsc::sync_channel(depth.max(1));
        let handle = std::thread::spawn(move || {
            // One thread for this thread's libtorch work. Left at libtorch's default, its
            // first operation starts a second OpenMP team as large as the training's on the
            // same cores, and the two fight: EfficientNet-b0's stand-in epoch on 2 cores took
            // 63-67 s instead of 47-48 s (bisected to the commit that added this thread; see
            // docs/benchmarks.md). This sets the count for this thread's team and libtorch's
            // default for threads that start later; the training thread keeps its own.
            tch::set_num_threads(1);
            let device = source.x.device();
            for (b, chunk) in order.chunks(batch_size.max(1)).enumerate() {
                let batch = (|| -> Result<Batch> {
                    let idx = Tensor::f_from_slice(chunk)?.f_to_device(device)?;
                    let xb = source.x.f_index_select(0, &idx)?;
                    let yb = source.y.f_index_select(0, &idx)?;
                    let xb = match &augment {
                        Some(p) => self::augment(&xb, p, source.levels, seed, epoch, b)?,
                        None => xb,
                    };
                    Ok((xb, yb))
                })();
                let failed = batch.is_err();
                if tx.send(batch).is_err() || failed {
                    return;
                }
            }
        });
        Prefetcher {
            rx,
            handle: Some(handle),
        }
    }

    /// The next batch, `None` after the last one.
    pub fn next_batch(&mut self) -> Option<Result<Batch>> {
        self.rx.recv().ok()
    }
}

impl Drop for Prefetcher {
    fn drop(&mut self) {
        // Unblock the thread (its sends fail once the receiver is gone), then wait for it.
        let (_, dead) = std::sync::mpsc::sync_channel(1);
        let rx = std::mem::replace(&mut self.rx, dead);
        drop(rx);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
