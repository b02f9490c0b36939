//! Whether a difference is more than noise: McNemar's exact test of two classifiers on the
//! same images, and the paired t-test of a difference measured at several seeds.

use serde::{Deserialize, Serialize};

use super::MeanStd;
use crate::{Error, Result};

/// McNemar's exact test of two classifiers on the same test images: the images only the first
/// reads right, those only the second does, and the two-sided p-value of that split under the
/// hypothesis that both err equally often (a binomial test with p = 1/2 on the discordant
/// images; 1 when there are none). The paired test for "is one model better on this test set":
/// unlike two separate confidence intervals it uses that both read the same images.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct McNemar {
    /// Test images the first classifier reads right and the second wrong.
    pub only_first: u64,
    /// Test images the second reads right and the first wrong.
    pub only_second: u64,
    /// Exact two-sided p-value.
    pub p_value: f64,
}

/// McNemar's exact test (see [`McNemar`]) of the predictions `first` and `second` of the
/// labels `truth`; an error when the three lengths differ.
///
/// ```
/// use charlab::metrics::mcnemar;
/// let t = mcnemar(&[0, 1, 1, 0], &[0, 1, 1, 0], &[1, 1, 0, 0]).unwrap();
/// assert_eq!((t.only_first, t.only_second), (2, 0));
/// assert!((t.p_value - 0.5).abs() < 1e-12);
/// ```
pub fn mcnemar(truth: &[usize], first: &[usize], second: &[usize]) -> Result<McNemar> {
    if first.len() != truth.len() || second.len() != truth.len() {
        return Err(Error::param(
            "predictions",
            format!(
                "{} and {} predictions for {} labels: both models must label the same images",
                first.len(),
                second.len(),
                truth.len()
            ),
        ));
    }
    let (mut b, mut c) = (0u64, 0u64);
    for ((&t, &x), &y) in truth.iter().zip(first).zip(second) {
        match (x == t, y == t) {
            (true, false) => b += 1,
            (false, true) => c += 1,
            _ => {}
        }
    }
    let n = b + c;
    let k = b.min(c);
    // P(X <= k) for X ~ Binomial(n, 1/2), summed in log space (n can be thousands).
    let mut log_c = 0.0f64; // ln C(n, i)
    let mut terms = Vec::with_capacity(k as usize + 1);
    for i in 0..=k {
        if i > 0 {
            log_c += ((n - i + 1) as f64).ln() - (i as f64).ln();
        }
        terms.push(log_c - n as f64 * std::f64::consts::LN_2);
    }
    let top = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let tail = top.exp() * terms.iter().map(|t| (t - top).exp()).sum::<f64>();
    Ok(McNemar {
        only_first: b,
        only_second: c,
        p_value: if n == 0 { 1.0 } else { (2.0 * tail).min(1.0) },
    })
}

/// A paired comparison over repeated runs (seeds, folds): the per-run differences, their
/// mean and sample standard deviation, and the two-sided p-value of Student's paired t-test
/// (`None` with fewer than two differences, or when they are all equal).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Paired {
    /// The differences, run by run.
    pub differences: Vec<f64>,
    /// Their mean.
    pub mean: f64,
    /// Their sample standard deviation (0 with one difference).
    pub std: f64,
    /// Two-sided p-value of the paired t-test (the mean against 0, `n - 1` degrees of freedom).
    pub t_test_p: Option<f64>,
}

impl Paired {
    /// Of `differences` (one per run).
    ///
    /// ```
    /// use charlab::metrics::Paired;
    /// let p = Paired::of(&[1.0, 2.0, 3.0]);
    /// assert!((p.mean - 2.0).abs() < 1e-12 && (p.std - 1.0).abs() < 1e-12);
    /// // t = 2 / (1 / sqrt 3) with 2 degrees of freedom: p = 1 - t / sqrt(t^2 + 2).
    /// let t = 2.0 * 3f64.sqrt();
    /// assert!((p.t_test_p.unwrap() - (1.0 - t / (t * t + 2.0).sqrt())).abs() < 1e-9);
    /// ```
    pub fn of(differences: &[f64]) -> Paired {
        let ms = MeanStd::of(differences);
        let t_test_p = (ms.n >= 2 && ms.std > 0.0).then(|| {
            let t = ms.mean / (ms.std / (ms.n as f64).sqrt());
            student_t_two_sided(t, (ms.n - 1) as f64)
        });
        Paired {
            differences: differences.to_vec(),
            mean: ms.mean,
            std: ms.std,
            t_test_p,
        }
    }
}

/// Two-sided p-value of Student's t statistic `t` with `df` degrees of freedom:
/// `I_{df / (df + t^2)}(df / 2, 1 / 2)`.
fn student_t_two_sided(t: f64, df: f64) -> f64 {
    regularized_beta(df / (df + t * t), df / 2.0, 0.5).clamp(0.0, 1.0)
}

/// `ln Gamma(x)` for `x > 0` (Lanczos, g = 7, 9 terms; about 15 digits).
fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    use std::f64::consts::PI;
    if x < 0.5 {
        return (PI / (PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + 7.5;
    let a = G
        .iter()
        .enumerate()
        .skip(1)
        .fold(G[0], |a, (i, g)| a + g / (x + i as f64));
    0.5 * (2.0 * PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// The regularised incomplete beta function `I_x(a, b)` (continued fraction, Lentz's method).
fn regularized_beta(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front =
        (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_fraction(x, a, b) / a
    } else {
        1.0 - front * beta_fraction(1.0 - x, b, a) / b
    }
}

fn beta_fraction(x: f64, a: f64, b: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let guard = |v: f64| if v.abs() < TINY { TINY } else { v };
    let mut c = 1.0;
    let mut d = 1.0 / guard(1.0 - (a + b) * x / (a + 1.0));
    let mut h = d;
    for m in 1..=300 {
        let m = f64::from(m);
        let even = m * (b - m) * x / ((a - 1.0 + 2.0 * m) * (a + 2.0 * m));
        d = 1.0 / guard(1.0 + even * d);
        c = guard(1.0 + even / c);
        h *= d * c;
        let odd = -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 1.0 + 2.0 * m));
        d = 1.0 / guard(1.0 + odd * d);
        c = guard(1.0 + odd / c);
        let step = d * c;
        h *= step;
        if (step - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_test_matches_closed_forms_and_tables() {
        use std::f64::consts::PI;
        for t in [0.1f64, 0.7, 1.0, 2.5, 12.0] {
            // 1 degree of freedom: Cauchy; 2: 1 - t / sqrt(t^2 + 2).
            let p1 = 1.0 - 2.0 / PI * t.atan();
            assert!(
                (student_t_two_sided(t, 1.0) - p1).abs() < 1e-10,
                "df 1, t {t}"
            );
            let p2 = 1.0 - t / (t * t + 2.0).sqrt();
            assert!(
                (student_t_two_sided(-t, 2.0) - p2).abs() < 1e-10,
                "df 2, t {t}"
            );
        }
        // Tables: t = 2.776 at 4 degrees of freedom and 2.228 at 10 are the 5% points.
        assert!((student_t_two_sided(2.776_445, 4.0) - 0.05).abs() < 1e-5);
        assert!((student_t_two_sided(2.228_139, 10.0) - 0.05).abs() < 1e-5);
        assert!((student_t_two_sided(0.0, 3.0) - 1.0).abs() < 1e-12);
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-12);
        assert_eq!(Paired::of(&[1.0]).t_test_p, None);
        assert_eq!(Paired::of(&[0.5, 0.5, 0.5]).t_test_p, None);
    }
}
