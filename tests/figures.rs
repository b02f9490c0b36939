//! Figures render to valid PNG and SVG with their text.

use charlab::plot::{render_png, render_svg};
use charlab::sections::learning_curves::LearningCurves;
use charlab::training::EpochRecord;

fn history(scale: f64) -> Vec<EpochRecord> {
    (1..=5)
        .map(|e| EpochRecord {
            epoch: e,
            train_loss: scale / e as f64,
            val_loss: scale / e as f64 + 0.1,
            val_accuracy: 0.8 + 0.02 * e as f64,
            seconds: 1.0,
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
        "training cross-entropy",
        "validation accuracy",
        "epoch",
    ] {
        assert!(svg.contains(text), "SVG lacks {text}");
    }
}

use charlab::data::REPORT_CLASSES;
use charlab::metrics::ConfusionMatrix;
use charlab::plot::{class_label, class_labels, PerClassBars, F1_AXIS, NO_TEST_IMAGES};
use charlab::sections::baselines;
use charlab::sections::results::{text_color_on, viridis, ConfusionHeatmap, ModelOutcome};
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
        accuracy: cm.accuracy(),
        macro_f1: cm.macro_f1(),
        per_class: cm.per_class(),
        confusion: cm.counts().to_vec(),
        test_predictions: preds,
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
    let fig = ConfusionHeatmap::of(&outcome("m", &cm, "h", vec![]), &chars).unwrap();
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
fn baseline_legends_show_display_names() {
    let model = |name: &str, max_iter: Option<u64>| baselines::ModelResult {
        name: name.into(),
        n_fit: 1,
        n_test: 1,
        fit_seconds: 0.0,
        predict_seconds: 0.0,
        accuracy: 0.5,
        macro_f1: 0.5,
        per_class: vec![],
        confusion: vec![],
        test_predictions: vec![],
        params: serde_json::json!({"solver": "Popcount", "max_iter": max_iter}),
        fit_report: serde_json::Value::Null,
    };
    assert_eq!(
        baselines::display_name(&model("logreg", Some(1000))),
        "Logistic regression"
    );
    assert_eq!(
        baselines::display_name(&model("svm", Some(1000))),
        "RBF SVM, capped at 1000 iterations"
    );
    assert_eq!(baselines::display_name(&model("svm", None)), "RBF SVM");
    assert_eq!(
        baselines::display_name(&model("svm-converged", None)),
        "RBF SVM, converged"
    );
}
