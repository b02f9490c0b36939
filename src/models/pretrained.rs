//! Starting weights from a file: torchvision's or timm's `state_dict` saved as safetensors,
//! matched to a network's variables by name and shape (the report's method: EfficientNet-b0
//! from timm's ImageNet weights, classifier replaced, nothing frozen).

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use tch::nn;
use tch::Tensor;

use crate::{Error, Result};

/// What [`load_pretrained`] did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LoadReport {
    /// Variables copied from the file (the stem adapted when it had 3 input channels).
    pub loaded: Vec<String>,
    /// Variables left as initialised, with the reason (the classifier, shape mismatches,
    /// absent from the file).
    pub skipped: Vec<(String, String)>,
    /// Tensors of the file that the model has no variable for (e.g. `num_batches_tracked`).
    pub unused: Vec<String>,
}

/// timm's EfficientNet names translated to torchvision's (`conv_stem` -> `features.0.0`,
/// `blocks.i.j.conv_dw` -> `features.<i+1>.j.block.<k>.0`, ...). A block with `conv_pwl` is an
/// inverted residual (expand, depthwise, squeeze-excite, project); one without is timm's
/// depthwise-separable block (depthwise, squeeze-excite, project). Other names pass through.
pub fn timm_to_torchvision(file: HashMap<String, Tensor>) -> HashMap<String, Tensor> {
    let inverted: std::collections::HashSet<String> = file
        .keys()
        .filter_map(|k| k.strip_suffix(".conv_pwl.weight").map(str::to_string))
        .collect();
    file.into_iter()
        .map(|(name, t)| {
            let parts: Vec<&str> = name.split('.').collect();
            let new = match parts.as_slice() {
                ["conv_stem", rest @ ..] => format!("features.0.0.{}", rest.join(".")),
                ["bn1", rest @ ..] => format!("features.0.1.{}", rest.join(".")),
                ["conv_head", rest @ ..] => format!("features.8.0.{}", rest.join(".")),
                ["bn2", rest @ ..] => format!("features.8.1.{}", rest.join(".")),
                ["classifier", rest @ ..] => format!("classifier.1.{}", rest.join(".")),
                ["blocks", i, j, layer, rest @ ..] => {
                    let ir = inverted.contains(&format!("blocks.{i}.{j}"));
                    let stage = i.parse::<usize>().map_or(0, |v| v + 1);
                    let (layer, rest) = match (*layer, rest) {
                        ("se", [conv, r @ ..]) => {
                            let fc = if *conv == "conv_reduce" { "fc1" } else { "fc2" };
                            (format!("{}.{fc}", if ir { 2 } else { 1 }), r)
                        }
                        (l, r) => {
                            let k = match (ir, l) {
                                (true, "conv_pw") => "0.0",
                                (true, "bn1") => "0.1",
                                (true, "conv_dw") => "1.0",
                                (true, "bn2") => "1.1",
                                (true, "conv_pwl") => "3.0",
                                (true, "bn3") => "3.1",
                                (false, "conv_dw") => "0.0",
                                (false, "bn1") => "0.1",
                                (false, "conv_pw") => "2.0",
                                (false, "bn2") => "2.1",
                                _ => l,
                            };
                            (k.to_string(), r)
                        }
                    };
                    format!("features.{stage}.{j}.block.{layer}.{}", rest.join("."))
                }
                _ => name.clone(),
            };
            (new, t)
        })
        .collect()
}

/// Loads weights from a safetensors file (torchvision or timm names, e.g. its ImageNet b0 converted
/// with `safetensors.torch.save_file(model.state_dict(), path)`) into the variables of `vs`,
/// skipping the classifier (`classifier.*`, replaced for the 36 classes). A stem saved for 3
/// input channels is summed over them to fit a 1-channel stem. Nothing is loaded when the file
/// cannot be read.
pub fn load_pretrained(vs: &mut nn::VarStore, path: &Path) -> Result<LoadReport> {
    let file: HashMap<String, Tensor> = Tensor::read_safetensors(path)
        .map_err(|e| {
            Error::bad_data(
                path,
                format!(
                    "cannot read it as safetensors ({e}); give a .safetensors weights file \
                     (a PyTorch state dict converts with `safetensors.torch.save_file(\
                     torch.load(PTH), OUT)`)"
                ),
            )
        })?
        .into_iter()
        .collect();
    let file = if file.contains_key("conv_stem.weight") {
        timm_to_torchvision(file)
    } else {
        file
    };
    let mut report = LoadReport::default();
    let mut names: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    names.sort_by(|a, b| a.0.cmp(&b.0));
    let mut updates = Vec::new();
    for (name, var) in &names {
        if name.starts_with("classifier.") {
            report
                .skipped
                .push((name.clone(), "classifier replaced".into()));
            continue;
        }
        let Some(src) = file.get(name) else {
            report
                .skipped
                .push((name.clone(), "not in the file".into()));
            continue;
        };
        let (want, got) = (var.size(), src.size());
        let value = if want == got {
            src.shallow_clone()
        } else if want.len() == 4
            && got.len() == 4
            && want[1] == 1
            && (want[0], want[2], want[3]) == (got[0], got[2], got[3])
        {
            src.sum_dim_intlist(&[1i64][..], true, src.kind())
        } else {
            report.skipped.push((
                name.clone(),
                format!("shape {got:?} in the file, {want:?} in the model"),
            ));
            continue;
        };
        updates.push((var.shallow_clone(), value));
        report.loaded.push(name.clone());
    }
    let mismatched: Vec<String> = report
        .skipped
        .iter()
        .filter(|(n, _)| !n.starts_with("classifier."))
        .map(|(n, why)| format!("{n}: {why}"))
        .collect();
    if !mismatched.is_empty() {
        let shown = mismatched.iter().take(12).cloned().collect::<Vec<_>>();
        return Err(Error::bad_data(
            path,
            format!(
                "{} of the model's {} tensors do not match the file (nothing was loaded): {}{}; \
                 give weights of the same EfficientNet variant in torchvision's or timm's naming",
                mismatched.len(),
                names.len(),
                shown.join("; "),
                if mismatched.len() > shown.len() {
                    "; ..."
                } else {
                    ""
                }
            ),
        ));
    }
    tch::no_grad(|| {
        for (mut var, value) in updates {
            var.copy_(&value.to_kind(var.kind()).to_device(var.device()));
        }
    });
    let known: std::collections::HashSet<&String> = names.iter().map(|(n, _)| n).collect();
    report.unused = file
        .keys()
        .filter(|k| !known.contains(k))
        .cloned()
        .collect();
    report.unused.sort();
    Ok(report)
}
