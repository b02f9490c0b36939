//! Quick runs and runs on another data set never write into the committed `figures/` and
//! `report/`: they go under `target/quick/` and `target/runs/<data hash>/`. A full run on the
//! data set the committed results come from writes them (committing stays an explicit act).

mod common;

use std::path::Path;
use std::process::Command;

/// A stand-in project: a `Cargo.toml` naming charlab and committed results for `hash`.
fn project(dir: &Path, hash: &str) {
    std::fs::write(dir.join("Cargo.toml"), "[package]\nname = \"charlab\"\n").unwrap();
    let results = dir.join("report/results");
    std::fs::create_dir_all(&results).unwrap();
    std::fs::write(
        results.join("02-dataset.json"),
        format!("{{\"data_hash\": \"{hash}\"}}"),
    )
    .unwrap();
}

fn charlab(cwd: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_charlab"))
        .args(args)
        .current_dir(cwd)
        .env_remove("CHARLAB_ROOT")
        .env_remove("CHARLAB_OUT")
        .env_remove("CHARLAB_DATA")
        .env("CHARLAB_THREADS", "1")
        .output()
        .expect("run charlab")
}

fn hash_of_default(n: usize) -> String {
    let data =
        charlab::data::synth::generate(&charlab::data::synth::SynthParams::new(n, 0).unwrap())
            .unwrap();
    data.content_hash()
}

#[test]
fn other_data_and_quick_runs_write_under_target() {
    let tmp = common::TempDir::new("outputs-other");
    project(tmp.path(), "0000000000000000committed");
    let out = charlab(tmp.path(), &["figures", "dataset", "--default-size", "200"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let hash = hash_of_default(200);
    let routed = tmp.path().join("target/runs").join(&hash[..16]);
    assert!(err.contains("outputs go to target/runs/"), "{err}");
    assert!(routed.join("figures/02-samples.svg").exists());
    assert!(routed.join("report/results/02-dataset.json").exists());
    assert!(
        !tmp.path().join("figures").exists(),
        "wrote into the committed figures/"
    );
    let committed =
        std::fs::read_to_string(tmp.path().join("report/results/02-dataset.json")).unwrap();
    assert!(
        committed.contains("0000000000000000committed"),
        "{committed}"
    );
    // A quick run goes to target/quick/, whatever the data.
    let out = charlab(
        tmp.path(),
        &[
            "train",
            "cnn",
            "--quick",
            "--default-size",
            "300",
            "--epochs",
            "1",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("quick run: outputs go to target/quick"),
        "{err}"
    );
    assert!(tmp
        .path()
        .join("target/quick/report/results/04.2-cnn.json")
        .exists());
    assert!(!tmp.path().join("report/results/04.2-cnn.json").exists());
}

#[test]
fn a_full_run_on_the_committed_data_writes_the_committed_files() {
    let tmp = common::TempDir::new("outputs-same");
    project(tmp.path(), &hash_of_default(200));
    let out = charlab(tmp.path(), &["figures", "dataset", "--default-size", "200"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("outputs go to"), "{err}");
    assert!(tmp.path().join("figures/02-samples.svg").exists());
    assert!(!tmp.path().join("target/runs").exists());
}
