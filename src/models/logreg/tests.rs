//! Checks of the sparse solver's objective: its gradient against finite differences and the
//! dense evaluation, and its independence from the number of threads.

use ndarray::Array2;

use super::linfa::objective_and_gradient;
use super::sparse::{Multinomial, Rows};

/// A small problem: `n` rows of `d` features (0/1, or with other values when `binary` is
/// false), `k` classes.
fn problem(n: usize, d: usize, k: usize, binary: bool) -> (Array2<f32>, Vec<usize>) {
    let mut state = 12345u64;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as f64 / (1u64 << 31) as f64
    };
    let y: Vec<usize> = (0..n).map(|i| i % k).collect();
    let x = Array2::from_shape_fn((n, d), |(i, j)| {
        let on = next() < 0.2 + 0.5 * ((j % k == y[i]) as u8 as f64);
        match (on, binary) {
            (false, _) => 0.0,
            (true, true) => 1.0,
            (true, false) => 0.5 + next() as f32,
        }
    });
    (x, y)
}

fn theta(len: usize) -> Vec<f64> {
    (0..len)
        .map(|i| ((i * 37 % 11) as f64 - 5.0) * 0.1)
        .collect()
}

#[test]
fn gradient_matches_finite_differences_for_runs_and_values() {
    for binary in [true, false] {
        let (x, y) = problem(60, 12, 5, binary);
        let mut obj = Multinomial::new(x.view(), &y, 5, 0.7);
        assert_eq!(matches!(obj.rows, Rows::Runs { .. }), binary);
        let t = theta(13 * 5);
        let mut g = vec![0.0; t.len()];
        let f = obj.evaluate(&t, &mut g);
        // The dense reference of the same objective (f32 products, hence the tolerance).
        let params =
            Array2::from_shape_vec((13, 5), t.iter().map(|&v| v as f32).collect()).unwrap();
        let (f_dense, _, _) = objective_and_gradient(x.view(), &y, &params, 0.7);
        assert!((f - f_dense).abs() < 1e-5, "{f} vs {f_dense}");
        let mut scratch = vec![0.0; t.len()];
        for i in 0..t.len() {
            let h = 1e-6;
            let (mut up, mut down) = (t.clone(), t.clone());
            up[i] += h;
            down[i] -= h;
            let fd =
                (obj.evaluate(&up, &mut scratch) - obj.evaluate(&down, &mut scratch)) / (2.0 * h);
            assert!(
                (fd - g[i]).abs() < 1e-6,
                "binary {binary}, component {i}: {fd} vs {}",
                g[i]
            );
        }
    }
}

#[test]
fn objective_does_not_depend_on_the_number_of_threads() {
    let (x, y) = problem(5_000, 40, 7, true);
    let t = theta(41 * 7);
    let run = |threads| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut obj = Multinomial::new(x.view(), &y, 7, 1.0);
            let mut g = vec![0.0; t.len()];
            let f = obj.evaluate(&t, &mut g);
            (f, g)
        })
    };
    assert_eq!(run(1), run(3));
}
