//! The `charlab` binary end to end: exit codes, messages, and the files it writes.

mod common;

use std::path::Path;
use std::process::Command;

use common::fixture;

fn charlab(root: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_charlab"))
        .args(args)
        .env("CHARLAB_ROOT", root)
        .env_remove("CHARLAB_DATA")
        .output()
        .expect("run charlab")
}

#[test]
fn summary_of_a_pickle() {
    let tmp = common::TempDir::new("cli");
    let out = charlab(
        tmp.path(),
        &[
            "summary",
            "--data",
            fixture("ok_p4_np1.pkl").to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("images:   6"), "{text}");
    assert!(text.contains("size:     4x4"), "{text}");
    assert!(text.contains("classes:  36"), "{text}");
}

#[test]
fn bad_input_exits_non_zero_with_a_message_and_no_panic() {
    let tmp = common::TempDir::new("cli");
    for name in [
        "bad_truncated.pkl",
        "bad_evil_global.pkl",
        "missing.pkl",
        "emnist_bad_magic",
    ] {
        let emnist = name
            .starts_with("emnist")
            .then(|| common::emnist_fixture(name));
        let path = emnist
            .as_ref()
            .map_or(fixture(name), |d| d.path().to_path_buf());
        let out = charlab(tmp.path(), &["summary", "--data", path.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {err}");
        assert!(err.starts_with("error: "), "{name}: {err}");
        assert!(
            err.contains(name),
            "{name}: message does not name the file: {err}"
        );
        assert!(!err.contains("panicked"), "{name}: {err}");
    }
    // Nothing was written.
    assert!(!tmp.path().join("figures").exists());
}

#[test]
fn figures_dataset_writes_valid_svg_png_and_json() {
    let tmp = common::TempDir::new("cli");
    let out = charlab(
        tmp.path(),
        &["figures", "dataset", "--default-size", "500", "--seed", "3"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for stem in ["02-class-distribution", "02-samples"] {
        let png = std::fs::read(tmp.path().join(format!("figures/{stem}.png"))).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert!(png.len() > 10_000, "{stem}.png is only {} bytes", png.len());
        let svg = std::fs::read_to_string(tmp.path().join(format!("figures/{stem}.svg"))).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("<text"), "{stem}.svg has no text");
    }
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(tmp.path().join("report/results/02-dataset.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(json["images"], 500);
    assert_eq!(json["classes"], 36);
    assert_eq!(json["table"][30]["count"], 1);
    // No temporary files left behind.
    for dir in ["figures", "report/results"] {
        for e in std::fs::read_dir(tmp.path().join(dir)).unwrap() {
            let name = e.unwrap().file_name().into_string().unwrap();
            assert!(!name.contains(".tmp"), "left {name}");
        }
    }
}

#[test]
fn bad_arguments_are_rejected() {
    let tmp = common::TempDir::new("cli");
    let out = charlab(tmp.path(), &["summary", "--default-size", "10"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 36"));
    let out = charlab(tmp.path(), &["summary", "--default-size", "many"]);
    assert_eq!(out.status.code(), Some(2)); // clap's usage error
}

#[test]
fn train_cnn_writes_results_and_resumes() {
    let tmp = common::TempDir::new("cli-train");
    let args = [
        "train",
        "cnn",
        "--default-size",
        "500",
        "--batch-size",
        "64",
    ];
    let out = charlab(tmp.path(), &[&args[..], &["--epochs", "1"]].concat());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = charlab(
        tmp.path(),
        &[&args[..], &["--epochs", "2", "--resume"]].concat(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("epoch 1/2"),
        "epoch 1 was trained again: {err}"
    );
    assert!(err.contains("epoch 2/2"), "{err}");
    let res: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(tmp.path().join("report/results/04.2-cnn.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(res["history"].as_array().unwrap().len(), 2);
    assert_eq!(res["split_sizes"], serde_json::json!([376, 41, 83]));
    let acc = res["test_accuracy"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&acc));
    assert!(tmp
        .path()
        .join("data/models/04.2-cnn/best.safetensors")
        .exists());
    // `predict` labels images with the best checkpoint; on the test part of the split it
    // reproduces the test accuracy of the results file.
    let labels = tmp.path().join("labels.csv");
    let split = tmp.path().join("split.json");
    let run = tmp.path().join("data/models/04.2-cnn");
    let run = run.to_str().unwrap();
    let l = labels.to_str().unwrap();
    let out = charlab(
        tmp.path(),
        &[
            "predict",
            "--model",
            run,
            "--default-size",
            "500",
            "--out",
            l,
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = charlab(
        tmp.path(),
        &[
            "split",
            "--default-size",
            "500",
            "--out",
            split.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = std::fs::read_to_string(&labels).unwrap();
    let pred: Vec<usize> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    assert_eq!(pred.len(), 500);
    let split: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&split).unwrap()).unwrap();
    let data =
        charlab::data::synth::generate(&charlab::data::synth::SynthParams::new(500, 0).unwrap())
            .unwrap();
    let test: Vec<usize> = split["test"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    let correct = test
        .iter()
        .filter(|&&i| pred[i] == data.labels()[i])
        .count();
    assert!((correct as f64 / test.len() as f64 - acc).abs() < 1e-9);
    let out = charlab(
        tmp.path(),
        &["predict", "--model", tmp.path().to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("config.json"));
    // A bad setting is a clear error, not a panic.
    let out = charlab(tmp.path(), &[&args[..], &["--lr", "0"]].concat());
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("learning_rate"));
    // --init starts from a run's weights (all but the classifier), here the run above's.
    let init = tmp.path().join("init.safetensors");
    std::fs::copy(
        tmp.path().join("data/models/04.2-cnn/best.safetensors"),
        &init,
    )
    .unwrap();
    let init = init.to_str().unwrap();
    let out = charlab(
        tmp.path(),
        &[&args[..], &["--epochs", "1", "--init", init]].concat(),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("tensors loaded, 2 left as initialised"),
        "{err}"
    );
    // Weights of another network: one clear error naming the file and what does not match.
    let out = charlab(
        tmp.path(),
        &[
            "train",
            "efficientnet",
            "--default-size",
            "500",
            "--epochs",
            "1",
            "--init",
            init,
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("init.safetensors") && err.contains("do not match"),
        "{err}"
    );
}

#[test]
fn baselines_write_results_and_figure() {
    let tmp = common::TempDir::new("cli-baselines");
    let out = charlab(tmp.path(), &["baselines", "--default-size", "600"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for name in ["logreg", "svm", "svm-converged"] {
        assert!(text.contains(name), "{text}");
    }
    let res: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(tmp.path().join("report/results/04.1-baselines.json")).unwrap(),
    )
    .unwrap();
    let models = res["models"].as_array().unwrap();
    assert_eq!(models.len(), 3);
    for m in models {
        let acc = m["accuracy"].as_f64().unwrap();
        assert!(acc > 0.3 && acc <= 1.0, "{m}");
        assert_eq!(m["per_class"].as_array().unwrap().len(), 36);
        assert_eq!(m["confusion"].as_array().unwrap().len(), 36 * 36);
    }
    assert_eq!(res["split_sizes"], serde_json::json!([450, 50, 100]));
    let png = std::fs::read(tmp.path().join("figures/04-baselines-f1.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000);
    // Bad values are refused with a message.
    let out = charlab(tmp.path(), &["baselines", "--model", "tree"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_augmentation_figure_is_redrawn_from_the_data_alone() {
    let tmp = common::TempDir::new("cli-aug");
    let out = charlab(tmp.path(), &["figures", "augmentation", "--quick"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let svg = std::fs::read_to_string(tmp.path().join("figures/06-augmentation.svg")).unwrap();
    // Every look-alike group is there (SVG escapes the quotes), the original set apart from
    // its draws.
    for label in ["0", "O", "L", "Z", "2"] {
        let quoted = format!("&apos;{label}&apos;");
        assert!(svg.contains(&quoted), "no row of {label} in the figure");
    }
    for label in ["original", "random draws"] {
        assert!(svg.contains(label), "no {label} in the figure");
    }
}

#[test]
fn device_reports_what_libtorch_sees_and_bench_nets_times_each_network() {
    let tmp = common::TempDir::new("cli-device");
    let out = charlab(tmp.path(), &["device"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("device JSON");
    assert_eq!(report["matmul_check"], "ok", "{report}");
    let cuda = report["cuda_available"].as_bool().expect("cuda_available");
    assert_eq!(
        report["device"],
        if cuda { "cuda:0" } else { "cpu" },
        "{report}"
    );
    let lib = report["cuda_library"].as_str().unwrap_or_default();
    assert!(
        lib.starts_with("linked") || lib.starts_with("absent"),
        "{report}"
    );

    let file = tmp.path().join("nets.json");
    let out = charlab(
        tmp.path(),
        &[
            "bench-nets",
            "--quick",
            "--nets",
            "cnn",
            "--epochs",
            "1",
            "--out",
            file.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("nets.json")).expect("JSON");
    let nets = rows["networks"].as_array().expect("networks");
    assert_eq!(nets.len(), 1);
    assert_eq!(nets[0]["name"], "cnn");
    assert!(
        nets[0]["train_images_per_second"].as_f64().unwrap_or(0.0) > 0.0,
        "{rows}"
    );
    let sizes: Vec<u64> = (0..3)
        .filter_map(|i| rows["split_sizes"][i].as_u64())
        .collect();
    assert_eq!(sizes.iter().sum::<u64>(), 1500, "{rows}");

    let out = charlab(tmp.path(), &["bench-nets", "--quick", "--nets", "vgg"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`vgg` is not a network") && !err.contains("panicked"),
        "{err}"
    );
}
