//! The training loop: loss falls, checkpoints round-trip, resume equals an uninterrupted run,
//! bad settings are errors.

mod common;

use charlab::data::synth::{self, SynthParams};
use charlab::models::cnn::{cnn, CnnParams, ConvBlock};
use charlab::split;
use charlab::tch::{self, nn, nn::ModuleT, Device};
use charlab::training::{evaluate, train, EpochRecord, TrainData, TrainParams};

/// libtorch's random generator is global to the process and tests run on parallel threads:
/// tests that seed it hold this lock (a real run is one process, one training).
static TORCH_RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    TORCH_RNG.lock().unwrap_or_else(|e| e.into_inner())
}

fn small_cnn() -> CnnParams {
    CnnParams {
        blocks: vec![
            ConvBlock {
                filters: 8,
                kernel: 3,
            },
            ConvBlock {
                filters: 16,
                kernel: 3,
            },
        ],
        hidden: 32,
        ..Default::default()
    }
}

fn data() -> TrainData {
    let data = synth::generate(&SynthParams::new(600, 2).unwrap()).unwrap();
    let s = split::random_split(data.len(), 0).unwrap();
    TrainData::new(&data, &s, Device::Cpu).unwrap()
}

fn params(epochs: usize) -> TrainParams {
    TrainParams {
        epochs,
        batch_size: 32,
        learning_rate: 3e-3,
        ..Default::default()
    }
}

fn config(p: &TrainParams) -> serde_json::Value {
    serde_json::json!({ "model": small_cnn(), "train": p })
}

/// Trains from a fixed initialisation; returns the history.
fn run(dir: &std::path::Path, epochs: usize, resume: bool, d: &TrainData) -> Vec<EpochRecord> {
    run_with(dir, &params(epochs), resume, d)
}

/// [`run`] with any training parameters.
fn run_with(
    dir: &std::path::Path,
    p: &TrainParams,
    resume: bool,
    d: &TrainData,
) -> Vec<EpochRecord> {
    tch::manual_seed(7);
    let mut vs = nn::VarStore::new(Device::Cpu);
    let net = cnn(&vs.root(), &small_cnn()).unwrap();
    train(&net, &mut vs, d, p, &config(p), dir, resume)
        .unwrap()
        .history
}

#[test]
fn loss_falls_and_the_best_checkpoint_reloads() {
    let _guard = lock();
    let d = data();
    let dir = common::TempDir::new("train-falls");
    let history = run(dir.path(), 4, false, &d);
    assert_eq!(history.len(), 4);
    assert!(
        history[3].train_loss < history[0].train_loss * 0.8,
        "train loss did not fall: {history:?}"
    );
    assert!(history[3].val_loss < history[0].val_loss, "{history:?}");
    for name in [
        "config.json",
        "history.jsonl",
        "best.safetensors",
        "best.json",
        "state.json",
    ] {
        assert!(dir.path().join(name).exists(), "{name} missing");
    }
    assert!(dir.path().join("epoch-004.safetensors").exists());
    assert!(
        !dir.path().join("epoch-003.safetensors").exists(),
        "old checkpoint kept"
    );
    // The best checkpoint gives back exactly the recorded validation loss.
    let best: EpochRecord =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("best.json")).unwrap())
            .unwrap();
    let min = history
        .iter()
        .map(|r| r.val_loss)
        .fold(f64::INFINITY, f64::min);
    assert_eq!(best.val_loss, min);
    let mut vs = nn::VarStore::new(Device::Cpu);
    let net = cnn(&vs.root(), &small_cnn()).unwrap();
    vs.load(dir.path().join("best.safetensors")).unwrap();
    let (loss, acc, preds) = evaluate(&net, &d.x_val, &d.y_val, 7).unwrap();
    assert!(
        (loss - best.val_loss).abs() < 1e-5,
        "{loss} vs {}",
        best.val_loss
    );
    assert!((acc - best.val_accuracy).abs() < 1e-12);
    // Batch 7 does not divide the validation part: every image was still evaluated.
    assert_eq!(preds.len() as i64, d.y_val.size()[0]);
}

#[test]
fn checkpoint_round_trip_gives_identical_logits() {
    let _guard = lock();
    let dir = common::TempDir::new("train-roundtrip");
    tch::manual_seed(3);
    let vs = nn::VarStore::new(Device::Cpu);
    let net = cnn(&vs.root(), &small_cnn()).unwrap();
    let path = dir.path().join("w.safetensors");
    vs.save(&path).unwrap();
    let mut vs2 = nn::VarStore::new(Device::Cpu);
    let net2 = cnn(&vs2.root(), &small_cnn()).unwrap();
    vs2.load(&path).unwrap();
    let x = tch::Tensor::randn([4, 1, 56, 56], (tch::Kind::Float, Device::Cpu));
    let a = net.forward_t(&x, false);
    let b = net2.forward_t(&x, false);
    assert!(a.equal(&b));
}

