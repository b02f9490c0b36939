//! Weight files: the bytes written to a `.safetensors` file, then read by
//! - [`Tensor::read_safetensors`] (tch's reader, behind everything below);
//! - [`charlab::models::pretrained::load_pretrained`] into a small CNN (`--init` weights:
//!   torchvision or timm names, a 3-channel stem summed to 1 channel);
//! - [`charlab::inference::Predictor::load`] as a run folder's `best.safetensors` (beside a
//!   fixed `config.json` of the same small CNN and a `normalizer.json`), charlab's checked
//!   loader (`training::load_weights`, the one resuming a run uses too).
//!
//! tch's own `VarStore::load` is not called here: it panics on any variable stored with an
//! integer or bool dtype (it converts the variable to the file's dtype before copying, and
//! libtorch refuses integer data for a tensor that requires gradients), whatever charlab
//! does; `tests/fuzz_regressions.rs` has the input and charlab's callers of it.
//!
//! tch turns libtorch's C++ exceptions into `Err` in its `f_*` functions and panics in the
//! others, so a panic or an abort here is a finding.

#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use charlab::inference::Predictor;
use charlab::models::cnn::{cnn, CnnParams, ConvBlock};
use charlab::models::pretrained::load_pretrained;
use charlab::tch::nn::VarStore;
use charlab::tch::{Device, Tensor};
use libfuzzer_sys::fuzz_target;

/// One conv block of 2 filters on 4x4 images, hidden width 3, 2 classes: variables
/// `conv0.weight [2,1,3,3]`, `conv0.bias [2]`, `fc.weight [3,8]`, `fc.bias [3]`,
/// `classifier.weight [2,3]`, `classifier.bias [2]` (the seeds in `fuzz/seeds/checkpoint/`).
fn small_cnn() -> CnnParams {
    CnnParams {
        blocks: vec![ConvBlock {
            filters: 2,
            kernel: 3,
        }],
        conv_dropout: 0.0,
        hidden: 3,
        hidden_dropout: 0.0,
        input_side: 4,
        n_classes: 2,
    }
}

/// This process's own run folder (under `TMPDIR`; `make fuzz` points it into `fuzz/target/`)
/// holding the small CNN's `config.json` and a `normalizer.json`; the input is written as its
/// `best.safetensors`.
fn run_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("charlab-fuzz-ckpt-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("create the scratch folder");
        let config = serde_json::json!({ "model": small_cnn() });
        std::fs::write(d.join("config.json"), config.to_string()).expect("write config.json");
        std::fs::write(d.join("normalizer.json"), r#"{"mean": 0.2, "std": 0.4}"#)
            .expect("write normalizer.json");
        d
    })
}

fuzz_target!(|data: &[u8]| {
    let path = run_dir().join("best.safetensors");
    std::fs::write(&path, data).expect("write the scratch file");
    if let Ok(tensors) = Tensor::read_safetensors(&path) {
        for (_, t) in &tensors {
            let _ = (t.size(), t.kind());
        }
    }
    let mut vs = VarStore::new(Device::Cpu);
    cnn(&vs.root(), &small_cnn()).expect("the small CNN builds");
    let _ = load_pretrained(&mut vs, &path);
    let _ = Predictor::load(run_dir());
});
