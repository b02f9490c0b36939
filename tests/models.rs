//! Model builders: output shapes and configuration checks.

use charlab::models::cnn::{cnn, CnnParams, ConvBlock};
use charlab::models::parameter_count;
use charlab::tch::{nn, nn::ModuleT, Device, Kind, Tensor};

#[test]
fn cnn_maps_images_to_logits() {
    let vs = nn::VarStore::new(Device::Cpu);
    let net = cnn(&vs.root(), &CnnParams::default()).unwrap();
    let x = Tensor::randn([5, 1, 56, 56], (Kind::Float, Device::Cpu));
    assert_eq!(net.forward_t(&x, false).size(), vec![5, 36]);
    assert_eq!(net.forward_t(&x, true).size(), vec![5, 36]);
    // conv 1->32 (3x3), 32->64, 64->128, fc 128*7*7 -> 256, classifier 256 -> 36.
    let expect = (9 * 32 + 32)
        + (9 * 32 * 64 + 64)
        + (9 * 64 * 128 + 128)
        + (6272 * 256 + 256)
        + (256 * 36 + 36);
    assert_eq!(parameter_count(&vs), expect);
    let layers = CnnParams::default().layers().unwrap();
    assert_eq!(layers.iter().map(|l| l.parameters).sum::<i64>(), expect);
    assert_eq!(layers.last().unwrap().output, vec![36]);
    assert_eq!(layers[5].output, vec![128, 7, 7]);
}

#[test]
fn eval_mode_is_deterministic() {
    let vs = nn::VarStore::new(Device::Cpu);
    let net = cnn(&vs.root(), &CnnParams::default()).unwrap();
    let x = Tensor::randn([2, 1, 56, 56], (Kind::Float, Device::Cpu));
    let a = net.forward_t(&x, false);
    let b = net.forward_t(&x, false);
    assert!(a.allclose(&b, 0.0, 0.0, false));
}

#[test]
fn bad_configs_are_clear_errors() {
    let vs = nn::VarStore::new(Device::Cpu);
    let mut p = CnnParams::default();
    p.blocks[1].filters = 0;
    let err = cnn(&vs.root(), &p).err().unwrap().to_string();
    assert!(err.contains("0 filters"), "{err}");

    let p = CnnParams {
        conv_dropout: 1.0,
        ..Default::default()
    };
    assert!(cnn(&vs.root(), &p)
        .err()
        .unwrap()
        .to_string()
        .contains("conv_dropout"));

    let big_kernel = ConvBlock {
        filters: 8,
        kernel: 57,
    };
    let p = CnnParams {
        blocks: vec![big_kernel],
        ..Default::default()
    };
    assert!(cnn(&vs.root(), &p)
        .err()
        .unwrap()
        .to_string()
        .contains("kernel 57"));

    let tiny = ConvBlock {
        filters: 8,
        kernel: 1,
    };
    let p = CnnParams {
        blocks: vec![tiny; 6],
        ..Default::default()
    };
    assert!(cnn(&vs.root(), &p)
        .err()
        .unwrap()
        .to_string()
        .contains("to nothing"));

    let mut p = CnnParams::default();
    p.blocks[0].kernel = 4;
    assert!(cnn(&vs.root(), &p).is_err());
}
