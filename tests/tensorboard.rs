//! Every training run writes TensorBoard event files that TensorBoard's own reader
//! (`EventAccumulator`, from the project's venv) reads back: each epoch's scalars equal
//! `history.jsonl`, the config is there as text, and a resumed run shows each epoch once.

mod common;

use std::path::Path;

use charlab::data::synth::{self, SynthParams};
use charlab::models::cnn::CnnParams;
use charlab::models::Net;
use charlab::split;
use charlab::tch::Device;
use charlab::training::run_folder::read_history_file;
use charlab::training::{EpochRecord, Fit, TrainData, TrainParams};

fn read_events(run_dir: &Path) -> serde_json::Value {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = root.join(".venv/bin/python");
    let out = std::process::Command::new(&python)
        .arg(root.join("scripts/read_tensorboard.py"))
        .arg(run_dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {} ({e}): run `make venv`", python.display()));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn fit(dir: &Path, epochs: usize) -> Fit {
    let net = Net::Cnn(CnnParams::of_blocks(&[(8, 3), (16, 3)]));
    let params = TrainParams {
        epochs,
        batch_size: 32,
        learning_rate: 2e-3,
        ..Default::default()
    };
    Fit::new(net, params, dir)
}

fn check(events: &serde_json::Value, history: &[EpochRecord], images: usize) {
    let scalars = &events["scalars"];
    let series = |tag: &str| -> Vec<(u64, f64)> {
        scalars[tag]
            .as_array()
            .unwrap_or_else(|| panic!("no scalar {tag} in {events}"))
            .iter()
            .map(|p| (p[0].as_u64().unwrap(), p[1].as_f64().unwrap()))
            .collect()
    };
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-6 * b.abs().max(1.0);
    for (tag, want) in [
        (
            "loss/train",
            history.iter().map(|r| r.train_loss).collect::<Vec<_>>(),
        ),
        (
            "loss/validation",
            history.iter().map(|r| r.val_loss).collect(),
        ),
        (
            "accuracy/validation",
            history.iter().map(|r| r.val_accuracy).collect(),
        ),
        ("learning_rate", vec![2e-3; history.len()]),
        (
            "images_per_second",
            history.iter().map(|r| images as f64 / r.seconds).collect(),
        ),
    ] {
        let got = series(tag);
        let steps: Vec<u64> = got.iter().map(|p| p.0).collect();
        let want_steps: Vec<u64> = history.iter().map(|r| r.epoch as u64).collect();
        assert_eq!(steps, want_steps, "{tag}: each epoch exactly once");
        for ((_, g), w) in got.iter().zip(&want) {
            // Stored as f32, as TensorBoard's scalars are.
            assert!(close(*g, f64::from(*w as f32)), "{tag}: {g} vs {w}");
        }
    }
    let config = events["text"]["config"][0][1]
        .as_str()
        .expect("the config as text");
    assert!(config.contains("\"learning_rate\""), "{config}");
}

#[test]
fn training_writes_event_files_tensorboard_reads_and_a_resume_does_not_repeat_epochs() {
    let data = synth::generate(&SynthParams::new(500, 3).unwrap()).unwrap();
    let s = split::random_split(data.len(), 0).unwrap();
    let td = TrainData::new(&data, &s, Device::Cpu).unwrap();
    let images = s.train.len();

    let tmp = common::TempDir::new("tensorboard");
    let dir = tmp.path().join("run");
    fit(&dir, 2).run(&td).unwrap();
    let history = read_history_file(&dir.join("history.jsonl"));
    assert_eq!(history.len(), 2);
    check(&read_events(&dir), &history, images);

    // Resumed for two more epochs: epochs 1 and 2 come from the first run, 3 and 4 are new;
    // none appears twice.
    fit(&dir, 4).run(&td).unwrap();
    let history = read_history_file(&dir.join("history.jsonl"));
    assert_eq!(history.len(), 4);
    check(&read_events(&dir), &history, images);
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("tfevents"))
        .collect();
    assert_eq!(files.len(), 1, "one event file per run");
}
