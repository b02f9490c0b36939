//! Faults from outside, through the `charlab` binary: a training killed with SIGKILL and
//! resumed, two trainings of one run folder, run folders that do not fit the data, and
//! outputs that cannot be written.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use charlab::models::cnn::{cnn, CnnParams};
use charlab::models::efficientnet::EfficientNetParams;
use charlab::split::Normalizer;
use charlab::tch::{nn, Device, Tensor};

/// `charlab` with `CHARLAB_ROOT` at `root`, one thread (so that runs are repeatable).
fn command(root: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_charlab"));
    c.args(args)
        .env("CHARLAB_ROOT", root)
        .env("CHARLAB_THREADS", "1")
        .env_remove("CHARLAB_DATA")
        .env_remove("CHARLAB_OUT");
    c
}

fn charlab(root: &Path, args: &[&str]) -> Output {
    command(root, args).output().expect("run charlab")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts that `out` failed with exit status 1 and one `error:` line (the last) holding
/// every string of `words`; returns that line.
fn assert_error(out: &Output, words: &[&str]) -> String {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(errors.len(), 1, "{err}");
    assert_eq!(err.lines().last(), Some(errors[0]), "{err}");
    for w in words {
        assert!(errors[0].contains(w), "`{w}` missing from: {err}");
    }
    errors[0].to_string()
}

const TRAIN: [&str; 8] = [
    "train",
    "cnn",
    "--default-size",
    "800",
    "--batch-size",
    "32",
    "--epochs",
    "3",
];

fn run_dir(root: &Path) -> PathBuf {
    root.join("data/models/04.2-cnn")
}

fn history_epochs(root: &Path) -> Vec<u64> {
    std::fs::read_to_string(run_dir(root).join("history.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["epoch"]
                .as_u64()
                .unwrap()
        })
        .collect()
}

fn results(root: &Path) -> serde_json::Value {
    let path = root.join("report/results/04.2-cnn.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The history of a results file without the timings (`seconds`, `phases`).
fn losses(res: &serde_json::Value) -> Vec<serde_json::Value> {
    res["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let mut r = r.clone();
            let m = r.as_object_mut().unwrap();
            m.remove("seconds");
            m.remove("phases");
            r
        })
        .collect()
}

/// Polls until `ready` or the child ends; panics after 10 minutes.
fn wait_for(child: &mut std::process::Child, what: &str, ready: impl Fn() -> bool) {
    let start = Instant::now();
    while !ready() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("charlab ended ({status}) before {what}");
        }
        assert!(start.elapsed() < Duration::from_secs(600), "no {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_training_killed_mid_epoch_resumes_to_the_uninterrupted_result() {
    let straight = common::TempDir::new("robust-straight");
    let out = charlab(straight.path(), &TRAIN);
    assert!(out.status.success(), "{}", stderr(&out));

    let tmp = common::TempDir::new("robust-killed");
    let root = tmp.path();
    let mut child = command(root, &TRAIN)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let lock = run_dir(root).join("run.lock");
    wait_for(&mut child, "the lock", || {
        std::fs::read_to_string(&lock).is_ok_and(|t| t.lines().count() >= 2)
    });
    // A second training of the same folder fails at once and names the first.
    let started = Instant::now();
    let out = charlab(root, &TRAIN);
    let line = assert_error(
        &out,
        &[
            &format!("in use by PID {} (started ", child.id()),
            "wait for it or stop it",
            "04.2-cnn",
        ],
    );
    assert!(started.elapsed() < Duration::from_secs(60), "{line}");
    // One epoch finished, the second under way: kill -9 a third of an epoch into it.
    wait_for(&mut child, "epoch 1", || !history_epochs(root).is_empty());
    let text = std::fs::read_to_string(run_dir(root).join("history.jsonl")).unwrap();
    let record: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let epoch_secs = record["seconds"].as_f64().unwrap();
    std::thread::sleep(Duration::from_secs_f64(epoch_secs / 3.0));
    child.kill().unwrap();
    child.wait().unwrap();
    let done = history_epochs(root);
    assert!(done == [1] || done == [1, 2], "{done:?}");
    // The dead process's lock file is still there; it must not block the folder.
    assert!(lock.exists(), "SIGKILL cannot remove the lock file");

    let resume = [&TRAIN[..], &["--resume"]].concat();
    let out = charlab(root, &resume);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        !err.contains("epoch 1/3"),
        "epoch 1 was trained again: {err}"
    );
    assert!(err.contains("epoch 3/3"), "{err}");
    assert_eq!(history_epochs(root), [1, 2, 3]);
    assert!(!lock.exists(), "the lock outlived the training");
    for e in std::fs::read_dir(run_dir(root)).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        assert!(!name.contains(".tmp"), "left {name}");
    }

    // Same history, best epoch, test predictions and best weights as without the kill.
    let (a, b) = (results(straight.path()), results(root));
    assert_eq!(losses(&a), losses(&b));
    for key in ["best_epoch", "test_accuracy", "test_predictions"] {
        assert_eq!(a[key], b[key], "{key}");
    }
    let weights = |root: &Path| -> Vec<(String, Tensor)> {
        let mut w = Tensor::read_safetensors(run_dir(root).join("best.safetensors")).unwrap();
        w.sort_by(|x, y| x.0.cmp(&y.0));
        w
    };
    let (wa, wb) = (weights(straight.path()), weights(root));
    assert_eq!(wa.len(), wb.len());
    for ((na, ta), (nb, tb)) in wa.iter().zip(&wb) {
        assert_eq!(na, nb);
        assert!(ta.equal(tb), "{na} differs");
    }
}

