//! Training and inference throughput of section 6.1's networks on this machine: the report's
//! CNN, the tuned 4-block CNN, EfficientNet-b0 and ResNet-18 (1 x 56 x 56 stem): training steps
//! with Adam (tch's) on channels-last weights, batch 128, random binary images.
//!
//! `cargo run --release --example throughput [-- STEPS]` (`make bench-nets`); set
//! `CHARLAB_THREADS` for the thread count (default: all cores).

use std::time::Instant;

use charlab::models::cnn::cnn;
use charlab::models::efficientnet::{efficientnet, EfficientNetParams};
use charlab::models::resnet::{resnet, ResNetParams};
use charlab::models::CnnParams;
use charlab::tch::nn::{self, ModuleT, OptimizerConfig};
use charlab::tch::{Device, Kind, Tensor};

fn measure(name: &str, vs: &nn::VarStore, net: &dyn ModuleT, steps: usize) {
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
        let loss = net.forward_t(&x, true).cross_entropy_for_logits(&y);
        opt.backward_step(&loss);
    };
    for _ in 0..2 {
        step(&mut opt);
    }
    let t = Instant::now();
    for _ in 0..steps {
        step(&mut opt);
    }
    let train = (128 * steps) as f64 / t.elapsed().as_secs_f64();
    let xe = x.repeat([8, 1, 1, 1]);
    let t = Instant::now();
    let _ = charlab::tch::no_grad(|| net.forward_t(&xe, false));
    let infer = 1024.0 / t.elapsed().as_secs_f64();
    println!("| {name} | {params} | {train:.0} | {infer:.0} |");
}

fn main() {
    let steps: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    charlab::tch::set_num_threads(charlab::threads() as i32);
    charlab::tch::manual_seed(0);
    println!("{} threads, batch 128, {steps} steps\n", charlab::threads());
    println!("| network | parameters | train images/s | inference images/s |\n|---|---|---|---|");
    let vs = nn::VarStore::new(Device::Cpu);
    let net = cnn(&vs.root(), &Default::default()).expect("cnn");
    measure("CNN (report)", &vs, &net, steps);
    let vs = nn::VarStore::new(Device::Cpu);
    let net = cnn(
        &vs.root(),
        &CnnParams::of_blocks(&[(16, 5), (32, 5), (64, 5), (128, 5)]),
    )
    .expect("cnn4");
    measure("CNN, 4 blocks 16-128 @5x5", &vs, &net, steps);
    let vs = nn::VarStore::new(Device::Cpu);
    let net = efficientnet(&vs.root(), &EfficientNetParams::b0()).expect("b0");
    measure("EfficientNet-b0", &vs, &net, steps);
    let vs = nn::VarStore::new(Device::Cpu);
    let net = resnet(&vs.root(), &ResNetParams::resnet18()).expect("resnet18");
    measure("ResNet-18 (3x3 stem)", &vs, &net, steps.div_ceil(3));
    augmentation_cost();
}

/// charlab's training loop on 6,000 embedded images (4-block CNN, 2 epochs), with and without
/// augmentation (prepared on the batch thread): the cost of augmenting, in images/s.
fn augmentation_cost() {
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
        println!(
            "| {} | {rate:.0} |",
            if augment.is_some() { "yes" } else { "no" }
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "\naugmentation costs {:.1}% of the training throughput",
        100.0 * (1.0 - rates[1] / rates[0])
    );
}
