//! Numerical precision of the networks' arithmetic: [`Precision::Fp32`] (the default) or
//! [`Precision::Bf16`], libtorch's automatic mixed precision ("autocast") in bfloat16: inside
//! [`Precision::run`], convolutions, matrix products and linear layers compute in bf16 while
//! the weights, Adam's moments, the gradients' accumulation and the loss stay fp32, as
//! `torch.autocast(device, dtype=torch.bfloat16)` does in PyTorch. On a CPU with AVX512-BF16 or
//! AMX, oneDNN runs those products on the bf16 units.
//!
//! tch exposes only CUDA's half-precision autocast switch, so the per-device switches of
//! `ATen/autocast_mode.h` are declared here by their C++ names; they are plain setters of
//! thread-local flags (they do not throw), present in libtorch since 2.3 (2.11 and 2.13
//! included).

use serde::{Deserialize, Serialize};
use tch::Device;

/// The arithmetic a network trains or predicts in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// Everything in float32 (default).
    #[default]
    Fp32,
    /// bf16 autocast for convolutions and matrix products; fp32 weights, optimiser and loss.
    Bf16,
}

// c10::DeviceType and c10::ScalarType are `enum class : int8_t`.
const DEVICE_CPU: i8 = 0;
const DEVICE_CUDA: i8 = 1;
const SCALAR_BFLOAT16: i8 = 15;

extern "C" {
    #[link_name = "_ZN2at8autocast19is_autocast_enabledEN3c1010DeviceTypeE"]
    fn at_is_autocast_enabled(device: i8) -> bool;
    #[link_name = "_ZN2at8autocast20set_autocast_enabledEN3c1010DeviceTypeEb"]
    fn at_set_autocast_enabled(device: i8, enabled: bool);
    #[link_name = "_ZN2at8autocast18get_autocast_dtypeEN3c1010DeviceTypeE"]
    fn at_get_autocast_dtype(device: i8) -> i8;
    #[link_name = "_ZN2at8autocast18set_autocast_dtypeEN3c1010DeviceTypeENS1_10ScalarTypeE"]
    fn at_set_autocast_dtype(device: i8, dtype: i8);
    #[link_name = "_ZN2at8autocast17increment_nestingEv"]
    fn at_increment_nesting() -> i32;
    #[link_name = "_ZN2at8autocast17decrement_nestingEv"]
    fn at_decrement_nesting() -> i32;
    #[link_name = "_ZN2at8autocast11clear_cacheEv"]
    fn at_clear_cache();
}

impl Precision {
    /// The name used on the command line and in configs (`fp32`, `bf16`).
    pub fn name(self) -> &'static str {
        match self {
            Precision::Fp32 => "fp32",
            Precision::Bf16 => "bf16",
        }
    }

    /// Parses [`Precision::name`]'s spelling.
    pub fn parse(s: &str) -> crate::Result<Precision> {
        match s {
            "fp32" => Ok(Precision::Fp32),
            "bf16" => Ok(Precision::Bf16),
            other => Err(crate::Error::param(
                "precision",
                format!("`{other}` is not a precision; use fp32 or bf16"),
            )),
        }
    }

    /// Whether this is [`Precision::Fp32`] (configs leave the default out, so that runs
    /// written before precision was a setting keep their identity).
    pub fn is_fp32(&self) -> bool {
        *self == Precision::Fp32
    }

    /// Runs `f` in this precision on `device`: for [`Precision::Bf16`] with autocast on for
    /// the device (bf16), restored afterwards (nesting allowed); for [`Precision::Fp32`] as
    /// it is. Autocast covers the forward pass; call `backward` outside, as with PyTorch.
    pub fn run<T>(self, device: Device, f: impl FnOnce() -> T) -> T {
        if self == Precision::Fp32 {
            return f();
        }
        let dev = match device {
            Device::Cuda(_) => DEVICE_CUDA,
            _ => DEVICE_CPU,
        };
        // SAFETY: thread-local setters and getters of libtorch's autocast state with
        // `int8_t` enums and `bool` (the C ABI of these C++ functions); none of them throws.
        let (was_on, was_dtype) = unsafe {
            let state = (at_is_autocast_enabled(dev), at_get_autocast_dtype(dev));
            at_set_autocast_enabled(dev, true);
            at_set_autocast_dtype(dev, SCALAR_BFLOAT16);
            at_increment_nesting();
            state
        };
        let out = f();
        // SAFETY: as above.
        unsafe {
            if at_decrement_nesting() == 0 {
                at_clear_cache();
            }
            at_set_autocast_enabled(dev, was_on);
            at_set_autocast_dtype(dev, was_dtype);
        }
        out
    }
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Kind, Tensor};

    #[test]
    fn bf16_runs_convolutions_in_bf16_and_restores_fp32() {
        let x = Tensor::ones([1, 1, 8, 8], (Kind::Float, Device::Cpu));
        let w = Tensor::ones([2, 1, 3, 3], (Kind::Float, Device::Cpu));
        let conv = || x.conv2d(&w, None::<Tensor>, [1, 1], [1, 1], [1, 1], 1);
        assert_eq!(Precision::Fp32.run(Device::Cpu, conv).kind(), Kind::Float);
        let inner = Precision::Bf16.run(Device::Cpu, || {
            // Nested: still bf16 after the inner call ends.
            let nested = Precision::Bf16.run(Device::Cpu, conv).kind();
            (nested, conv().kind())
        });
        assert_eq!(inner, (Kind::BFloat16, Kind::BFloat16));
        assert_eq!(conv().kind(), Kind::Float, "autocast stays on after run");
        // Elementwise work and the weights are untouched.
        let sum = Precision::Bf16.run(Device::Cpu, || (&x + 1.0).kind());
        assert_eq!(sum, Kind::Float);
    }

    #[test]
    fn names_round_trip_and_bad_names_are_errors() {
        for p in [Precision::Fp32, Precision::Bf16] {
            assert_eq!(Precision::parse(p.name()).ok(), Some(p));
            assert_eq!(
                serde_json::to_string(&p).ok(),
                Some(format!("\"{}\"", p.name()))
            );
        }
        let e = Precision::parse("fp16").err().map(|e| e.to_string());
        assert!(e.is_some_and(|m| m.contains("fp32 or bf16")));
    }
}