/// A run folder for `predict` without training: `config.json` with `model`, a normaliser and
/// the weights of a fresh network `weights` builds.
fn fake_run(dir: &Path, model: serde_json::Value, weights: impl FnOnce(&nn::VarStore)) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let config = serde_json::json!({ "model": model });
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    let norm = Normalizer {
        mean: 0.1,
        std: 0.3,
    };
    std::fs::write(
        dir.join("normalizer.json"),
        serde_json::to_string(&norm).unwrap(),
    )
    .unwrap();
    let vs = nn::VarStore::new(Device::Cpu);
    weights(&vs);
    vs.save(dir.join("best.safetensors")).unwrap();
    dir.to_path_buf()
}

fn cnn_weights(p: CnnParams) -> impl FnOnce(&nn::VarStore) {
    move |vs| {
        cnn(&vs.root(), &p).unwrap();
    }
}

#[test]
fn predict_with_a_run_folder_that_does_not_fit_is_a_clear_error() {
    let tmp = common::TempDir::new("robust-predict");
    let root = tmp.path();
    let report = CnnParams::default();
    let data = ["--default-size", "200"];
    let predict = |dir: &Path, data: &[&str]| {
        let d = dir.to_str().unwrap();
        charlab(root, &[&["predict", "--model", d][..], data].concat())
    };
    // A folder that fits: it labels the images.
    let ok = fake_run(
        &root.join("ok"),
        serde_json::json!(report),
        cnn_weights(report.clone()),
    );
    let out = predict(&ok, &data);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 201);
    // Images of another size than the network's.
    let pkl = common::fixture("ok_p4_np1.pkl");
    let out = predict(&ok, &["--data", pkl.to_str().unwrap()]);
    assert_error(&out, &["the model expects 56x56 images", "has 4x4"]);
    // Another class count than the data's.
    let ten = CnnParams {
        n_classes: 10,
        ..report.clone()
    };
    let dir = fake_run(
        &root.join("ten"),
        serde_json::json!(ten),
        cnn_weights(ten.clone()),
    );
    let out = predict(&dir, &data);
    assert_error(&out, &["tells 10 classes apart", "has 36"]);
    // Weights of another CNN than config.json describes (the classifier of 10 classes).
    let dir = fake_run(
        &root.join("mixed"),
        serde_json::json!(report),
        cnn_weights(ten),
    );
    let out = predict(&dir, &data);
    assert_error(
        &out,
        &["best.safetensors", "does not fit the cnn network", "is [10"],
    );
    // A CNN's weights in an EfficientNet's folder.
    let eff = serde_json::json!(EfficientNetParams::b0());
    let dir = fake_run(&root.join("eff"), eff, cnn_weights(report.clone()));
    let out = predict(&dir, &data);
    assert_error(
        &out,
        &["best.safetensors", "efficientnet-b0", "another network"],
    );
    // Truncated and random weights.
    let weights = ok.join("best.safetensors");
    let bytes = std::fs::read(&weights).unwrap();
    std::fs::write(&weights, &bytes[..bytes.len() / 2]).unwrap();
    assert_error(&predict(&ok, &data), &["best.safetensors", "truncated"]);
    std::fs::write(&weights, vec![0xA7u8; bytes.len()]).unwrap();
    assert_error(
        &predict(&ok, &data),
        &["best.safetensors", "not a safetensors file"],
    );
}

/// Files whose name holds `.tmp` under `dir`, recursively.
fn temporaries(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            found.extend(temporaries(&p));
        } else if e.file_name().to_string_lossy().contains(".tmp") {
            found.push(p);
        }
    }
    found
}

#[test]
fn unwritable_outputs_are_one_clear_line_and_leave_nothing_behind() {
    let tmp = common::TempDir::new("robust-unwritable");
    // A root below a regular file cannot be created, even by root.
    let file = tmp.path().join("afile");
    std::fs::write(&file, "not a folder").unwrap();
    let root = file.join("sub");
    let out = charlab(&root, &["figures", "dataset", "--default-size", "200"]);
    assert_error(&out, &["afile/sub", "Not a directory"]);
    let out = charlab(
        &root,
        &["train", "cnn", "--default-size", "200", "--epochs", "1"],
    );
    assert_error(&out, &["afile/sub", "Not a directory"]);
    // The results file's place is taken by a folder: the rename fails, and the temporary
    // file is removed.
    let root = tmp.path().join("root");
    let blocked = root.join("report/results/02-dataset.json");
    std::fs::create_dir_all(blocked.join("inside")).unwrap();
    let out = charlab(&root, &["figures", "dataset", "--default-size", "200"]);
    assert_error(&out, &["02-dataset.json"]);
    assert_eq!(temporaries(&root), Vec::<PathBuf>::new());
    // The same through the library.
    let err = charlab::paths::write_atomic(&blocked, b"{}").unwrap_err();
    assert!(err.to_string().contains("02-dataset.json"), "{err}");
    assert_eq!(temporaries(&root), Vec::<PathBuf>::new());
}
