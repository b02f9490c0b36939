//! Figures render to valid PNG and SVG with their text.

use charlab::plot::LearningCurves;
use charlab::plot::{render_png, render_svg};
use charlab::training::EpochRecord;

fn history(scale: f64) -> Vec<EpochRecord> {
    (1..=5)
        .map(|e| EpochRecord {
            epoch: e,
            train_loss: scale / e as f64,
            val_loss: scale / e as f64 + 0.1,
            val_accuracy: 0.8 + 0.02 * e as f64,
            seconds: 1.0,
            phases: None,
        })
        .collect()
}

#[test]
fn learning_curves_render_with_legends() {
    let fig = LearningCurves {
        runs: vec![
            ("CNN".into(), history(2.0)),
            ("EfficientNet-b0".into(), history(1.5)),
        ],
    };
    let png = render_png(&fig).unwrap();
    assert_eq!(&png.bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert!(png.bytes.len() > 20_000);
    let svg = render_svg(&fig).unwrap();
    for text in [
        "EfficientNet-b0",
        "CNN",
        "training (solid), validation (dashed)",
        "validation accuracy",
        "epoch",
    ] {
        assert!(svg.contains(text), "SVG lacks {text}");
    }
    // The kept checkpoint (lowest validation loss) is named in the legend.
    for h in [history(2.0), history(1.5)] {
        let best = h
            .iter()
            .min_by(|a, b| a.val_loss.total_cmp(&b.val_loss))
            .map(|r| r.epoch)
            .unwrap();
        assert!(
            svg.contains(&format!("(chosen epoch {best})")),
            "no chosen epoch {best}"
        );
    }
}

use charlab::data::{Dataset, Source, REPORT_CLASSES};
use charlab::metrics::confused_pairs;
use charlab::metrics::{ConfusionMatrix, TestResults};
use charlab::plot::ConfusionHeatmap;
use charlab::plot::{class_label, class_labels, text_color_on, viridis, PerClassBars};
use charlab::plot::{F1_AXIS, NO_TEST_IMAGES};
use charlab::sections::results::{self, ConfusedPairs, ModelOutcome};
use plotters::style::colors::{BLACK, WHITE};

#[test]
fn class_30_is_named_with_its_index_and_every_class_name_is_unique() {
    assert_eq!(class_label(&REPORT_CLASSES, 30), "N (30)");
    assert_eq!(class_label(&REPORT_CLASSES, 22), "N");
    assert_eq!(class_label(&REPORT_CLASSES, 3), "L");
    let labels = class_labels(&REPORT_CLASSES);
    let mut unique = labels.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), REPORT_CLASSES.len(), "{labels:?}");
    assert_eq!(charlab::plot::split_label("N (30)"), ("N", "(30)"));
    assert_eq!(charlab::plot::split_label("N"), ("N", ""));
}

/// A confusion matrix of `n` classes from `(truth, predicted, count)` cells.
fn matrix(n: usize, cells: &[(usize, usize, u64)]) -> ConfusionMatrix {
    let mut counts = vec![0u64; n * n];
    for &(t, p, c) in cells {
        counts[t * n + p] += c;
    }
    ConfusionMatrix::from_counts(n, counts).unwrap()
}

