//! Inputs that crash (panic) a reader of outside bytes, found while fuzzing (`make fuzz`,
//! `fuzz/`): each must give a clean `Err` (or, where noted, render). The inputs are in
//! `tests/fixtures/fuzz/`, named `<fuzz target>-<what>`.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Mutex;

use charlab::data::synth::{self, SynthParams};
use charlab::inference::Predictor;
use charlab::models::cnn::{cnn, CnnParams, ConvBlock};
use charlab::models::pretrained::load_pretrained;
use charlab::models::Net;
use charlab::sections::results;
use charlab::split;
use charlab::tch::nn::VarStore;
use charlab::tch::Device;
use charlab::training::{Fit, Init, TrainData, TrainParams};

/// Runs `f`, failing the test with `what` and the start of the panic's message when it
/// panics.
fn no_panic<T>(what: &str, f: impl FnOnce() -> charlab::Result<T>) -> charlab::Result<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|p| {
        let msg = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        let start: String = msg.chars().take(300).collect();
        panic!("{what}: panicked instead of returning an error: {start}")
    })
}

/// [`no_panic`], failing the test when `f` returns `Ok` too; returns the error's text.
fn clean_err<T: std::fmt::Debug>(what: &str, f: impl FnOnce() -> charlab::Result<T>) -> String {
    match no_panic(what, f) {
        Err(e) => e.to_string(),
        Ok(v) => panic!("{what}: expected an error, got Ok({v:?})"),
    }
}

/// Serialises the tests that point `CHARLAB_ROOT` and `CHARLAB_OUT` at a folder of their own.
static ENV: Mutex<()> = Mutex::new(());

/// A project root holding the committed results files (`report/results/*.json`), the one of
/// `section` replaced by the fixture `fixture`; `CHARLAB_ROOT` and `CHARLAB_OUT` point at it.
fn results_with(section: &str, fixture: &str) -> common::TempDir {
    let tmp = common::TempDir::new("fuzz-results");
    let dst = tmp.path().join("report").join("results");
    std::fs::create_dir_all(&dst).unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("report")
        .join("results");
    for entry in std::fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            std::fs::copy(&path, dst.join(path.file_name().unwrap())).unwrap();
        }
    }
    std::fs::copy(
        common::fixture(fixture),
        dst.join(format!("{section}.json")),
    )
    .unwrap();
    charlab::Settings {
        root: Some(tmp.path().to_path_buf()),
        out: Some(tmp.path().to_path_buf()),
        ..charlab::Settings::current()
    }
    .install();
    tmp
}

/// `run_files-short-data-hash`: `02-dataset.json` whose `data_hash` is `"abc"`. The report
/// shows the hash's first 16 characters by slicing `[..16]`, which panics on a shorter (or
/// non-ASCII) hash. A hand-edited or foreign results file may give an error or render the hash
/// as it is; it must not panic.
#[test]
fn a_short_data_hash_in_the_dataset_results_does_not_panic_the_report() {
    let _env = ENV.lock().unwrap_or_else(|e| e.into_inner());
    let _root = results_with(
        charlab::paths::section::DATASET,
        "fuzz/run_files-short-data-hash",
    );
    let _ = no_panic("report::render with a 3-character data_hash", || {
        charlab::report::render().map(|w| w.text.len())
    });
}

/// `run_files-multibyte-data-hash`: `04.1-baselines.json` whose `data_hash` is `a` followed by
/// `é`s, so that byte 16 falls inside a character. Section 5's summary names a results file
/// from other data with the first 16 bytes of its hash (`[..len.min(16)]`), which panics there.
#[test]
fn a_non_ascii_data_hash_in_the_baselines_results_is_an_error_in_section_5() {
    let _env = ENV.lock().unwrap_or_else(|e| e.into_inner());
    let _root = results_with(
        charlab::paths::section::BASELINES,
        "fuzz/run_files-multibyte-data-hash",
    );
    let data = synth::generate(&SynthParams::new(100, 0).unwrap()).unwrap();
    let err = clean_err("section 5's summary of a non-ASCII data_hash", || {
        let (outcomes, missing) = results::collect()?;
        results::summarize(&data, &outcomes, missing, 5).map(|s| s.best_model)
    });
    assert!(err.contains("04.1-baselines.json"), "{err}");
}

/// One conv block of 2 filters on `side` x `side` images: variables `conv0.*`, `fc.*`,
/// `classifier.*`.
fn small_cnn(side: i64, n_classes: i64) -> CnnParams {
    CnnParams {
        blocks: vec![ConvBlock {
            filters: 2,
            kernel: 3,
        }],
        conv_dropout: 0.0,
        hidden: 3,
        hidden_dropout: 0.0,
        input_side: side,
        n_classes,
    }
}

/// `checkpoint-int-weights`: a safetensors file holding every variable of the small CNN
/// (`conv0.*`, `fc.*`, `classifier.*`) as a uint8 scalar. tch's `VarStore::load` first converts
/// each variable to the file's dtype (`set_data`, which panics: libtorch refuses integer data
/// for a tensor that requires gradients), so the file panics any caller of it instead of
/// giving an error. Section 6.1 loads a variant's pretrained weights that way (`--init`, or a
/// damaged `pretrain-*/best.safetensors`).
const INT_WEIGHTS: &str = "fuzz/checkpoint-int-weights";

#[test]
fn integer_weights_as_a_variants_starting_point_are_an_error() {
    let tmp = common::TempDir::new("fuzz-int-init");
    // As a pretraining run leaves it: tch picks the reader from the extension.
    let fixture = tmp.path().join("best.safetensors");
    std::fs::copy(common::fixture(INT_WEIGHTS), &fixture).unwrap();
    let data = synth::generate(&SynthParams::new(200, 1).unwrap()).unwrap();
    let split = split::random_split(data.len(), 0).unwrap();
    let params = TrainParams {
        epochs: 1,
        batch_size: 64,
        ..Default::default()
    };
    let run_dir = tmp.path().join("int-init");
    // The fine-tuning start of section 6.1's variants: `Init::Checkpoint`.
    let err = clean_err("Fit from integer init weights", || {
        let td = TrainData::new(&data, &split, Device::Cpu)?;
        let fit = Fit {
            init: Init::Checkpoint(fixture.clone()),
            ..Fit::new(Net::Cnn(small_cnn(56, 36)), params, &run_dir)
        };
        fit.run(&td).map(|t| t.best_epoch)
    });
    assert!(err.contains("best.safetensors"), "{err}");
}

/// The same file through the two other weight readers, which already give an error: the
/// pretrained-weights loader (`--init` of `charlab train`) and `predict`'s run folder.
#[test]
fn integer_weights_for_pretrained_loading_and_predict_are_an_error() {
    let fixture = common::fixture(INT_WEIGHTS);
    let mut vs = VarStore::new(Device::Cpu);
    cnn(&vs.root(), &small_cnn(4, 2)).unwrap();
    clean_err("load_pretrained with integer weights", || {
        load_pretrained(&mut vs, &fixture)
    });

    let tmp = common::TempDir::new("fuzz-int-predict");
    let dir = tmp.path();
    let config = serde_json::json!({ "model": small_cnn(4, 2) });
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    std::fs::write(dir.join("normalizer.json"), r#"{"mean": 0.2, "std": 0.4}"#).unwrap();
    std::fs::copy(&fixture, dir.join("best.safetensors")).unwrap();
    let err = clean_err("Predictor::load with integer weights", || {
        Predictor::load(Path::new(dir)).map(|p| p.kind.clone())
    });
    assert!(err.contains("best.safetensors"), "{err}");
}
