//! The popcount kernel of [`SvmSolver::Popcount`](super::SvmSolver::Popcount): binary images
//! packed 64 pixels to a `u64`, Hamming distances by popcount, and the RBF kernel read from a
//! table of `exp(-gamma d)` (see the parent module's documentation).

use crate::{Error, Result};

/// The popcount kernel needs 0/1 pixels.
pub(super) fn check_binary(images: &[u8]) -> Result<()> {
    match images.iter().find(|&&v| v > 1) {
        Some(&v) => Err(Error::param(
            "images",
            format!("pixel value {v}: the SVM works on binary (0/1) images"),
        )),
        None => Ok(()),
    }
}

/// Packs rows of 0/1 bytes into u64 words, 64 pixels a word, rows padded with zeros.
pub(super) fn pack(images: &[u8], d: usize) -> Vec<u64> {
    let words = d.div_ceil(64);
    let n = images.len() / d;
    let mut out = vec![0u64; n * words];
    for (row, dst) in images.chunks_exact(d).zip(out.chunks_exact_mut(words)) {
        for (j, &v) in row.iter().enumerate() {
            if v != 0 {
                dst[j / 64] |= 1 << (j % 64);
            }
        }
    }
    out
}

/// The rows `rows` of the packed images `bits` (`words` per row), in that order.
pub(super) fn gather(bits: &[u64], words: usize, rows: &[usize]) -> Vec<u64> {
    rows.iter()
        .flat_map(|&r| bits[r * words..(r + 1) * words].iter().copied())
        .collect()
}

/// `exp(-gamma k)` for every distance `k` in `0..=d`: the kernel of two images `k` pixels apart.
pub(super) fn kernel_table(d: usize, gamma: f64) -> Vec<f32> {
    (0..=d).map(|k| (-gamma * k as f64).exp() as f32).collect()
}

/// Number of differing pixels of two packed images.
#[inline]
pub(super) fn hamming(a: &[u64], b: &[u64]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
}

/// Hamming distances between every row of `a` and every row of `b`, row-major `[na, nb]`.
pub(super) fn distance_block(a: &[u64], b: &[u64], words: usize) -> Vec<u16> {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("popcnt") {
            // SAFETY: the CPU has POPCNT (checked just above).
            return unsafe { distance_block_popcnt(a, b, words) };
        }
    }
    distance_block_generic(a, b, words)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
unsafe fn distance_block_popcnt(a: &[u64], b: &[u64], words: usize) -> Vec<u16> {
    distance_block_generic(a, b, words)
}

#[inline(always)]
fn distance_block_generic(a: &[u64], b: &[u64], words: usize) -> Vec<u16> {
    let nb = b.len() / words;
    let mut out = Vec::with_capacity(a.len() / words * nb);
    for ra in a.chunks_exact(words) {
        for rb in b.chunks_exact(words) {
            let mut s = 0u32;
            for (x, y) in ra.iter().zip(rb) {
                s += (x ^ y).count_ones();
            }
            out.push(s as u16);
        }
    }
    out
}

/// The dense kernel `[n, n]` (n = na + nb, class a first) of a pair from its distance blocks.
pub(super) fn pair_kernel(
    da: &[u16],
    db: &[u16],
    cross: &[u16],
    na: usize,
    nb: usize,
    table: &[f32],
) -> Vec<f32> {
    let n = na + nb;
    let mut k = vec![0f32; n * n];
    for i in 0..n {
        let row = &mut k[i * n..(i + 1) * n];
        if i < na {
            for (j, v) in row[..na].iter_mut().enumerate() {
                *v = table[da[i * na + j] as usize];
            }
            for (j, v) in row[na..].iter_mut().enumerate() {
                *v = table[cross[i * nb + j] as usize];
            }
        } else {
            let r = i - na;
            for (j, v) in row[..na].iter_mut().enumerate() {
                *v = table[cross[j * nb + r] as usize];
            }
            for (j, v) in row[na..].iter_mut().enumerate() {
                *v = table[db[r * nb + j] as usize];
            }
        }
    }
    k
}
