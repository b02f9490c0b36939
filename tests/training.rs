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

/// Copies the files of run folder `from` into a fresh folder.
fn copy_run(from: &std::path::Path, name: &str) -> common::TempDir {
    let to = common::TempDir::new(name);
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.path().join(e.file_name())).unwrap();
    }
    to
}

/// Bytes from a fixed linear congruential generator (no two faults alike, every run the same).
fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed;
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 56) as u8
        })
        .collect()
}

/// Tries to resume `dir` to 3 epochs; returns the error.
fn resume_err(dir: &std::path::Path, d: &TrainData) -> charlab::Error {
    let p = params(3);
    tch::manual_seed(7);
    let mut vs = nn::VarStore::new(Device::Cpu);
    let net = cnn(&vs.root(), &small_cnn()).unwrap();
    train(&net, &mut vs, d, &p, &config(&p), dir, true).unwrap_err()
}

#[test]
fn damaged_run_folders_are_clear_errors_on_resume() {
    let _guard = lock();
    let d = data();
    // Two epochs done, with the configuration (all but the epoch count) that `resume_err`
    // resumes with.
    let base = common::TempDir::new("damage-base");
    run(base.path(), 2, false, &d);
    type Damage = fn(&std::path::Path);
    let half: Damage = |p| {
        let bytes = std::fs::read(p).unwrap();
        std::fs::write(p, &bytes[..bytes.len() / 2]).unwrap();
    };
    let random: Damage = |p| {
        let n = std::fs::metadata(p).unwrap().len() as usize;
        std::fs::write(p, noise(n, n as u64)).unwrap();
    };
    // Same size, valid header: only the bytes of the last tensor change.
    let flipped: Damage = |p| {
        let mut bytes = std::fs::read(p).unwrap();
        let n = bytes.len();
        for b in &mut bytes[n - 16..] {
            *b ^= 0x5a;
        }
        std::fs::write(p, bytes).unwrap();
    };
    let cut_line: Damage = |p| {
        let text = std::fs::read_to_string(p).unwrap();
        let first = text.find('\n').unwrap();
        std::fs::write(p, &text[..first + 20]).unwrap();
    };
    let cases: [(&str, Damage, &[&str]); 10] = [
        (
            "epoch-002.safetensors",
            half,
            &["truncated", "from epoch 2"],
        ),
        (
            "epoch-002.safetensors",
            random,
            &["not a safetensors file", "from epoch 2"],
        ),
        (
            "epoch-002.safetensors",
            flipped,
            &["SHA-256", "from epoch 2"],
        ),
        (
            "epoch-002-optim.safetensors",
            half,
            &["truncated", "from epoch 2"],
        ),
        (
            "epoch-002-optim.safetensors",
            random,
            &["corrupt", "from epoch 2"],
        ),
        ("state.json", half, &["is unreadable"]),
        ("state.json", random, &["is unreadable"]),
        ("config.json", half, &["is unreadable"]),
        (
            "history.jsonl",
            cut_line,
            &["1 complete epochs", "says 2 are done"],
        ),
        ("history.jsonl", random, &["line 1 is corrupt"]),
    ];
    for (i, (file, damage, words)) in cases.iter().enumerate() {
        let dir = copy_run(base.path(), &format!("damage-{i}"));
        damage(&dir.path().join(file));
        let err = resume_err(dir.path(), &d);
        let msg = err.to_string();
        assert!(
            matches!(err, charlab::Error::BadData { .. }),
            "{file}: {msg}"
        );
        assert!(
            msg.contains(file),
            "{file}: message does not name the file: {msg}"
        );
        assert!(
            msg.contains("rerun without --resume"),
            "{file}: no fix: {msg}"
        );
        for w in *words {
            assert!(msg.contains(w), "{file}: `{w}` missing from: {msg}");
        }
        // The error released the folder's lock.
        assert!(!dir.path().join("run.lock").exists(), "{file}: lock left");
    }
    // A missing checkpoint says so.
    let dir = copy_run(base.path(), "damage-missing");
    std::fs::remove_file(dir.path().join("epoch-002-optim.safetensors")).unwrap();
    let msg = resume_err(dir.path(), &d).to_string();
    assert!(
        msg.contains("epoch-002-optim.safetensors: is missing"),
        "{msg}"
    );
    // The optimizer state of another network is refused, naming what does not fit.
    let dir = copy_run(base.path(), "damage-other-net");
    let state_path = dir.path().join("state.json");
    let mut state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state_path).unwrap()).unwrap();
    state.as_object_mut().unwrap().remove("optim_sha256");
    std::fs::write(&state_path, state.to_string()).unwrap();
    let other = [("step".to_string(), tch::Tensor::from_slice(&[3i64]))];
    tch::Tensor::write_safetensors(&other, dir.path().join("epoch-002-optim.safetensors")).unwrap();
    let msg = resume_err(dir.path(), &d).to_string();
    assert!(msg.contains("holds 1 tensors"), "{msg}");
}