#[test]
fn a_confused_pair_is_counted_once_with_both_directions_summed() {
    // Classes: 0 'L', 1 '1', 2 '0', 3 'O', 4 'I'.
    let chars = ['L', '1', '0', 'O', 'I'];
    let cm = matrix(
        5,
        &[
            (0, 0, 100),
            (1, 1, 100),
            (2, 2, 10),
            (3, 3, 100),
            (4, 4, 20),
            (0, 1, 80), // L read as 1
            (1, 0, 58), // 1 read as L
            (2, 3, 52), // 0 read as O
            (4, 1, 29), // I read as 1
            (1, 4, 1),  // 1 read as I
        ],
    );
    let pairs = confused_pairs(&cm, &chars, 10);
    assert_eq!(pairs.len(), 3, "{pairs:?}");
    assert_eq!(pairs[0].count, 138);
    assert_eq!(pairs[0].classes, [(0, 'L'), (1, '1')]);
    let dirs: Vec<_> = pairs[0]
        .directions
        .iter()
        .map(|d| (d.truth.0, d.predicted.0, d.count))
        .collect();
    assert_eq!(dirs, vec![(0, 1, 80), (1, 0, 58)]);
    assert_eq!(pairs[1].count, 52);
    assert_eq!(pairs[1].directions.len(), 1);
    assert_eq!(pairs[2].count, 30);
    assert_eq!(pairs[2].classes, [(4, 'I'), (1, '1')]);
    // No unordered pair twice.
    let mut keys: Vec<(usize, usize)> = pairs
        .iter()
        .map(|p| {
            let (a, b) = (p.classes[0].0, p.classes[1].0);
            (a.min(b), a.max(b))
        })
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), pairs.len());
    assert_eq!(confused_pairs(&cm, &chars, 1).len(), 1);
}

#[test]
fn cell_numbers_contrast_with_their_cell() {
    assert_eq!(text_color_on(viridis(1.0)), BLACK);
    assert_eq!(text_color_on(viridis(0.8)), BLACK);
    assert_eq!(text_color_on(viridis(0.0)), WHITE);
    assert_eq!(text_color_on(viridis(0.2)), WHITE);
}

/// The text of every `<text>` element of `svg`, trimmed.
fn texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            let body = &t[t.find('>')? + 1..];
            Some(body[..body.find("</text>")?].trim().to_string())
        })
        .collect()
}

fn outcome(name: &str, cm: &ConfusionMatrix, data_hash: &str, preds: Vec<usize>) -> ModelOutcome {
    ModelOutcome {
        key: "efficientnet".into(),
        name: name.into(),
        results_file: "report/results/x.json".into(),
        data_hash: data_hash.into(),
        split_seed: 0,
        test: TestResults {
            accuracy: cm.accuracy(),
            macro_f1: cm.macro_f1(),
            per_class: cm.per_class(),
            confusion: cm.counts().to_vec(),
            predictions: preds,
        },
        validation_accuracy: None,
    }
}

#[test]
fn the_confusion_matrix_numbers_its_diagonal_and_marks_a_class_without_test_images() {
    let chars = ['N', 'M', 'N'];
    // Class 2, a second 'N', has no test image.
    let cm = matrix(
        3,
        &[(0, 0, 86), (0, 1, 13), (0, 2, 1), (1, 1, 47), (1, 0, 3)],
    );
    let fig = ConfusionHeatmap::new("m", &cm, &chars);
    // Character order: M, N, N (2).
    assert_eq!(fig.labels, vec!["M", "N", "N (2)"]);
    assert_eq!(fig.empty_rows, vec![false, false, true]);
    let texts = texts(&render_svg(&fig).unwrap());
    let has = |t: &str| texts.iter().any(|x| x == t);
    // Both diagonal cells and the off-diagonal ones of 2% or more carry their percentage.
    for text in ["86", "13", "94", "6", NO_TEST_IMAGES, "(2)"] {
        assert!(has(text), "SVG lacks {text}: {texts:?}");
    }
    assert!(!has("1"), "a 1% cell is numbered");
}

