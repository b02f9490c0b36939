//! The embedded default data set.

use charlab::data::synth::{self, class_counts, SynthParams};
use charlab::data::{DataSpec, REPORT_COUNTS};

#[test]
fn full_size_has_the_report_histogram() {
    let data = synth::generate(&SynthParams::new(30_134, 0).unwrap()).unwrap();
    assert_eq!(data.len(), 30_134);
    assert_eq!(data.class_counts(), REPORT_COUNTS.to_vec());
    assert_eq!(data.class_counts()[30], 1);
    assert_eq!((data.height(), data.width()), (56, 56));
    assert!(data.images().iter().all(|&p| p <= 1));
}

#[test]
fn same_seed_same_data_other_seed_other_data() {
    let a = synth::generate(&SynthParams::new(300, 5).unwrap()).unwrap();
    let b = synth::generate(&SynthParams::new(300, 5).unwrap()).unwrap();
    let c = synth::generate(&SynthParams::new(300, 6).unwrap()).unwrap();
    assert_eq!(a.content_hash(), b.content_hash());
    assert_ne!(a.content_hash(), c.content_hash());
}

#[test]
fn small_sizes_keep_every_class() {
    for n in [36, 100, 1_000, 6_000] {
        let counts = class_counts(n);
        assert_eq!(counts.iter().sum::<usize>(), n);
        assert!(counts.iter().all(|&c| c >= 1));
    }
    assert!(SynthParams::new(35, 0).is_err());
    assert!(SynthParams::new(100, 0).unwrap().distortion(5.0).is_err());
    assert!(SynthParams::new(100, 0)
        .unwrap()
        .pen_width(4.0, 2.0)
        .is_err());
}

#[test]
fn glyphs_are_framed_like_the_standin_and_vary() {
    let data = synth::generate(&SynthParams::new(2_000, 0).unwrap()).unwrap();
    let mut distinct = std::collections::HashSet::new();
    for i in 0..data.len() {
        let img = data.image(i);
        let ink = img.iter().filter(|&&p| p == 1).count();
        assert!(ink > 40 && ink < 2_200, "image {i} has {ink} ink pixels");
        let rows: Vec<usize> = (0..56)
            .filter(|r| img[r * 56..(r + 1) * 56].contains(&1))
            .collect();
        let cols: Vec<usize> = (0..56)
            .filter(|c| (0..56).any(|r| img[r * 56 + c] == 1))
            .collect();
        let span = (rows.last().unwrap() - rows[0] + 1).max(cols.last().unwrap() - cols[0] + 1);
        assert!((48..=56).contains(&span), "image {i}: longer side {span}");
        distinct.insert(img.to_vec());
    }
    assert_eq!(distinct.len(), data.len(), "duplicate images");
}

#[test]
fn default_spec_is_the_full_embedded_set() {
    assert_eq!(
        DataSpec::from_arg(None),
        DataSpec::Default { n: 30_134, seed: 0 }
    );
    assert_eq!(
        DataSpec::from_arg(Some("default")),
        DataSpec::from_arg(None)
    );
}
