//! The committed weights: `charlab verify` re-scores every network of `weights/` on the
//! stand-in and matches its results file exactly, in well under a minute; a damaged weight
//! file is a clear error (the file, its hash, the fix) and a non-zero exit.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn verify(root: &Path, standin: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_charlab"))
        .args(["verify", "--data"])
        .arg(standin)
        .env("CHARLAB_ROOT", root)
        .env("CHARLAB_THREADS", "2")
        .output()
        .unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}

#[test]
fn the_committed_weights_reproduce_their_results_exactly() {
    let Some(standin) = common::shared("alphamoon-standin/train.pkl") else {
        return;
    };
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("weights/manifest.json")).unwrap(),
    )
    .unwrap();
    let models = manifest["models"].as_array().unwrap();
    assert!(!models.is_empty());
    let t = Instant::now();
    let out = verify(root(), &standin);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for m in models {
        let mut name = m["section"].as_str().unwrap().to_string();
        if let Some(model) = m["model"].as_str() {
            name = format!("{name}/{model}");
        }
        let line = stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name.as_str()))
            .unwrap_or_else(|| panic!("no line for {name}: {stdout}"));
        if m["test_images"].as_u64() == Some(0) {
            // A pretraining run: no test scores; its hashes are checked and it loads.
            assert!(line.ends_with("ok (hashes, loads)"), "{line}");
            continue;
        }
        assert!(line.ends_with("ok"), "{line}");
        let acc = format!("{:.2}", 100.0 * m["test_accuracy"].as_f64().unwrap());
        assert!(line.contains(&acc), "{line} should show {acc}");
    }
    let secs = t.elapsed().as_secs_f64();
    eprintln!("charlab verify: {secs:.1} s");
}

#[test]
fn a_damaged_weight_file_is_a_clear_error() {
    let Some(standin) = common::shared("alphamoon-standin/train.pkl") else {
        return;
    };
    let tmp = common::TempDir::new("weights");
    copy_dir(&root().join("weights"), &tmp.path().join("weights"));
    copy_dir(
        &root().join("report/results"),
        &tmp.path().join("report/results"),
    );
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(tmp.path().join("weights/manifest.json")).unwrap(),
    )
    .unwrap();
    let section = manifest["models"][0]["section"]
        .as_str()
        .unwrap()
        .to_string();
    let file = tmp
        .path()
        .join("weights")
        .join(&section)
        .join("best.safetensors");
    let mut bytes = std::fs::read(&file).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&file, &bytes).unwrap();
    let out = verify(tmp.path(), &standin);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("best.safetensors"), "{stderr}");
    assert!(stderr.contains("SHA-256"), "{stderr}");
    assert!(stderr.contains("git checkout"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
