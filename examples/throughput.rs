//! Training and inference throughput of section 6.1's networks on this machine: the report's
//! CNN, the tuned 4-block CNN, EfficientNet-b0 and ResNet-18 (1 x 56 x 56 stem): training steps
//! with Adam (tch's) on channels-last weights, batch 128, random binary images.
//!
//! Training speed is the median of the timed steps, inference the fastest of 3 passes over
//! 1,024 images. The CNN and EfficientNet-b0 are measured twice, in fp32 and with bf16 autocast
//! ([`charlab::Precision::Bf16`]).
//!
//! `cargo run --release --example throughput [-- STEPS [JSON]]` (`make bench-nets`, which
//! saves the table as `target/bench/nets.json` and records it with its commit and machine:
//! `scripts/bench_history.py`); set `CHARLAB_THREADS` for the thread count (default: all
//! cores).

use std::time::Instant;

use charlab::models::cnn::cnn;
use charlab::models::efficientnet::{efficientnet, EfficientNetParams};
use charlab::models::resnet::{resnet, ResNetParams};
use charlab::models::CnnParams;
use charlab::tch::nn::{self, ModuleT, OptimizerConfig};
use charlab::tch::{Device, Kind, Tensor};
use charlab::Precision;
use serde_json::{json, Value};

fn measure(
    name: &str,
    vs: &nn::VarStore,
    net: &dyn ModuleT,
    steps: usize,
    precision: Precision,
) -> Value {
    let params: i64 = vs
        .trainable_variables()
        .iter()
        .map(|t| t.numel() as i64)
        .sum();
    charlab::models::to_channels_last(vs);
    let mut opt = nn::Adam::default().build(vs, 1e-3).expect("optimizer");
    let x = Tensor::rand([128, 1, 56, 56], (Kind::Float, Device::Cpu))
        .gt(0.8)
        .to_kind(Kind::Float);
    let y = Tensor::randint(36, [128], (Kind::Int64, Device::Cpu));
    let step = |opt: &mut nn::Optimizer| {
        let logits = precision.run(Device::Cpu, || net.forward_t(&x, true));
        let loss = logits.to_kind(Kind::Float).cross_entropy_for_logits(&y);
        opt.backward_step(&loss);
    };
    for _ in 0..2 {
        step(&mut opt);
    }
    // The median step and the fastest of 3 inference passes: single timings of a few steps
    // vary by more than the 10% the regression check flags (scripts/bench_history.py).
    let mut times: Vec<f64> = (0..steps.max(1))
        .map(|_| {
            let t = Instant::now();
            step(&mut opt);
            t.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let train = 128.0 / times[times.len() / 2];
    let xe = x.repeat([8, 1, 1, 1]);
    let best = (0..3)
        .map(|_| {
            let t = Instant::now();
            let _ =
                charlab::tch::no_grad(|| precision.run(Device::Cpu, || net.forward_t(&xe, false)));
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min);
    let infer = 1024.0 / best;
    println!("| {name} | {precision} | {params} | {train:.0} | {infer:.0} |");
    json!({"name": name, "precision": precision.name(), "parameters": params,
           "train_images_per_second": train, "inference_images_per_second": infer})
}

fn main() {
    let mut args = std::env::args().skip(1);
    let steps: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(10);
    let out = args.next();
    charlab::tch::set_num_threads(charlab::threads() as i32);
    println!("{} threads, batch 128, {steps} steps\n", charlab::threads());
    println!(
        "| network | precision | parameters | train images/s | inference images/s |\n\
         |---|---|---|---|---|"
    );
    let mut rows = Vec::new();
    for precision in [Precision::Fp32, Precision::Bf16] {
        charlab::tch::manual_seed(0);
        let vs = nn::VarStore::new(Device::Cpu);
        let net = cnn(&vs.root(), &Default::default()).expect("cnn");
        rows.push(measure("CNN (report)", &vs, &net, steps, precision));
    }
    let vs = nn::VarStore::new(Device::Cpu);
    let net = cnn(
        &vs.root(),
        &CnnParams::of_blocks(&[(16, 5), (32, 5), (64, 5), (128, 5)]),
    )
    .expect("cnn4");
    rows.push(measure(
        "CNN, 4 blocks 16-128 @5x5",
        &vs,
        &net,
        steps,
        Precision::Fp32,
    ));
    for precision in [Precision::Fp32, Precision::Bf16] {
        charlab::tch::manual_seed(0);
        let vs = nn::VarStore::new(Device::Cpu);
        let net = efficientnet(&vs.root(), &EfficientNetParams::b0()).expect("b0");
        rows.push(measure("EfficientNet-b0", &vs, &net, steps, precision));
    }
    let vs = nn::VarStore::new(Device::Cpu);
    let net = resnet(&vs.root(), &ResNetParams::resnet18()).expect("resnet18");
    rows.push(measure(
        "ResNet-18 (3x3 stem)",
        &vs,
        &net,
        steps.div_ceil(3),
        Precision::Fp32,
    ));
    let loop_rows = augmentation_cost();
    if let Some(path) = out {
        let table = json!({"threads": charlab::threads(), "batch": 128, "steps": steps,
                           "networks": rows, "loop": loop_rows});
        let text = serde_json::to_string_pretty(&table).expect("json");
        std::fs::write(&path, text + "\n").expect("write the table");
        println!("\nwrote {path}");
    }
}

/// charlab's training loop on 6,000 embedded images (4-block CNN, 2 epochs), with and without
/// augmentation (prepared on the batch thread): the cost of augmenting, in images/s.
fn augmentation_cost() -> Vec<Value> {
    use charlab::data::synth::{generate, SynthParams};
    use charlab::training::{train, TrainData, TrainParams};
    let data = generate(&SynthParams::new(6_000, 0).expect("size")).expect("data");
    let split = charlab::split::random_split(data.len(), 0).expect("split");
    let td = TrainData::new(&data, &split, Device::Cpu).expect("tensors");
    let dir = std::env::temp_dir().join(format!("charlab-throughput-{}", std::process::id()));
    println!(
        "\ncharlab's training loop, 4-block CNN, {} training images, 2 epochs:\n",
        split.train.len()
    );
    println!("| augmentation | train images/s |\n|---|---|");
    let mut rates = Vec::new();
    let mut loop_rows = Vec::new();
    for augment in [None, Some(charlab::augment::AugmentParams::default())] {
        charlab::tch::manual_seed(0);
        let mut vs = nn::VarStore::new(Device::Cpu);
        let net = cnn(
            &vs.root(),
            &CnnParams::of_blocks(&[(16, 5), (32, 5), (64, 5), (128, 5)]),
        )
        .expect("cnn4");
        let p = TrainParams {
            epochs: 2,
            augment: augment.clone(),
            ..Default::default()
        };
        let out =
            train(&net, &mut vs, &td, &p, &serde_json::json!({}), &dir, false).expect("train");
        let secs: f64 = out.history.iter().map(|r| r.seconds).sum();
        let rate = (2 * split.train.len()) as f64 / secs;
        rates.push(rate);
        let label = if augment.is_some() { "yes" } else { "no" };
        println!("| {label} | {rate:.0} |");
        loop_rows.push(json!({"augmentation": label, "images_per_second": rate}));
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "\naugmentation costs {:.1}% of the training throughput",
        100.0 * (1.0 - rates[1] / rates[0])
    );
    loop_rows
}
