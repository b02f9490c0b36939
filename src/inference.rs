//! Inference: a trained run folder (`data/models/<section>/`) loaded back as a classifier, the
//! task's API: images in, one label per image out.
//!
//! A run folder holds `config.json` (the model's configuration), `normalizer.json` (the
//! training part's mean and std) and `best.safetensors` (the best-validation-loss weights).

use std::path::Path;

use tch::nn::{ModuleT, VarStore};
use tch::{Device, Tensor};

use crate::data::Dataset;
use crate::models::cnn::{cnn, CnnParams};
use crate::models::efficientnet::{efficientnet, EfficientNetParams};
use crate::paths::read_json;
use crate::split::Normalizer;
use crate::{Error, Result};

/// A trained network ready to label images.
#[derive(Debug)]
pub struct Predictor {
    net: Box<dyn ModuleT>,
    // Keeps the weights alive (the network's variables live in it).
    _vs: VarStore,
    normalizer: Normalizer,
    device: Device,
    /// `cnn` or `efficientnet-b0` (...).
    pub kind: String,
}

impl Predictor {
    /// Loads the run in `run_dir` (CNN or EfficientNet, told apart by its `config.json`) on
    /// CUDA when available, else the CPU.
    pub fn load(run_dir: &Path) -> Result<Predictor> {
        let config: serde_json::Value = read_json(&run_dir.join("config.json"))?;
        let norm_path = run_dir.join("normalizer.json");
        if !norm_path.exists() {
            return Err(Error::bad_data(
                &norm_path,
                "missing; runs trained before it was saved get it from \
                 `charlab train <model> --resume` (which only evaluates a finished run)",
            ));
        }
        let normalizer: Normalizer = read_json(&norm_path)?;
        let device = Device::cuda_if_available();
        let mut vs = VarStore::new(device);
        let model = config
            .get("model")
            .cloned()
            .ok_or_else(|| Error::bad_data(run_dir.join("config.json"), "has no `model` entry"))?;
        let parse_err = |e: serde_json::Error| Error::Json {
            path: run_dir.join("config.json"),
            source: e,
        };
        let (net, kind): (Box<dyn ModuleT>, String) = if model.get("variant").is_some() {
            let p: EfficientNetParams = serde_json::from_value(model).map_err(parse_err)?;
            let kind = format!("efficientnet-{}", p.variant);
            (Box::new(efficientnet(&vs.root(), &p)?), kind)
        } else {
            let p: CnnParams = serde_json::from_value(model).map_err(parse_err)?;
            (Box::new(cnn(&vs.root(), &p)?), "cnn".into())
        };
        if crate::channels_last() {
            crate::models::to_channels_last(&vs);
        }
        let weights = run_dir.join("best.safetensors");
        vs.load(&weights).map_err(|e| {
            Error::bad_data(
                &weights,
                format!("cannot load the weights ({e}); is the run finished?"),
            )
        })?;
        Ok(Predictor {
            net,
            _vs: vs,
            normalizer,
            device,
            kind,
        })
    }

    /// Class logits `[n, n_classes]` of `images`, `[n, 1, h, w]` float 0/1 (not normalised),
    /// in batches of 1,024.
    pub fn logits(&self, images: &Tensor) -> Result<Tensor> {
        let n = images.size()[0];
        let mut out = Vec::new();
        tch::no_grad(|| {
            let mut start = 0;
            while start < n {
                let len = (n - start).min(1024);
                let xb = images.narrow(0, start, len).to_device(self.device);
                let xb = (xb - self.normalizer.mean as f64) / self.normalizer.std as f64;
                out.push(self.net.forward_t(&xb, false).to_device(Device::Cpu));
                start += len;
            }
        });
        if out.is_empty() {
            return Err(Error::param("images", "no image to label"));
        }
        Ok(Tensor::cat(&out, 0))
    }

    /// The most likely class of every image of `data` (its labels are not used).
    pub fn predict(&self, data: &Dataset) -> Result<Vec<usize>> {
        let x = Tensor::from_slice(data.images())
            .view([
                data.len() as i64,
                1,
                data.height() as i64,
                data.width() as i64,
            ])
            .to_kind(tch::Kind::Float);
        let pred = self.logits(&x)?.argmax(-1, false);
        Ok(Vec::<i64>::try_from(&pred)?
            .into_iter()
            .map(|p| p.max(0) as usize)
            .collect())
    }
}