#[test]
fn resume_ignores_a_partial_history_line_and_repairs_the_best_checkpoint() {
    let _guard = lock();
    let d = data();
    let straight = common::TempDir::new("tolerate-straight");
    let full = run(straight.path(), 3, false, &d);
    let dir = common::TempDir::new("tolerate");
    run(dir.path(), 2, false, &d);
    // A crash while the history of epoch 3 was written by hand or copied: a cut line.
    let hist = dir.path().join("history.jsonl");
    let mut text = std::fs::read_to_string(&hist).unwrap();
    text.push_str("{\"epoch\":3,\"train_lo");
    std::fs::write(&hist, text).unwrap();
    // Leftover temporary files of a killed writer are cleaned.
    std::fs::write(dir.path().join(".tmp999.0-epoch-003.safetensors"), b"part").unwrap();
    std::fs::write(dir.path().join(".state.json.tmp999.1"), b"{").unwrap();
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("state.json")).unwrap())
            .unwrap();
    let best_epoch = state["best_epoch"].as_u64().unwrap();
    std::fs::write(dir.path().join("best.safetensors"), b"garbage").unwrap();
    if best_epoch != 2 {
        // The best weights are not the checkpoint's: they are lost, and the error says so.
        let msg = resume_err(dir.path(), &d).to_string();
        assert!(
            msg.contains("best.safetensors") && msg.contains("best epoch"),
            "{msg}"
        );
        return;
    }
    tch::manual_seed(4242);
    let resumed = run(dir.path(), 3, true, &d);
    let losses = |h: &[EpochRecord]| -> Vec<(usize, f64, f64, f64)> {
        h.iter()
            .map(|r| (r.epoch, r.train_loss, r.val_loss, r.val_accuracy))
            .collect()
    };
    assert_eq!(losses(&resumed), losses(&full));
    let lines = std::fs::read_to_string(&hist).unwrap();
    assert_eq!(lines.lines().count(), 3, "{lines}");
    for name in [".tmp999.0-epoch-003.safetensors", ".state.json.tmp999.1"] {
        assert!(!dir.path().join(name).exists(), "{name} left");
    }
    // best.safetensors was rewritten and loads.
    let mut vs = nn::VarStore::new(Device::Cpu);
    let _net = cnn(&vs.root(), &small_cnn()).unwrap();
    vs.load(dir.path().join("best.safetensors")).unwrap();
}

