//! Model builders: output shapes and configuration checks.

mod common;

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
fn channels_last_keeps_values_and_checkpoints() {
    let dir = common::TempDir::new("models-channels-last");
    charlab::tch::manual_seed(5);
    let vs = nn::VarStore::new(Device::Cpu);
    let net = cnn(&vs.root(), &CnnParams::default()).unwrap();
    let x = Tensor::randn([6, 1, 56, 56], (Kind::Float, Device::Cpu));
    let before = net.forward_t(&x, false);
    let plain = dir.path().join("plain.safetensors");
    vs.save(&plain).unwrap();
    charlab::models::to_channels_last(&vs);
    let vars = vs.variables();
    // The one-channel first convolution too: [32, 1, 3, 3] stored as [32, 3, 3, 1].
    assert_eq!(vars["conv0.weight"].stride(), vec![9, 1, 3, 1]);
    assert_eq!(vars["conv1.weight"].stride(), vec![288, 1, 96, 32]);
    assert!(!vars["conv1.weight"].is_contiguous());
    let after = net.forward_t(&x, false);
    // Other kernels, same function: equal up to float rounding.
    let diff = (&after - &before).abs().max().double_value(&[]);
    assert!(diff < 1e-4, "logits moved by {diff}");
    // Loading an NCHW checkpoint into channels-last variables keeps their layout.
    let mut vs2 = nn::VarStore::new(Device::Cpu);
    let net2 = cnn(&vs2.root(), &CnnParams::default()).unwrap();
    charlab::models::to_channels_last(&vs2);
    vs2.load(&plain).unwrap();
    assert_eq!(
        vs2.variables()["conv1.weight"].stride(),
        vec![288, 1, 96, 32]
    );
    assert!(net2.forward_t(&x, false).equal(&after));
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

mod efficientnet {
    use super::*;
    use crate::common;
    use charlab::models::efficientnet::{efficientnet, load_pretrained, EfficientNetParams};

    #[test]
    fn b0_maps_images_to_logits_with_torchvision_names() {
        let vs = nn::VarStore::new(Device::Cpu);
        let net = efficientnet(&vs.root(), &EfficientNetParams::b0()).unwrap();
        let x = Tensor::randn([3, 1, 56, 56], (Kind::Float, Device::Cpu));
        assert_eq!(net.forward_t(&x, false).size(), vec![3, 36]);
        assert_eq!(net.forward_t(&x, true).size(), vec![3, 36]);
        // torchvision's b0 has 5,288,548 parameters: minus its 1000-class classifier
        // (1,281,000) and 2 of its 3 stem input channels (576), plus a 36-class classifier.
        assert_eq!(
            parameter_count(&vs),
            5_288_548 - 1_281_000 - 576 + 1280 * 36 + 36
        );
        let vars = vs.variables();
        for name in [
            "features.0.0.weight",
            "features.0.1.running_var",
            "features.1.0.block.0.0.weight",
            "features.1.0.block.1.fc1.weight",
            "features.2.0.block.0.0.weight",
            "features.2.0.block.3.1.bias",
            "features.6.3.block.2.fc2.bias",
            "features.8.0.weight",
            "classifier.1.weight",
        ] {
            assert!(vars.contains_key(name), "{name} missing");
        }
        assert_eq!(vars["features.0.0.weight"].size(), vec![32, 1, 3, 3]);
        let stages = EfficientNetParams::b0().stages().unwrap();
        assert_eq!(stages[7].output, vec![320, 2, 2]);
        assert_eq!(stages.last().unwrap().output, vec![36]);
        // Scaled variants build too.
        let vs1 = nn::VarStore::new(Device::Cpu);
        let b1 = efficientnet(&vs1.root(), &EfficientNetParams::b1()).unwrap();
        assert_eq!(b1.forward_t(&x, false).size(), vec![3, 36]);
        assert!(parameter_count(&vs1) > parameter_count(&vs));
    }

    #[test]
    fn pretrained_weights_load_except_the_classifier() {
        let dir = common::TempDir::new("pretrained");
        let src = nn::VarStore::new(Device::Cpu);
        let src_params = EfficientNetParams {
            in_channels: 3,
            n_classes: 10,
            ..EfficientNetParams::b0()
        };
        efficientnet(&src.root(), &src_params).unwrap();
        // Make the stem recognisable, and add a tensor the model does not have.
        let mut named: Vec<(String, Tensor)> = src
            .variables()
            .into_iter()
            .map(|(n, t)| (n, t.detach()))
            .collect();
        for (n, t) in named.iter_mut() {
            if n == "features.0.0.weight" {
                *t = Tensor::ones([32, 3, 3, 3], (Kind::Float, Device::Cpu));
            }
        }
        named.push((
            "features.0.1.num_batches_tracked".into(),
            Tensor::from_slice(&[7i64]),
        ));
        let file = dir.path().join("b0.safetensors");
        Tensor::write_safetensors(&named, &file).unwrap();

        let mut vs = nn::VarStore::new(Device::Cpu);
        let net = efficientnet(&vs.root(), &EfficientNetParams::b0()).unwrap();
        let before = vs.variables()["classifier.1.weight"].detach().copy();
        let report = load_pretrained(&mut vs, &file).unwrap();
        let vars = vs.variables();
        // The 3-channel stem is summed over its channels.
        let stem = &vars["features.0.0.weight"];
        assert!(stem.allclose(
            &Tensor::full([32, 1, 3, 3], 3.0, (Kind::Float, Device::Cpu)),
            0.0,
            0.0,
            false
        ));
        let orig = &src.variables()["features.3.1.block.1.0.weight"];
        assert!(vars["features.3.1.block.1.0.weight"].allclose(orig, 0.0, 0.0, false));
        assert!(vars["classifier.1.weight"].allclose(&before, 0.0, 0.0, false));
        let skipped: Vec<&str> = report.skipped.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(skipped, vec!["classifier.1.bias", "classifier.1.weight"]);
        assert_eq!(report.unused, vec!["features.0.1.num_batches_tracked"]);
        assert_eq!(report.loaded.len(), vars.len() - 2);
        let x = Tensor::randn([2, 1, 56, 56], (Kind::Float, Device::Cpu));
        assert_eq!(net.forward_t(&x, false).size(), vec![2, 36]);
        // Not a safetensors file: a clear error naming it.
        let bad = dir.path().join("bad.safetensors");
        std::fs::write(&bad, b"not weights").unwrap();
        let err = load_pretrained(&mut vs, &bad).unwrap_err().to_string();
        assert!(err.contains("bad.safetensors"), "{err}");
    }

    #[test]
    fn bad_efficientnet_configs_are_clear_errors() {
        let vs = nn::VarStore::new(Device::Cpu);
        let check = |p: EfficientNetParams, what: &str| {
            let err = efficientnet(&vs.root(), &p).err().unwrap().to_string();
            assert!(err.contains(what), "{err}");
        };
        check(
            EfficientNetParams {
                dropout: 1.0,
                ..Default::default()
            },
            "dropout",
        );
        check(
            EfficientNetParams {
                width_mult: 0.0,
                ..Default::default()
            },
            "multipliers",
        );
        check(
            EfficientNetParams {
                input_side: 16,
                ..Default::default()
            },
            "too small",
        );
        assert!(EfficientNetParams::variant("b9").is_err());
    }
}

mod resnet_tests {
    use charlab::models::resnet::{resnet, ResNetParams};
    use charlab::tch::{nn, nn::ModuleT, Device, Kind, Tensor};

    #[test]
    fn resnet18_has_torchvisions_size_less_its_stem_and_classifier() {
        let vs = nn::VarStore::new(Device::Cpu);
        let net = resnet(&vs.root(), &ResNetParams::resnet18()).unwrap();
        let params: i64 = vs
            .trainable_variables()
            .iter()
            .map(|t| t.numel() as i64)
            .sum();
        // torchvision's resnet18: 11,689,512 parameters with a 7x7x3 stem (9,408) and a
        // 1000-class classifier (513,000); here a 3x3x1 stem (576) and 36 classes (18,468).
        assert_eq!(params, 11_689_512 - 9_408 + 576 - 513_000 + 18_468);
        let vars = vs.variables();
        for name in [
            "conv1.weight",
            "layer1.1.conv2.weight",
            "layer2.0.downsample.0.weight",
            "layer4.1.bn2.running_var",
            "classifier.weight",
        ] {
            assert!(vars.contains_key(name), "{name}");
        }
        assert!(!vars.contains_key("layer1.0.downsample.0.weight"));
        let x = Tensor::rand([2, 1, 56, 56], (Kind::Float, Device::Cpu));
        assert_eq!(net.forward_t(&x, false).size(), vec![2, 36]);
        assert_eq!(net.forward_t(&x, true).size(), vec![2, 36]);
    }

    #[test]
    fn bad_resnet_configs_are_clear_errors() {
        let vs = nn::VarStore::new(Device::Cpu);
        for (p, what) in [
            (
                ResNetParams {
                    layers: [2, 0, 2, 2],
                    ..ResNetParams::resnet18()
                },
                "layers",
            ),
            (
                ResNetParams {
                    width: 2,
                    ..ResNetParams::resnet18()
                },
                "width",
            ),
            (
                ResNetParams {
                    input_side: 4,
                    ..ResNetParams::resnet18()
                },
                "input_side",
            ),
        ] {
            let err = resnet(&vs.root(), &p).unwrap_err().to_string();
            assert!(err.contains(what), "{err}");
        }
    }
}