#[test]
fn resume_gives_the_history_of_an_uninterrupted_run() {
    let _guard = lock();
    let d = data();
    let straight = common::TempDir::new("train-straight");
    let full = run(straight.path(), 3, false, &d);
    let resumed_dir = common::TempDir::new("train-resumed");
    let first = run(resumed_dir.path(), 2, false, &d);
    assert_eq!(first.len(), 2);
    // A new process would start from a fresh initialisation: resume must not depend on it.
    tch::manual_seed(12345);
    let resumed = run(resumed_dir.path(), 3, true, &d);
    assert_eq!(resumed.len(), 3);
    for (a, b) in full.iter().zip(&resumed) {
        assert_eq!(a.epoch, b.epoch);
        assert_eq!(a.train_loss, b.train_loss, "epoch {}", a.epoch);
        assert_eq!(a.val_loss, b.val_loss, "epoch {}", a.epoch);
        assert_eq!(a.val_accuracy, b.val_accuracy, "epoch {}", a.epoch);
    }
}

#[test]
fn resume_replays_augmentation_and_class_weights_exactly() {
    let _guard = lock();
    let d = data();
    let p = |epochs| TrainParams {
        augment: Some(charlab::augment::AugmentParams::default()),
        class_weight_power: Some(0.5),
        ..params(epochs)
    };
    let straight = common::TempDir::new("train-aug-straight");
    let full = run_with(straight.path(), &p(2), false, &d);
    let resumed_dir = common::TempDir::new("train-aug-resumed");
    run_with(resumed_dir.path(), &p(1), false, &d);
    tch::manual_seed(999);
    let resumed = run_with(resumed_dir.path(), &p(2), true, &d);
    let losses = |h: &[EpochRecord]| -> Vec<(f64, f64, f64)> {
        h.iter()
            .map(|r| (r.train_loss, r.val_loss, r.val_accuracy))
            .collect()
    };
    assert_eq!(losses(&full), losses(&resumed));
    // Augmentation and weights change training: the plain run's losses differ.
    let plain_dir = common::TempDir::new("train-plain");
    let plain = run_with(plain_dir.path(), &params(2), false, &d);
    assert_ne!(plain[0].train_loss, full[0].train_loss);
}

#[test]
fn bad_settings_are_clear_errors() {
    let _guard = lock();
    let d = data();
    let dir = common::TempDir::new("train-bad");
    let mut vs = nn::VarStore::new(Device::Cpu);
    let net = cnn(&vs.root(), &small_cnn()).unwrap();
    for p in [
        TrainParams {
            epochs: 0,
            ..params(1)
        },
        TrainParams {
            learning_rate: 0.0,
            ..params(1)
        },
        TrainParams {
            batch_size: 0,
            ..params(1)
        },
        TrainParams {
            betas: (1.0, 0.999),
            ..params(1)
        },
    ] {
        let err = train(&net, &mut vs, &d, &p, &config(&p), dir.path(), false).unwrap_err();
        assert!(matches!(err, charlab::Error::InvalidParam { .. }), "{err}");
    }
    // Resuming with another configuration is refused.
    let p = params(1);
    train(&net, &mut vs, &d, &p, &config(&p), dir.path(), false).unwrap();
    let other = TrainParams {
        learning_rate: 1e-2,
        ..params(2)
    };
    let err = train(&net, &mut vs, &d, &other, &config(&other), dir.path(), true).unwrap_err();
    assert!(err.to_string().contains("another configuration"), "{err}");
}

#[test]
fn lr_sweep_picks_the_largest_stable_rate() {
    use charlab::tuning::{lr_sweep, pick_rate, SweepParams};
    let _g = lock();
    let d = data();
    let sweep = SweepParams {
        rates: vec![1e-3, 3e-3, 10.0],
        // Enough batches for 1e-3 to end 10% below where it stood after the warm-up.
        batches: 80,
        batch_size: 32,
        ..Default::default()
    };
    let points = lr_sweep(&d, &sweep, |vs| cnn(&vs.root(), &small_cnn())).unwrap();
    assert_eq!(points.len(), 3);
    for p in &points[..2] {
        assert!(p.stable, "{} unstable: {}", p.learning_rate, p.reason);
    }
    // A learning rate of 10 wrecks Adam on this network.
    assert!(!points[2].stable);
    assert_eq!(pick_rate(&points), Some(3e-3));
    // Repeatable: same seed, same curve.
    let again = lr_sweep(
        &d,
        &SweepParams {
            rates: vec![1e-3],
            ..sweep.clone()
        },
        |vs| cnn(&vs.root(), &small_cnn()),
    )
    .unwrap();
    assert_eq!(again[0].losses, points[0].losses);
    let bad = SweepParams {
        rates: vec![-1.0],
        ..sweep
    };
    assert!(lr_sweep(&d, &bad, |vs| cnn(&vs.root(), &small_cnn())).is_err());
}

#[test]
fn cnn_search_ranks_candidates_by_validation_loss() {
    use charlab::tuning::{cnn_candidates, cnn_search};
    let _g = lock();
    let d = data();
    let all = cnn_candidates();
    assert_eq!(all.len(), 12);
    for c in &all {
        assert!(c.check().is_ok(), "{c:?}");
    }
    let tmp = common::TempDir::new("search");
    let picked = [all[0].clone(), all[1].clone()];
    let res = cnn_search(&d, &picked, &params(1), tmp.path(), false).unwrap();
    assert_eq!(res.len(), 2);
    assert!(res[0].best_val_loss <= res[1].best_val_loss);
    assert!(res.iter().all(|r| r.parameters > 0 && r.best_epoch == 1));
}
