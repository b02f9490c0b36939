//! `--init`: EfficientNet-b0 weights as torchvision and timm write them (random weights made
//! by `scripts/pretrained_fixtures.py` in the project's venv, nothing downloaded) land in the
//! right variables: after loading, charlab's one-channel network gives the library's logits.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use charlab::models::efficientnet::{
    efficientnet, load_pretrained, timm_to_torchvision, EfficientNetParams,
};
use charlab::tch::{nn, nn::ModuleT, Device, Tensor};

/// Runs the fixture script once per test process; returns its output folder.
fn fixtures() -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let out = root
            .join("target")
            .join("test-tmp")
            .join("pretrained-fixtures");
        let python = root.join(".venv").join("bin").join("python");
        let status = std::process::Command::new(&python)
            .arg(root.join("scripts").join("pretrained_fixtures.py"))
            .arg(&out)
            .status()
            .unwrap_or_else(|e| panic!("cannot run {} ({e}): run `make venv`", python.display()));
        assert!(status.success(), "scripts/pretrained_fixtures.py failed");
        out
    })
    .clone()
}

fn read(path: &Path) -> HashMap<String, Tensor> {
    Tensor::read_safetensors(path)
        .unwrap()
        .into_iter()
        .collect()
}

/// Loads `<lib>`'s file into charlab's b0, copies the classifier (which `load_pretrained`
/// replaces), and compares the logits with the library's.
fn check(lib: &str) {
    let dir = fixtures();
    let file = dir.join(format!("{lib}-efficientnet_b0.safetensors"));
    let mut vs = nn::VarStore::new(Device::Cpu);
    let net = efficientnet(&vs.root(), &EfficientNetParams::b0()).unwrap();
    let report = load_pretrained(&mut vs, &file).unwrap();
    let n_vars = vs.variables().len();
    let skipped: Vec<&str> = report.skipped.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(skipped, vec!["classifier.1.bias", "classifier.1.weight"]);
    assert_eq!(
        report.loaded.len(),
        n_vars - 2,
        "every other tensor is loaded"
    );
    assert!(
        report
            .unused
            .iter()
            .all(|n| n.ends_with("num_batches_tracked")),
        "{:?}",
        report.unused
    );
    let mut weights = read(&file);
    if lib == "timm" {
        weights = timm_to_torchvision(weights);
    }
    let vars = vs.variables();
    charlab::tch::no_grad(|| {
        for name in ["classifier.1.weight", "classifier.1.bias"] {
            let mut v = vars[name].shallow_clone();
            v.copy_(&weights[name]);
        }
    });
    let check = read(&dir.join(format!("{lib}-efficientnet_b0-check.safetensors")));
    let logits = net.forward_t(&check["x"], false);
    let diff = (&logits - &check["logits"]).abs().max().double_value(&[]);
    assert!(diff < 1e-3, "{lib}: logits differ by up to {diff}");
}

#[test]
fn torchvision_weights_give_torchvisions_logits() {
    check("torchvision");
}

#[test]
fn timm_weights_give_timms_logits() {
    check("timm");
}

#[test]
fn weights_of_another_network_are_a_clear_error_and_load_nothing() {
    let dir = fixtures();
    let file = dir.join("torchvision-efficientnet_b0.safetensors");
    let mut vs = nn::VarStore::new(Device::Cpu);
    efficientnet(&vs.root(), &EfficientNetParams::b1()).unwrap();
    let snapshot = |vs: &nn::VarStore| -> std::collections::BTreeMap<String, Tensor> {
        vs.variables()
            .into_iter()
            .map(|(n, t)| (n, t.copy()))
            .collect()
    };
    let before = snapshot(&vs);
    let err = load_pretrained(&mut vs, &file).unwrap_err().to_string();
    assert!(
        err.contains("do not match") && err.contains("not in the file"),
        "{err}"
    );
    assert!(err.contains("efficientnet_b0.safetensors"), "{err}");
    let after = snapshot(&vs);
    assert!(before.iter().all(|(n, t)| t.equal(&after[n])));
    // Not safetensors (a PyTorch .pth, say): the error says how to convert it.
    let pth = dir.join("weights.pth");
    std::fs::write(&pth, b"PK\x03\x04 a zip pickle").unwrap();
    let err = load_pretrained(&mut vs, &pth).unwrap_err().to_string();
    assert!(err.contains("save_file"), "{err}");
}
