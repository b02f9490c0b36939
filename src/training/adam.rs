//! Adam with its state kept in plain tensors, so that a run folder can checkpoint it
//! (`tch::nn::Adam`'s moments cannot be saved).

use std::path::Path;

use tch::nn::VarStore;
use tch::{Kind, Tensor};

use super::params::TrainParams;
use super::weights::write_tensors;
use crate::Result;

/// Adam with its state kept in plain tensors so that it can be saved and restored.
pub(crate) struct Adam {
    params: Vec<(String, Tensor)>,
    m: Vec<Tensor>,
    v: Vec<Tensor>,
    pub(crate) step: i64,
}

impl Adam {
    pub(crate) fn new(vs: &VarStore) -> Adam {
        let mut params: Vec<(String, Tensor)> = vs
            .variables()
            .into_iter()
            .filter(|(_, t)| t.requires_grad())
            .collect();
        params.sort_by(|a, b| a.0.cmp(&b.0));
        let m = params.iter().map(|(_, t)| t.zeros_like()).collect();
        let v = params.iter().map(|(_, t)| t.zeros_like()).collect();
        Adam {
            params,
            m,
            v,
            step: 0,
        }
    }

    pub(crate) fn zero_grad(&mut self) {
        for (_, p) in self.params.iter_mut() {
            p.zero_grad();
        }
    }

    pub(crate) fn step(&mut self, t: &TrainParams) {
        self.step += 1;
        let (b1, b2) = t.betas;
        let bc1 = 1.0 - b1.powi(self.step as i32);
        let bc2 = 1.0 - b2.powi(self.step as i32);
        tch::no_grad(|| {
            for (i, (_, p)) in self.params.iter_mut().enumerate() {
                let g = p.grad();
                if !g.defined() {
                    continue;
                }
                let g = if t.weight_decay > 0.0 {
                    &g + &*p * t.weight_decay
                } else {
                    g
                };
                let m = &self.m[i] * b1 + &g * (1.0 - b1);
                let v = &self.v[i] * b2 + &g * &g * (1.0 - b2);
                let update = (&m / bc1) / ((&v / bc2).sqrt() + t.eps) * t.learning_rate;
                let new_p = &*p - update;
                p.copy_(&new_p);
                self.m[i] = m;
                self.v[i] = v;
            }
        });
    }

    pub(crate) fn save(&self, path: &Path) -> Result<()> {
        let mut named: Vec<(String, Tensor)> = Vec::new();
        for (i, (name, _)) in self.params.iter().enumerate() {
            // safetensors needs contiguous (NCHW) data; channels-last moments are copied.
            named.push((format!("m.{name}"), self.m[i].contiguous()));
            named.push((format!("v.{name}"), self.v[i].contiguous()));
        }
        named.push(("step".into(), Tensor::from_slice(&[self.step])));
        write_tensors(&named, path)
    }

    /// Restores the state saved in `path`, after checking that it is the state of this
    /// network's parameters; nothing changes when it is not. The error says what is wrong.
    pub(crate) fn load(&mut self, path: &Path) -> std::result::Result<(), String> {
        let named = super::weights::read_tensors(path)?;
        let expected = 2 * self.params.len() + 1;
        if named.len() != expected {
            return Err(format!(
                "holds {} tensors, the optimizer of this network has {expected}",
                named.len()
            ));
        }
        let mut m = Vec::with_capacity(self.params.len());
        let mut v = Vec::with_capacity(self.params.len());
        for (name, p) in &self.params {
            for (prefix, out) in [("m", &mut m), ("v", &mut v)] {
                let key = format!("{prefix}.{name}");
                let t = named
                    .get(&key)
                    .ok_or_else(|| format!("lacks `{key}`: the state of another network"))?;
                super::weights::check_like(t, p, &key)?;
                out.push(t.to_device(p.device()));
            }
        }
        let step = named.get("step").ok_or("lacks `step`")?;
        if step.size() != [1] || step.kind() != Kind::Int64 {
            return Err(format!(
                "`step` is {:?} {:?}, not one int64",
                step.kind(),
                step.size()
            ));
        }
        let step = step.f_int64_value(&[0]).map_err(|e| e.to_string())?;
        if step < 0 {
            return Err(format!("`step` is {step}"));
        }
        self.m = m;
        self.v = v;
        self.step = step;
        Ok(())
    }
}
