//! Splits: sizes, disjointness, determinism, stratification, the one-image class, k-fold, and
//! normalisation fitted on train only.

use std::collections::HashSet;

use charlab::data::synth::{self, SynthParams};
use charlab::data::REPORT_COUNTS;
use charlab::split::{self, Normalizer, Split};

/// Labels with the report's histogram (class 30 has one image), in a shuffled-looking order.
fn report_labels() -> Vec<usize> {
    let mut labels: Vec<usize> = REPORT_COUNTS
        .iter()
        .enumerate()
        .flat_map(|(c, &n)| std::iter::repeat_n(c, n))
        .collect();
    // Deterministic interleave so classes are not contiguous.
    labels.sort_by_key(|&l| (l * 7919) % 36);
    labels
}

fn assert_partition(split: &Split, n: usize) {
    let all: Vec<usize> = split
        .train
        .iter()
        .chain(&split.validation)
        .chain(&split.test)
        .copied()
        .collect();
    assert_eq!(all.len(), n);
    let set: HashSet<usize> = all.iter().copied().collect();
    assert_eq!(set.len(), n, "parts overlap");
    assert!(all.iter().all(|&i| i < n));
}

#[test]
fn random_split_has_the_report_sizes() {
    let s = split::random_split(30_134, 0).unwrap();
    assert_eq!(s.sizes(), (22_634, 2_500, 5_000));
    assert_partition(&s, 30_134);
    assert_eq!(split::report_sizes(30_134), (22_634, 2_500, 5_000));
}

#[test]
fn random_split_scales_and_is_deterministic() {
    let a = split::random_split(3_000, 42).unwrap();
    let b = split::random_split(3_000, 42).unwrap();
    let c = split::random_split(3_000, 43).unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_eq!(a.sizes(), (2_253, 249, 498));
    assert_partition(&a, 3_000);
}

#[test]
fn stratified_split_keeps_class_shares_and_the_lone_image_in_train() {
    let labels = report_labels();
    let s = split::stratified_split(&labels, 0).unwrap();
    assert_eq!(s.sizes(), (22_634, 2_500, 5_000));
    assert_partition(&s, labels.len());
    assert_eq!(s, split::stratified_split(&labels, 0).unwrap());
    // The one-image class 30 is in train.
    let lone = labels.iter().position(|&l| l == 30).unwrap();
    assert!(s.train.contains(&lone));
    // Every class's test share is within one image of its proportional share.
    for (c, &n) in REPORT_COUNTS.iter().enumerate() {
        let t = s.test.iter().filter(|&&i| labels[i] == c).count() as f64;
        let want = n as f64 * 5_000.0 / 30_134.0;
        assert!(
            (t - want).abs() <= 1.5,
            "class {c}: {t} test images, want ~{want:.1}"
        );
        let tr = s.train.iter().filter(|&&i| labels[i] == c).count();
        assert!(tr >= 1, "class {c} has no training image");
    }
}

#[test]
fn stratified_split_handles_tiny_classes() {
    // Classes of 1, 2 and 3 images among bigger ones.
    let mut labels = vec![0; 1];
    labels.extend(vec![1; 2]);
    labels.extend(vec![2; 3]);
    labels.extend(vec![3; 94]);
    let s = split::stratified_split_sizes(&labels, 10, 20, 1).unwrap();
    assert_eq!(s.sizes(), (70, 10, 20));
    assert_partition(&s, 100);
    assert!(s.train.contains(&0));
    assert!(s.train.iter().any(|&i| labels[i] == 1));
    assert!(s.train.iter().any(|&i| labels[i] == 2));
}

#[test]
fn impossible_sizes_are_errors() {
    assert!(split::random_split_sizes(10, 5, 5, 0).is_err());
    // 3 classes of one image each: one must stay in train, so 3 test images are impossible.
    assert!(split::stratified_split_sizes(&[0, 1, 2, 3, 3], 0, 3, 0).is_err());
}

#[test]
fn kfold_covers_every_image_once_and_is_stratified() {
    let labels = report_labels();
    let folds = split::stratified_kfold(&labels, 5, 0).unwrap();
    assert_eq!(folds.len(), 5);
    let mut seen = vec![0; labels.len()];
    for f in &folds {
        assert_eq!(f.train.len() + f.test.len(), labels.len());
        let test: HashSet<usize> = f.test.iter().copied().collect();
        assert!(f.train.iter().all(|i| !test.contains(i)));
        for &i in &f.test {
            seen[i] += 1;
        }
    }
    assert!(seen.iter().all(|&s| s == 1));
    let sizes: Vec<usize> = folds.iter().map(|f| f.test.len()).collect();
    assert!(
        sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1,
        "{sizes:?}"
    );
    // Each class is spread evenly: per-fold counts differ by at most one.
    for c in 0..36 {
        let per: Vec<usize> = folds
            .iter()
            .map(|f| f.test.iter().filter(|&&i| labels[i] == c).count())
            .collect();
        assert!(
            per.iter().max().unwrap() - per.iter().min().unwrap() <= 1,
            "class {c}: {per:?}"
        );
    }
    assert_eq!(folds, split::stratified_kfold(&labels, 5, 0).unwrap());
    assert!(split::stratified_kfold(&labels, 1, 0).is_err());
}

#[test]
fn normaliser_uses_train_only() {
    let data = synth::generate(&SynthParams::new(400, 3).unwrap()).unwrap();
    let s = split::random_split(data.len(), 0).unwrap();
    let norm = Normalizer::fit(&data, &s.train).unwrap();
    let ones: usize = s
        .train
        .iter()
        .map(|&i| data.image(i).iter().filter(|&&p| p == 1).count())
        .sum();
    let mean = ones as f64 / (s.train.len() * 3136) as f64;
    assert!((norm.mean as f64 - mean).abs() < 1e-6);
    assert!((norm.std as f64 - (mean * (1.0 - mean)).sqrt()).abs() < 1e-6);
    // Normalised training pixels have mean 0 and std 1.
    let x = norm.apply(&data, &s.train);
    let m = x.iter().map(|&v| v as f64).sum::<f64>() / x.len() as f64;
    let v = x.iter().map(|&v| (v as f64 - m).powi(2)).sum::<f64>() / x.len() as f64;
    assert!(
        m.abs() < 1e-4 && (v - 1.0).abs() < 1e-3,
        "mean {m}, var {v}"
    );
    // Fitting on another part gives other statistics.
    let other = Normalizer::fit(&data, &s.test).unwrap();
    assert_ne!(norm, other);
}

#[test]
fn tensors_have_the_right_shape() {
    let data = synth::generate(&SynthParams::new(100, 1).unwrap()).unwrap();
    let idx: Vec<usize> = (0..10).collect();
    let norm = Normalizer::fit(&data, &idx).unwrap();
    let (x, y) = norm
        .tensors(&data, &idx, charlab::tch::Device::Cpu)
        .unwrap();
    assert_eq!(x.size(), vec![10, 1, 56, 56]);
    assert_eq!(y.size(), vec![10]);
    assert_eq!(y.kind(), charlab::tch::Kind::Int64);
}
