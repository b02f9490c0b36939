//! Metrics against values computed once with scikit-learn (tests/fixtures/sklearn_metrics.json,
//! written by scripts/make_fixtures.py; the tests need no Python).

mod common;

use charlab::metrics::{self, ConfusionMatrix};

#[derive(serde::Deserialize)]
struct Reference {
    truth: Vec<usize>,
    pred: Vec<usize>,
    accuracy: f64,
    macro_f1: f64,
    precision: Vec<f64>,
    recall: Vec<f64>,
    f1: Vec<f64>,
    support: Vec<u64>,
    confusion: Vec<Vec<u64>>,
}

fn reference() -> Reference {
    let text = std::fs::read_to_string(common::fixture("sklearn_metrics.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn matches_scikit_learn() {
    let r = reference();
    let cm = ConfusionMatrix::new(&r.truth, &r.pred, 36).unwrap();
    assert!((cm.accuracy() - r.accuracy).abs() < 1e-12);
    assert!(
        (cm.macro_f1() - r.macro_f1).abs() < 1e-12,
        "macro F1 {} vs scikit-learn {}",
        cm.macro_f1(),
        r.macro_f1
    );
    for (c, m) in cm.per_class().iter().enumerate() {
        assert!(
            (m.precision - r.precision[c]).abs() < 1e-12,
            "precision {c}"
        );
        assert!((m.recall - r.recall[c]).abs() < 1e-12, "recall {c}");
        assert!((m.f1 - r.f1[c]).abs() < 1e-12, "f1 {c}");
        assert_eq!(m.support, r.support[c], "support {c}");
    }
    for t in 0..36 {
        for p in 0..36 {
            assert_eq!(cm.get(t, p), r.confusion[t][p], "cell ({t}, {p})");
        }
    }
    assert!((metrics::accuracy(&r.truth, &r.pred).unwrap() - r.accuracy).abs() < 1e-12);
    assert!((metrics::macro_f1(&r.truth, &r.pred).unwrap() - r.macro_f1).abs() < 1e-12);
}

#[test]
fn normalized_rows_sum_to_one_and_pairs_are_ranked() {
    let r = reference();
    let cm = ConfusionMatrix::new(&r.truth, &r.pred, 36).unwrap();
    let norm = cm.normalized();
    for t in 0..36 {
        let s: f64 = norm[t * 36..(t + 1) * 36].iter().sum();
        if r.support[t] > 0 {
            assert!((s - 1.0).abs() < 1e-9, "row {t} sums to {s}");
        } else {
            assert_eq!(s, 0.0);
        }
    }
    let top = cm.most_confused(5);
    assert_eq!(top.len(), 5);
    assert!(top.windows(2).all(|w| w[0].count >= w[1].count));
    assert!(top.iter().all(|c| c.truth != c.predicted));
    // The largest off-diagonal cell of scikit-learn's matrix comes first.
    let max = (0..36)
        .flat_map(|t| (0..36).map(move |p| (t, p)))
        .filter(|(t, p)| t != p)
        .map(|(t, p)| r.confusion[t][p])
        .max()
        .unwrap();
    assert_eq!(top[0].count, max);
}

#[test]
fn mcnemar_is_the_exact_binomial_test_on_the_discordant_images() {
    use charlab::metrics::mcnemar;
    // 10 images only the first reads right, 2 only the second, 5 both, 3 neither.
    let mut truth = Vec::new();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for (n, ra, rb) in [
        (10, true, false),
        (2, false, true),
        (5, true, true),
        (3, false, false),
    ] {
        for _ in 0..n {
            truth.push(0);
            a.push(if ra { 0 } else { 1 });
            b.push(if rb { 0 } else { 2 });
        }
    }
    let t = mcnemar(&truth, &a, &b).unwrap();
    assert_eq!((t.only_first, t.only_second), (10, 2));
    // 2 * P(X <= 2), X ~ Binomial(12, 1/2) = 2 * (1 + 12 + 66) / 4096.
    assert!((t.p_value - 158.0 / 4096.0).abs() < 1e-12, "{}", t.p_value);
    // Symmetric, at most 1, and 1 when the models never disagree on correctness.
    assert_eq!(mcnemar(&truth, &b, &a).unwrap().p_value, t.p_value);
    assert_eq!(mcnemar(&truth, &a, &a).unwrap().p_value, 1.0);
    // Thousands of discordant images stay finite.
    let n = 6000;
    let (t2, x, y) = (
        vec![0; n],
        (0..n).map(|i| usize::from(i % 3 == 0)).collect::<Vec<_>>(),
        vec![0; n],
    );
    let big = mcnemar(&t2, &x, &y).unwrap();
    assert!(
        big.p_value.is_finite() && big.p_value < 1e-100,
        "{}",
        big.p_value
    );
    assert!(mcnemar(&truth, &a[..3], &b).is_err());
}