#[test]
fn f1_bars_run_to_100_and_tell_a_zero_from_an_absent_class() {
    let chars = ['0', 'O', 'N', 'N'];
    let bars = |values: Vec<f64>, absent: Vec<usize>| PerClassBars {
        title: "t".into(),
        classes: chars.to_vec(),
        series: vec![("Logistic regression".into(), values)],
        y_desc: F1_AXIS.into(),
        absent,
    };
    let with_zero = render_svg(&bars(vec![0.0, 0.9, 0.8, 0.0], vec![3])).unwrap();
    let t = texts(&with_zero);
    let has = |x: &str| t.iter().any(|y| y == x);
    assert!(has(NO_TEST_IMAGES));
    assert!(has("100") && !has("110") && !has("120"), "{t:?}");
    assert!(has(F1_AXIS));
    assert!(has("(3)"), "class 3 is not named N (3)");
    assert!(with_zero.contains("F1 of 0"));
    assert!(with_zero.contains("<circle"), "a zero F1 is not drawn");
    let no_zero = render_svg(&bars(vec![0.5, 0.9, 0.8, 0.0], vec![3])).unwrap();
    assert!(
        !no_zero.contains("<circle"),
        "an absent class is drawn as a zero"
    );
    assert!(!no_zero.contains("F1 of 0"));
}

#[test]
fn confused_pairs_figure_shows_each_pair_once_with_reference_images_of_the_class_read() {
    // 400 distinct 8x8 images (image i holds i in binary), classes 'L', '1', '0', 'O' in turn.
    let (n, side) = (400, 8);
    let mut images = vec![0u8; n * side * side];
    for i in 0..n {
        for b in 0..9 {
            images[i * side * side + b] = ((i >> b) & 1) as u8;
        }
    }
    let labels: Vec<usize> = (0..n).map(|i| i % 4).collect();
    let chars = vec!['L', '1', '0', 'O'];
    let data = Dataset::new(
        images,
        labels.clone(),
        side,
        side,
        chars,
        Source::Synthetic { n, seed: 0 },
    )
    .unwrap();
    let split = charlab::split::random_split(n, 0).unwrap();
    let mut seen = [0usize; 4];
    let preds: Vec<usize> = split
        .test
        .iter()
        .map(|&i| {
            let t = labels[i];
            seen[t] += 1;
            match t {
                0 if seen[0] <= 3 => 1, // L read as 1, three times
                1 if seen[1] <= 2 => 0, // 1 read as L, twice
                2 => 3,                 // every 0 read as O
                _ => t,
            }
        })
        .collect();
    let truth: Vec<usize> = split.test.iter().map(|&i| labels[i]).collect();
    let cm = ConfusionMatrix::new(&truth, &preds, 4).unwrap();
    let best = outcome("EfficientNet-b0", &cm, &data.content_hash(), preds);
    let summary = results::summarize(&data, std::slice::from_ref(&best), vec![], 4).unwrap();
    // Two directed entries for L/1, one pair.
    assert_eq!(summary.most_confused.len(), 3);
    assert_eq!(
        summary.confused_pairs.len(),
        2,
        "{:?}",
        summary.confused_pairs
    );
    let zero_o = seen[2] as u64;
    let first = &summary.confused_pairs[0];
    let second = &summary.confused_pairs[1];
    let (big, small) = if zero_o > 5 {
        (first, second)
    } else {
        (second, first)
    };
    assert_eq!(small.count, 5);
    assert_eq!(small.directions.len(), 2);
    assert_eq!(big.count, zero_o);

    let fig = ConfusedPairs::of(&data, &summary, &best, 5).unwrap();
    let class_of = |img: &Vec<u8>| {
        let i = (0..9).fold(0usize, |acc, b| acc | ((img[b] as usize) << b));
        labels[i]
    };
    for (pair, rows) in &fig.rows {
        assert_eq!(rows.len(), pair.directions.len());
        for row in rows {
            let (t, p) = (row.direction.truth.0, row.direction.predicted.0);
            assert!(!row.misread.is_empty());
            assert!(row.misread.iter().all(|img| class_of(img) == t));
            assert_eq!(row.reference.len(), 3);
            assert!(
                row.reference.iter().all(|img| class_of(img) == p),
                "a reference image of {p} is of another class"
            );
        }
    }
    let svg = render_svg(&fig).unwrap();
    for text in [
        "L read as 1",
        "1 read as L",
        "0 read as O",
        "the class they were read as",
    ] {
        assert!(svg.contains(text), "SVG lacks {text}");
    }
}
