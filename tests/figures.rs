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