#[test]
fn a_run_folder_takes_one_training_at_a_time() {
    let _guard = lock();
    let d = data();
    let dir = common::TempDir::new("lock");
    let lock_path = dir.path().join("run.lock");
    // A lock file left by a process that died (kill -9): nobody holds it, so it is taken over.
    std::fs::write(&lock_path, "1\n0\n").unwrap();
    run(dir.path(), 1, false, &d);
    assert!(!lock_path.exists(), "the lock outlived the training");
    // A second training of the folder while one runs fails at once, naming the holder.
    let err = std::thread::scope(|s| {
        // Tensors are not `Sync`: the thread gets its own copy of the data.
        let own = data();
        let path = dir.path();
        let first = s.spawn(move || run(path, 4, true, &own));
        let start = std::time::Instant::now();
        loop {
            let text = std::fs::read_to_string(&lock_path).unwrap_or_default();
            if text.lines().count() >= 2 {
                break;
            }
            assert!(
                start.elapsed().as_secs() < 60,
                "the first training never locked"
            );
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        let p = params(4);
        let mut vs = nn::VarStore::new(Device::Cpu);
        let net = cnn(&vs.root(), &small_cnn()).unwrap();
        let started = std::time::Instant::now();
        let err = train(&net, &mut vs, &d, &p, &config(&p), dir.path(), true).unwrap_err();
        assert!(
            started.elapsed().as_secs() < 2,
            "the second training waited"
        );
        assert_eq!(first.join().unwrap().len(), 4);
        err
    });
    let msg = err.to_string();
    assert!(matches!(err, charlab::Error::InUse { .. }), "{msg}");
    let pid = format!("in use by PID {} (started ", std::process::id());
    assert!(msg.contains(&pid), "{msg}");
    assert!(msg.contains("wait for it or stop it"), "{msg}");
    assert!(msg.contains(&dir.path().display().to_string()), "{msg}");
    // The refused call did not disturb the run: four epochs, once each.
    let text = std::fs::read_to_string(dir.path().join("history.jsonl")).unwrap();
    let epochs: Vec<u64> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["epoch"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(epochs, [1, 2, 3, 4]);
    // An error return after the lock was taken releases it too.
    let other = TrainParams {
        learning_rate: 1e-2,
        ..params(5)
    };
    let mut vs = nn::VarStore::new(Device::Cpu);
    let net = cnn(&vs.root(), &small_cnn()).unwrap();
    let err = train(&net, &mut vs, &d, &other, &config(&other), dir.path(), true).unwrap_err();
    assert!(err.to_string().contains("another configuration"), "{err}");
    assert!(!lock_path.exists());
    assert_eq!(run(dir.path(), 5, true, &d).len(), 5);
}

#[test]
fn bf16_trains_learns_and_resumes_exactly_and_epochs_record_their_phases() {
    let _guard = lock();
    let d = data();
    let p = TrainParams {
        precision: charlab::Precision::Bf16,
        ..params(3)
    };
    let straight = common::TempDir::new("train-bf16");
    let full = run_with(straight.path(), &p, false, &d);
    assert!(
        full[2].train_loss < full[0].train_loss * 0.8,
        "bf16 did not learn: {full:?}"
    );
    // The precision is part of the run's identity (config.json) and differs from fp32's run.
    let saved = std::fs::read_to_string(straight.path().join("config.json")).unwrap();
    assert!(saved.contains("\"precision\": \"bf16\""), "{saved}");
    let fp32 = common::TempDir::new("train-bf16-fp32");
    let plain = run(fp32.path(), 1, false, &d);
    assert_ne!(plain[0].train_loss, full[0].train_loss);
    let plain_config = std::fs::read_to_string(fp32.path().join("config.json")).unwrap();
    assert!(!plain_config.contains("precision"), "{plain_config}");
    // Resumed in bf16, the same history as uninterrupted.
    let resumed_dir = common::TempDir::new("train-bf16-resumed");
    run_with(
        resumed_dir.path(),
        &TrainParams {
            epochs: 2,
            ..p.clone()
        },
        false,
        &d,
    );
    let resumed = run_with(resumed_dir.path(), &p, true, &d);
    for (a, b) in full.iter().zip(&resumed) {
        assert_eq!(a.train_loss, b.train_loss, "epoch {}", a.epoch);
        assert_eq!(a.val_loss, b.val_loss, "epoch {}", a.epoch);
    }
    // Each epoch says where its time went, and the phases fit inside the epoch.
    for r in &full {
        let ph = r.phases.as_ref().expect("phases recorded");
        let parts = [
            ph.data,
            ph.forward_backward,
            ph.optimizer,
            ph.evaluation,
            ph.checkpoint,
            ph.hashing,
            ph.history,
        ];
        assert!(parts.iter().all(|&s| s >= 0.0), "{ph:?}");
        assert!(ph.forward_backward > 0.0 && ph.evaluation > 0.0, "{ph:?}");
        // `history` (the TensorBoard write) comes after `seconds` was taken.
        let timed = parts.iter().sum::<f64>() - ph.history;
        assert!(timed <= r.seconds + 1e-6, "{ph:?} vs {}", r.seconds);
    }
}
