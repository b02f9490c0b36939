//! `charlab device` (what libtorch sees) and `charlab bench-nets` (each network trained for a
//! few epochs on the data, timed): the two commands the GPU bundle's device script runs
//! (`scripts/gpu/`), useful on any machine.

use std::path::Path;
use std::time::Instant;

use serde::Serialize;
use tch::Device;

use crate::data::Dataset;
use crate::metrics::ConfusionMatrix;
use crate::models::{CnnParams, EfficientNetParams, Net, ResNetParams};
use crate::training::{EpochRecord, Fit, TrainData, TrainParams};
use crate::{paths, split, Error, Precision, Result};

/// What `charlab device` reports.
#[derive(Debug, Serialize)]
pub(super) struct DeviceReport {
    /// `cuda:0` when libtorch has a GPU, else `cpu`.
    device: String,
    cuda_available: bool,
    cuda_devices: i64,
    cudnn_available: bool,
    /// libtorch's CPU threads.
    threads: i64,
    /// Whether `libtorch_cuda` was loaded at start (the GPU bundle's build loads it with
    /// `dlopen`; the default build links it) and, if not, why.
    cuda_library: String,
    /// A small matrix product on the device, checked against the CPU's.
    matmul_check: String,
}

/// The device report; `cuda_library` is what the binary's start said about libtorch_cuda.
pub(super) fn device_report(cuda_library: &str) -> Result<DeviceReport> {
    let device = Device::cuda_if_available();
    let a = tch::Tensor::f_arange(12, (tch::Kind::Float, Device::Cpu))?.f_reshape([3, 4])?;
    let want = a.f_matmul(&a.f_tr()?)?;
    let got = a
        .f_to_device(device)?
        .f_matmul(&a.f_to_device(device)?.f_tr()?)?
        .f_to_device(Device::Cpu)?;
    let ok = got.allclose(&want, 1e-5, 1e-5, false);
    Ok(DeviceReport {
        device: crate::sections::neural::device_name(device),
        cuda_available: tch::Cuda::is_available(),
        cuda_devices: tch::Cuda::device_count(),
        cudnn_available: tch::Cuda::cudnn_is_available(),
        threads: i64::from(tch::get_num_threads()),
        cuda_library: cuda_library.to_string(),
        matmul_check: if ok { "ok".into() } else { "MISMATCH".into() },
    })
}

/// The networks `charlab bench-nets` knows, by name.
pub(super) const NETS: [&str; 4] = ["cnn", "cnn4", "efficientnet", "resnet18"];

fn net_of(name: &str, n_classes: usize) -> Result<Net> {
    let net = match name {
        "cnn" => Net::Cnn(CnnParams::default()),
        "cnn4" => Net::Cnn(CnnParams::of_blocks(&[(16, 5), (32, 5), (64, 5), (128, 5)])),
        "efficientnet" => Net::Efficientnet(EfficientNetParams::b0()),
        "resnet18" => Net::Resnet(ResNetParams::resnet18()),
        other => {
            return Err(Error::param(
                "nets",
                format!("`{other}` is not a network; use {}", NETS.join(", ")),
            ))
        }
    };
    Ok(net.with_classes(n_classes))
}

/// One network's row of `charlab bench-nets`.
#[derive(Debug, Serialize)]
struct NetRow {
    name: String,
    label: String,
    parameters: i64,
    epochs: usize,
    /// Training images per second of epoch wall time (validation included), over the epochs.
    train_images_per_second: f64,
    /// Test-part inference, images per second.
    inference_images_per_second: f64,
    test_accuracy: f64,
    test_macro_f1: f64,
    history: Vec<EpochRecord>,
}

/// The file `charlab bench-nets --out` writes.
#[derive(Debug, Serialize)]
struct BenchNets {
    device: String,
    threads: usize,
    precision: Precision,
    data_hash: String,
    split_sizes: (usize, usize, usize),
    networks: Vec<NetRow>,
    peak_memory_mb: f64,
}

/// Trains each of `nets` for `epochs` on `data`'s seed-0 split (from scratch, batch 128, on
/// the GPU when libtorch has one) into `data/models/bench-nets/<name>/`, scores it on the test
/// part, prints a table and writes the rows to `out`.
pub(super) fn bench_nets(
    data: &Dataset,
    nets: &[String],
    epochs: usize,
    precision: Precision,
    out: Option<&Path>,
) -> Result<()> {
    let split = split::random_split(data.len(), 0)?;
    let device = Device::cuda_if_available();
    let train_data = TrainData::new(data, &split, device)?;
    let mut rows = Vec::new();
    println!(
        "| network | parameters | epochs | train images/s | inference images/s | test accuracy % |"
    );
    println!("|---|---|---|---|---|---|");
    for name in nets {
        let net = net_of(name, data.n_classes())?;
        let params = TrainParams {
            epochs,
            precision,
            ..Default::default()
        };
        let dir = paths::models_dir().join("bench-nets").join(name);
        let fit = Fit {
            resume: false,
            ..Fit::new(net.clone(), params, &dir)
        };
        eprintln!(
            "bench-nets: {} for {epochs} epochs on {}",
            net.label(),
            crate::sections::neural::device_name(device)
        );
        let trained = fit.run(&train_data)?;
        let t = Instant::now();
        let preds = trained.predict(data, &split.test)?;
        let infer = split.test.len() as f64 / t.elapsed().as_secs_f64().max(1e-9);
        let cm = ConfusionMatrix::new(&data.labels_at(&split.test), &preds, data.n_classes())?;
        let secs: f64 = trained.history.iter().map(|r| r.seconds).sum();
        let row = NetRow {
            name: name.clone(),
            label: net.label(),
            parameters: trained.parameters(),
            epochs,
            train_images_per_second: (split.train.len() * epochs) as f64 / secs.max(1e-9),
            inference_images_per_second: infer,
            test_accuracy: cm.accuracy(),
            test_macro_f1: cm.macro_f1(),
            history: trained.history.clone(),
        };
        println!(
            "| {} ({}) | {} | {epochs} | {:.0} | {:.0} | {:.2} |",
            row.name,
            row.label,
            row.parameters,
            row.train_images_per_second,
            row.inference_images_per_second,
            100.0 * row.test_accuracy
        );
        rows.push(row);
    }
    if let Some(out) = out {
        let report = BenchNets {
            device: crate::sections::neural::device_name(device),
            threads: crate::threads(),
            precision,
            data_hash: data.content_hash(),
            split_sizes: split.sizes(),
            networks: rows,
            peak_memory_mb: crate::peak_memory_mb().unwrap_or(0.0),
        };
        paths::write_json(out, &report)?;
        println!("wrote {}", paths::relative(out));
    }
    Ok(())
}
